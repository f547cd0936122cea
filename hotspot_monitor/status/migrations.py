"""Versioned upgrades of the state store's schema: opened or migrated, never reset.

The table ``schema_version`` holds one row per component (``state`` here) with
the schema version its tables are at. Opening a store:

* a fresh database gets every table from the models and is stamped CURRENT;
* a database from before versioning (tables, no row) is version 1;
* an older version runs each later step in order, each in one transaction
  together with its version row (PostgreSQL and SQLite both run DDL in
  transactions), so a crash mid-upgrade resumes at the step that failed;
* a newer version (a downgrade) is refused with a clear error: the data is
  left as it is, never dropped to make it fit.

Every step must be idempotent and must keep data: backfill values, reshape.
New nullable columns and new indexes are added on every open without a step.
Add a step here for anything else, never edit a released one.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

log = logging.getLogger(__name__)

COMPONENT = "state"

version_metadata = MetaData()
schema_version = Table(
    "schema_version", version_metadata,
    Column("component", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated", DateTime(timezone=False), nullable=True),
)


class SchemaTooNew(Exception):
    """The database was written by a newer hotspot-monitor: refuse, never reset."""


@dataclass(frozen=True)
class Step:
    version: int  # the version this step brings the schema to
    what: str
    apply: Callable[[Connection, MetaData], None]


def _add_missing_columns(c: Connection, metadata: MetaData) -> None:
    """Columns a newer model has that the table lacks (all nullable by rule)."""
    insp = inspect(c)
    prep = c.dialect.identifier_preparer
    for table in metadata.sorted_tables:
        if not insp.has_table(table.name):
            continue
        have = {col["name"] for col in insp.get_columns(table.name)}
        for col in table.columns:
            if col.name in have:
                continue
            if not col.nullable:
                raise RuntimeError(f"{table.name}.{col.name} must be nullable to be added")
            c.exec_driver_sql(f"ALTER TABLE {prep.quote(table.name)} ADD COLUMN "
                              f"{prep.quote(col.name)} {col.type.compile(dialect=c.dialect)}")


def _add_missing_indexes(c: Connection, metadata: MetaData) -> None:
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(c, checkfirst=True)


def _v2(c: Connection, metadata: MetaData) -> None:
    """Coverage, blind reasons and truncated imports (added before versioning):
    the columns and indexes, and ``truncated`` false for the outages before it."""
    _add_missing_columns(c, metadata)
    _add_missing_indexes(c, metadata)
    outages = metadata.tables["outages"]
    c.execute(update(outages).where(outages.c.truncated.is_(None)).values(truncated=False))


STEPS: tuple[Step, ...] = (
    Step(2, "coverage columns, indexes, outages.truncated backfilled", _v2),
)
CURRENT = STEPS[-1].version


def current_version(c: Connection) -> int | None:
    return c.execute(select(schema_version.c.version)
                     .where(schema_version.c.component == COMPONENT)).scalar_one_or_none()


def _stamp(c: Connection, version: int, insert: bool) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    if insert:
        c.execute(schema_version.insert().values(component=COMPONENT, version=version, updated=now))
    else:
        c.execute(update(schema_version).where(schema_version.c.component == COMPONENT)
                  .values(version=version, updated=now))


def upgrade(engine: Engine, metadata: MetaData, existed: bool) -> tuple[int, int]:
    """Bring the schema to CURRENT; (version found, version now). ``existed``: the
    state tables were there before this open created any."""
    version_metadata.create_all(engine)
    with engine.begin() as c:
        found = current_version(c)
    if found is None:
        if not existed:  # a fresh database: the models made every table as it is now
            try:
                with engine.begin() as c:
                    _stamp(c, CURRENT, insert=True)
            except IntegrityError:  # another process stamped it at the same moment
                pass
            return CURRENT, CURRENT
        found = 1  # tables from before versioning
    if found > CURRENT:
        raise SchemaTooNew(
            f"the state database is at schema version {found}, newer than this "
            f"hotspot-monitor knows ({CURRENT}): run the newer version, or restore a backup "
            "taken before the upgrade; it is never reset (docs/hardening.md)")
    at = found
    for step in STEPS:
        if step.version <= at:
            continue
        try:
            with engine.begin() as c:
                now = current_version(c)
                if now is not None and now >= step.version:  # another process did it
                    at = now
                    continue
                step.apply(c, metadata)
                _stamp(c, step.version, insert=now is None)
        except SQLAlchemyError:
            # `run` and `web` started together: the other one may have applied this step
            # meanwhile (its ALTER or version row won); anything else is a real failure
            with engine.begin() as c:
                now = current_version(c)
            if now is None or now < step.version:
                raise
            at = now
            continue
        log.info("state schema upgraded to version %d: %s", step.version, step.what)
        at = step.version
    # additive changes (a nullable column, an index) need no step of their own: they are
    # made on every open, as before versioning, so code that adds one keeps working
    for attempt in (1, 2):  # a second look when another process added the same at once
        try:
            with engine.begin() as c:
                _add_missing_columns(c, metadata)
                _add_missing_indexes(c, metadata)
            break
        except SQLAlchemyError:
            if attempt == 2:
                raise
    return found, at
