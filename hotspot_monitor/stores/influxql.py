"""InfluxQL text, built in ONE place with every parameter quoted here.

Callers never format identifiers, tag values, times or durations into query
text themselves: they call these functions (see STYLE.md, "what to avoid").
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping, Optional, Sequence
from zoneinfo import ZoneInfo

from ..sample import to_us

_US_PER_DAY = 86_400_000_000


def ident(name: str) -> str:
    """A double-quoted identifier (measurement, field, tag key, database, RP)."""
    if "\n" in name:
        raise ValueError(f"identifier with a newline: {name!r}")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def string(value: str) -> str:
    """A single-quoted string literal (tag values, passwords in CREATE USER)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def time_literal(t: datetime) -> str:
    """An absolute time as integer nanoseconds since the epoch (exact, no parsing)."""
    return str(to_us(t) * 1000)


def duration(d: timedelta) -> str:
    """A duration literal in microseconds, the stores' resolution."""
    us = d // timedelta(microseconds=1)
    if us <= 0:
        raise ValueError(f"duration must be positive: {d}")
    return f"{us}u"


def source(measurement: str, database: str, retention_policy: Optional[str]) -> str:
    """Fully qualified ``"db"."rp"."m"`` (``"db".."m"`` = default RP)."""
    rp = ident(retention_policy) if retention_policy else ""
    return f"{ident(database)}.{rp}.{ident(measurement)}"


def where(tags: Optional[Mapping[str, str]] = None, start: Optional[datetime] = None,
          end: Optional[datetime] = None) -> str:
    """`` WHERE ...`` for exact tag matches and a half-open time range ('' if none)."""
    conds = [f"{ident(k)} = {string(v)}" for k, v in sorted((tags or {}).items())]
    if start is not None:
        conds.append(f"time >= {time_literal(start)}")
    if end is not None:
        conds.append(f"time < {time_literal(end)}")
    return (" WHERE " + " AND ".join(conds)) if conds else ""


def tz_applies(every: timedelta, tz: Optional[str]) -> bool:
    """Local-time alignment only for whole-day buckets (the MetricStore contract)."""
    return bool(tz) and every % timedelta(days=1) == timedelta(0)


def group_by_time(every: timedelta, group_by: Sequence[str] = (), tz: Optional[str] = None) -> str:
    """`` GROUP BY time(every)[, tags] fill(none)[ tz('...')]``."""
    parts = [f"time({duration(every)})"] + [ident(t) for t in group_by]
    text = " GROUP BY " + ", ".join(parts) + " fill(none)"
    if tz_applies(every, tz):
        ZoneInfo(tz)  # unknown zones fail here with a clear error, not in InfluxDB
        text += f" tz({string(tz)})"
    return text


def select_latest(src: str, tags: Optional[Mapping[str, str]], since: Optional[datetime]) -> str:
    """Newest point of every series: tags come back in each series' ``tags``."""
    return f"SELECT * FROM {src}{where(tags, since)} GROUP BY * ORDER BY time DESC LIMIT 1"


def select_aggregate(src: str, field: str, agg: str, start: datetime, end: datetime,
                     every: timedelta, tags: Optional[Mapping[str, str]],
                     group_by: Sequence[str], tz: Optional[str]) -> str:
    return (f"SELECT {_func(agg)}({ident(field)}) FROM {src}{where(tags, start, end)}"
            + group_by_time(every, group_by, tz))


def select_totals(src: str, field: str, agg: str, start: datetime, end: datetime,
                  tags: Optional[Mapping[str, str]], group_by: Sequence[str]) -> str:
    text = f"SELECT {_func(agg)}({ident(field)}) FROM {src}{where(tags, start, end)}"
    if group_by:
        text += " GROUP BY " + ", ".join(ident(t) for t in group_by)
    return text


def show_field_keys(database: str, retention_policy: Optional[str], measurement: str) -> str:
    return f"SHOW FIELD KEYS FROM {source(measurement, database, retention_policy)}"


def create_database(database: str) -> str:
    return f"CREATE DATABASE {ident(database)}"


def _func(agg: str) -> str:
    if agg not in ("mean", "max", "min", "sum", "last", "count"):
        raise ValueError(f"unknown aggregate {agg!r}")
    return agg
