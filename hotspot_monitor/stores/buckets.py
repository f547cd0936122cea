"""Bucket arithmetic: local-day grids (DST) and field types of results."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo

from ..sample import FieldValue, from_us, to_us


def typed(v: Any, ftype: Optional[str]) -> FieldValue:
    if ftype == "float":
        return float(v)
    if ftype == "integer":
        return int(v)
    if ftype == "boolean":
        return bool(v)
    return v


def local_day_grids(lo: int, hi: int, days: int, zone: ZoneInfo
                    ) -> list[tuple[int, int, int, int]]:
    """Buckets of ``days`` local days over [lo, hi), as (lo, hi, every, origin) grids.

    Buckets start at local midnight on days whose ordinal since 1970-01-01 is a
    multiple of ``days`` (InfluxDB's tz() alignment); each bucket is its own grid
    so that DST days of 23 or 25 hours are right.
    """
    first = from_us(lo).astimezone(zone).date()
    epoch = date(1970, 1, 1)
    d = first - timedelta(days=(first - epoch).days % days)
    out = []
    while True:
        b0 = midnight_us(d, zone)
        d = d + timedelta(days=days)
        b1 = midnight_us(d, zone)
        a, b = max(lo, b0), min(hi, b1)
        if a < b:
            out.append((a, b, b1 - b0, b0))
        if b1 >= hi:
            return out


def midnight_us(d: date, zone: ZoneInfo) -> int:
    local = datetime(d.year, d.month, d.day, tzinfo=zone)
    return to_us(local.astimezone(timezone.utc))
