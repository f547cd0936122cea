"""Create the state store's tables once, even when every shard starts at once.

``create_all`` checks, then creates: two processes doing it at the same moment
on PostgreSQL both see a table missing and one fails with a duplicate-key
error on PostgreSQL's catalogue. A session advisory lock around every table
the service creates makes the processes take turns; the second one finds the
tables there. On SQLite (one process) there is nothing to serialize.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from .leader import lock_key

SCHEMA_KEY = lock_key("schema")


@contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold the schema lock (PostgreSQL) while the body creates tables."""
    if make_url(url).get_backend_name() != "postgresql":
        yield
        return
    eng = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("SELECT pg_advisory_lock(:k)"), {"k": SCHEMA_KEY})
            try:
                yield
            finally:
                c.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SCHEMA_KEY})
    finally:
        eng.dispose()


def create_service_tables(engine: Engine) -> None:
    """Every table a ``run`` process uses besides the status engine's (StateStore
    creates those): alerting, report deliveries, shard heartbeats."""
    from ..alerts.tables import create_tables
    from ..reports.deliveries import ReportBase
    from .heartbeats import ClusterBase

    create_tables(engine)
    ReportBase.metadata.create_all(engine)
    ClusterBase.metadata.create_all(engine)
