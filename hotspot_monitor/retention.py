"""Retention: how long raw points and rollups are kept (docs/retention.md).

SQLite prunes as a job (``run`` every ``store.retention.prune_interval_s``, or
``hotspot-monitor prune FILE``); InfluxDB expires data by its retention
policies (``hotspot-monitor setup-influx FILE``). Either way month totals stay
exact: rollups keep exact sums and counts (``interval_s`` included), and the
first raw point after every month edge (in the config's time zone) is kept for
the report's apportioning of intervals that cross the edge.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from .config.models import Config
from .stores.base import MetricStore, PruneResult

FIRST_EDGE_YEAR = 2000  # month edges kept from here on (older data is not expected)


def month_edges(tz: ZoneInfo, until: datetime, since_year: int = FIRST_EDGE_YEAR) -> list[datetime]:
    """Local month starts (as UTC) from ``since_year`` up to ``until``."""
    out = []
    y, m = since_year, 1
    while True:
        edge = datetime(y, m, 1, tzinfo=tz).astimezone(timezone.utc)
        if edge > until:
            return out
        out.append(edge)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def cutoffs(cfg: Config, now: datetime) -> tuple[Optional[datetime], Optional[datetime]]:
    """(raw before, rollups before) for ``now``; None = kept forever."""
    r = cfg.store.retention
    raw = now - timedelta(days=r.raw_days) if r.raw_days is not None else None
    rolled = now - timedelta(days=r.rollup_days) if r.rollup_days is not None else None
    return raw, rolled


def prune_once(store: MetricStore, cfg: Config, now: Optional[datetime] = None) -> Optional[PruneResult]:
    """One retention pass on ``store`` (None: the store expires data itself)."""
    now = now or datetime.now(timezone.utc)
    raw, rolled = cutoffs(cfg, now)
    if raw is None and rolled is None:
        return None
    edges = month_edges(cfg.tz, now)
    return store.prune(raw_before=raw, rollups_before=rolled, keep_after=edges)
