"""Leader election and shard exclusivity with PostgreSQL advisory locks.

No home-made consensus: PostgreSQL already is the one place every shard
shares. Each process holds one dedicated connection for its whole life and
takes, with ``pg_try_advisory_lock`` (session level, so the lock lives exactly
as long as that connection):

* its shard's lock at start-up: a second process started for the same
  ``i/n`` fails to start instead of double-counting;
* the leader lock, retried every housekeeping pass until it gets it.

When a process dies its connection closes and PostgreSQL releases both locks
(at once when the kernel closes the socket - a crash, ``kill -9``; after the
TCP keepalive settings below when the machine or the network is gone). The
lock connection asks the server for short keepalives, so a vanished leader
is noticed in about 25 s, not the operating system's default two hours.

A leader checks its connection on every pass; if it is gone, so is the lock,
and it steps down at once (another shard may already lead: at most one pass of
overlap, and every once-only job is safe to run twice - the alert manager's
and the report sender's claims are conditional updates).

On SQLite (one machine, one process) there is nothing to elect: the process
is the leader, and sharding is refused at start-up.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any, Optional

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from .ownership import ShardId

log = logging.getLogger("hotspot_monitor.cluster")

# Short server-side keepalives for the lock connection: PostgreSQL drops the
# session (and the leader lock) ~25 s after the leader's machine vanished.
PG_LOCK_OPTIONS = ("-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 "
                   "-c tcp_keepalives_count=3 -c statement_timeout=5000")


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha1(f"hotspot-monitor:{name}".encode()).digest()[:8], "big",
                          signed=True)


LEADER_KEY = lock_key("leader")


class ShardBusy(RuntimeError):
    """Another live process holds this shard."""


class LeaderLock:
    """This process's claim on its shard and, when it gets it, the leadership."""

    def __init__(self, engine: Engine, shard: ShardId):
        self.shard = shard
        self.postgres = engine.dialect.name == "postgresql"
        self.leader = not self.postgres  # SQLite: the single process leads
        self.changes = 0  # how often leadership was gained or lost
        self._engine: Optional[Engine] = None
        self._conn: Any = None
        if self.postgres:
            self._engine = create_engine(
                engine.url, poolclass=NullPool,
                connect_args={"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10,
                              "keepalives_interval": 5, "keepalives_count": 3,
                              "options": PG_LOCK_OPTIONS})

    # -- the dedicated connection ------------------------------------------------
    def _connect(self) -> Any:
        if self._conn is None:
            assert self._engine is not None
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _try(self, key: int) -> bool:
        return bool(self._connect().execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None

    # -- API -------------------------------------------------------------------------
    def claim_shard(self) -> None:
        """Take this shard's lock, or raise :class:`ShardBusy` (PostgreSQL only)."""
        if not self.postgres:
            return
        if not self._try(lock_key(f"shard:{self.shard.key}")):
            self._drop()
            raise ShardBusy(f"shard {self.shard.key} is already running (another process holds its lock)")

    def refresh(self) -> bool:
        """Keep or try to take the leadership; returns whether this process leads now.

        Never raises: a state store that cannot be reached means not leading."""
        if not self.postgres:
            return True
        was = self.leader
        try:
            if self.leader:
                self._connect().execute(text("SELECT 1"))  # the lock lives as long as this
            else:
                if self._conn is None:  # reconnecting: our shard lock went with the old session
                    if not self._try(lock_key(f"shard:{self.shard.key}")):
                        log.error("shard %s: another process holds this shard's lock", self.shard.key)
                self.leader = self._try(LEADER_KEY)
        except SQLAlchemyError as e:
            log.warning("leader lock connection lost (%s): not leading", type(e).__name__)
            self.leader = False
            self._drop()
        if self.leader != was:
            self.changes += 1
            log.warning("shard %s %s the leader", self.shard.key, "is now" if self.leader else "is no longer")
        return self.leader

    def close(self) -> None:
        """Release both locks (closing the session releases them)."""
        self._drop()
        self.leader = not self.postgres
        if self._engine is not None:
            self._engine.dispose()
