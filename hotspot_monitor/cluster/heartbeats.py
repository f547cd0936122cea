"""Shard heartbeats: one row per shard in the state store, refreshed by the shard.

The leader reads them to tell a live shard from a dead one (a row older than
``collector.shard_timeout_s``, a row marked stopped, or no row at all). Times
are the writing process's clock: the machines of one deployment keep their
clocks in sync with NTP (the timeout is tens of seconds, skew milliseconds).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Boolean, Integer, String, Text, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..status.statestore import UtcDateTime


class ClusterBase(DeclarativeBase):
    pass


class ShardRow(ClusterBase):
    __tablename__ = "shards"

    shard: Mapped[str] = mapped_column(String(32), primary_key=True)  # "i/n"
    idx: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    stopped: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    aps: Mapped[int] = mapped_column(Integer, default=0)  # APs owned
    leader: Mapped[bool] = mapped_column(Boolean, default=False)
    # the shard's own health for monitor_unhealthy (JSON of alerts.rules.MonitorHealth.to_json)
    health: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    shard: str
    idx: int
    count: int
    host: str
    pid: int
    started: datetime
    last_seen: datetime
    stopped: Optional[datetime]
    aps: int
    leader: bool
    health: Optional[dict[str, Any]] = None

    def alive(self, now: datetime, timeout_s: float) -> bool:
        return self.stopped is None and (now - self.last_seen).total_seconds() <= timeout_s


class Heartbeats:
    """The ``shards`` table on the state store's engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        ClusterBase.metadata.create_all(engine)

    def beat(self, shard: str, idx: int, count: int, host: str, pid: int, started: datetime,
             now: datetime, aps: int, leader: bool, health: Optional[dict[str, Any]] = None) -> None:
        """Insert or refresh this shard's row (a restarted shard replaces its old one)."""
        t = ShardRow.__table__
        values = dict(idx=idx, count=count, host=host, pid=pid, started=started, last_seen=now,
                      stopped=None, aps=aps, leader=leader,
                      health=None if health is None else json.dumps(health))
        with self.engine.begin() as c:
            if c.execute(update(t).where(t.c.shard == shard).values(**values)).rowcount == 0:
                c.execute(insert(t).values(shard=shard, **values))

    def stop(self, shard: str, pid: int, now: datetime) -> None:
        """A clean shutdown: the row says so at once (no need to wait for the timeout)."""
        t = ShardRow.__table__
        with self.engine.begin() as c:
            c.execute(update(t).where((t.c.shard == shard) & (t.c.pid == pid))
                      .values(stopped=now, last_seen=now, leader=False))

    def all(self) -> list[Heartbeat]:
        t = ShardRow.__table__
        with self.engine.connect() as c:
            rows = c.execute(select(t).order_by(t.c.count, t.c.idx)).mappings().all()
        return [Heartbeat(**{**dict(r), "health": json.loads(r["health"]) if r["health"] else None})
                for r in rows]
