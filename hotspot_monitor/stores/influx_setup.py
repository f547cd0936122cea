"""Retention policies on InfluxDB 1.x: raw points expire, rollups stay (docs/retention.md).

``hotspot-monitor setup-influx FILE`` (and ``run`` with ``manage_retention``)
creates or alters two RPs named in the config: ``retention_policy`` for raw
points (``store.retention.raw_days``, one-day shards so data leaves within a
day of its time) and ``rollup_retention_policy`` for the rollups, ``:last``
tables and frontier (``rollup_days``). InfluxDB then drops whole expired
shards itself; the rollups keep exact sums, counts, minima and maxima.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..config.models import InfluxSettings, RetentionSettings
from . import influxql
from .base import StoreError


@dataclass(frozen=True)
class RpAction:
    name: str
    what: str  # "created" / "altered"
    duration: str  # InfluxQL duration, e.g. "840h" or "INF"

    def __str__(self) -> str:
        return f"retention policy {self.name!r} {self.what}: duration {self.duration}"


def _hours(days: Optional[float]) -> Optional[int]:
    return None if days is None else max(1, round(days * 24))


def plan(settings: InfluxSettings, retention: RetentionSettings) -> list[tuple[str, Optional[int], Optional[int]]]:
    """(RP name, duration hours, shard hours) for the raw and the rollup RP."""
    if not settings.retention_policy or not settings.rollup_retention_policy:
        raise StoreError("InfluxDB retention needs store.influxdb.retention_policy and "
                         "store.influxdb.rollup_retention_policy (two RP names)")
    raw_h = _hours(retention.raw_days)
    raw_shard = 24 if raw_h is None or raw_h >= 48 else 1
    return [(settings.retention_policy, raw_h, raw_shard),
            (settings.rollup_retention_policy, _hours(retention.rollup_days), None)]


def setup_retention(store: "InfluxStore", retention: RetentionSettings) -> list[RpAction]:  # noqa: F821
    """Create or alter both RPs (idempotent); needs an admin user on 1.x."""
    s = store.s
    existing = {row[0] for series in store._query(influxql.show_retention_policies(s.database))
                for row in series.get("values", [])}
    actions = []
    for name, dur, shard in plan(s, retention):
        if name in existing:
            store._query(influxql.alter_retention_policy(name, s.database, dur, shard))
            actions.append(RpAction(name, "altered", influxql.hours(dur)))
        else:
            store._query(influxql.create_retention_policy(name, s.database, dur, shard))
            actions.append(RpAction(name, "created", influxql.hours(dur)))
    return actions
