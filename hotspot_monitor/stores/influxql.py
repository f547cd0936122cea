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


def select_points(src: str, tags: Optional[Mapping[str, str]], start: datetime,
                  end: Optional[datetime], first: Optional[int]) -> str:
    """Raw points of every series in [start, end), oldest first; ``first``: N per series."""
    text = f"SELECT * FROM {src}{where(tags, start, end)} GROUP BY *"
    if first is not None:
        if first < 1:
            raise ValueError(f"first must be at least 1: {first}")
        text += f" LIMIT {int(first)}"
    return text


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


# ------------------------------------------------------------------ rollups
# Rollup measurements (see influx_rollups.py): stats of field f are the fields
# "f:n", "f:sum", "f:min", "f:max".

_RAW_STAT = {"n": "count", "sum": "sum", "min": "min", "max": "max"}
_TIER_STAT = {"n": "sum", "sum": "sum", "min": "min", "max": "max"}


def stat_field(field: str, stat: str) -> str:
    return f"{field}:{stat}"


def time_range_us(lo: int, hi: int) -> str:
    """``time >= lo AND time < hi`` for microsecond bounds."""
    return f"time >= {lo * 1000} AND time < {hi * 1000}"


def any_of(tag_sets: Sequence[Mapping[str, str]]) -> str:
    """``(a = 'x' AND b = 'y') OR (...)``: series (or groups) picked by their tags."""
    if not tag_sets or not all(tag_sets):
        raise ValueError("any_of needs non-empty tag sets")
    return " OR ".join("(" + " AND ".join(f"{ident(k)} = {string(v)}" for k, v in sorted(t.items()))
                       + ")" for t in tag_sets)


def select_stats(src: str, field: str, stats: Sequence[str], rolled: bool, lo: int, hi: int,
                 tags: Optional[Mapping[str, str]], group_by: Sequence[str],
                 every: Optional[timedelta] = None, tz: Optional[str] = None) -> str:
    """The stats of one field over [lo, hi) µs, from raw points or a rollup tier,
    per bucket of ``every`` (or over the whole range) and group; columns in
    ``stats`` order."""
    if rolled:
        exprs = [f"{_TIER_STAT[s]}({ident(stat_field(field, s))})" for s in stats]
    else:
        exprs = [f"{_RAW_STAT[s]}({ident(field)})" for s in stats]
    conds = [f"{ident(k)} = {string(v)}" for k, v in sorted((tags or {}).items())]
    text = (f"SELECT {', '.join(exprs)} FROM {src} WHERE "
            + " AND ".join(conds + [time_range_us(lo, hi)]))
    if every is not None:
        return text + group_by_time(every, group_by, tz)
    if group_by:
        text += " GROUP BY " + ", ".join(ident(t) for t in group_by)
    return text


def select_rollup(src: str, fields: Sequence[str], from_raw: bool, lo: int, hi: int,
                  unit: timedelta, group_tags: Optional[Sequence[str]],
                  only: Optional[Sequence[Mapping[str, str]]] = None) -> str:
    """Count/sum/min/max of every field per ``unit`` and group, aliased as the
    rollup fields: from raw points, or merged from a finer tier. ``group_tags``
    None groups by every tag (per series); ``only`` restricts to some series."""
    exprs = []
    for f in fields:
        for s in ("n", "sum", "min", "max"):
            arg = ident(f) if from_raw else ident(stat_field(f, s))
            fn = _RAW_STAT[s] if from_raw else _TIER_STAT[s]
            exprs.append(f"{fn}({arg}) AS {ident(stat_field(f, s))}")
    where = time_range_us(lo, hi)
    if only:
        where = f"({any_of(only)}) AND {where}"
    group = "*" if group_tags is None else ", ".join(ident(t) for t in group_tags)
    return (f"SELECT {', '.join(exprs)} FROM {src} WHERE {where} "
            f"GROUP BY time({duration(unit)}){', ' + group if group else ''} fill(none)")


def select_last_table(src: str, lo_us: int, hi_us: int, tags: Optional[Mapping[str, str]],
                      tag_prefix: str, since: Optional[datetime]) -> str:
    """Rows of a ``:last`` table (one series, tags stored as fields ``tag_prefix + key``)."""
    conds = [f"{ident(tag_prefix + k)} = {string(v)}" for k, v in sorted((tags or {}).items())]
    if since is not None:
        conds.append(f"{ident('_time')} >= {to_us(since)}")
    return f"SELECT * FROM {src} WHERE " + " AND ".join(conds + [time_range_us(lo_us, hi_us)])


def select_newest_per_series(src: str, only: Optional[Sequence[Mapping[str, str]]] = None) -> str:
    where = f" WHERE {any_of(only)}" if only else ""
    return f"SELECT * FROM {src}{where} GROUP BY * ORDER BY time DESC LIMIT 1"


def select_oldest(src: str) -> str:
    """The oldest point of any series (raw rows come merged in time order)."""
    return f"SELECT * FROM {src} LIMIT 1"


def select_frontier(src: str, measurement: str) -> str:
    return f"SELECT last({ident('until_us')}) FROM {src} WHERE {ident('measurement')} = {string(measurement)}"


def show_tag_keys(database: str, retention_policy: Optional[str], measurement: str) -> str:
    return f"SHOW TAG KEYS FROM {source(measurement, database, retention_policy)}"


# ------------------------------------------------------------------ retention
def show_retention_policies(database: str) -> str:
    return f"SHOW RETENTION POLICIES ON {ident(database)}"


def hours(h: Optional[int]) -> str:
    """A retention duration in whole hours; None = keep forever (INF)."""
    if h is None:
        return "INF"
    if h < 1:
        raise ValueError(f"retention must be at least 1 hour: {h}")
    return f"{int(h)}h"


def create_retention_policy(name: str, database: str, duration_h: Optional[int],
                            shard_h: Optional[int]) -> str:
    text = (f"CREATE RETENTION POLICY {ident(name)} ON {ident(database)} "
            f"DURATION {hours(duration_h)} REPLICATION 1")
    return text + (f" SHARD DURATION {hours(shard_h)}" if shard_h else "")


def alter_retention_policy(name: str, database: str, duration_h: Optional[int],
                           shard_h: Optional[int]) -> str:
    text = f"ALTER RETENTION POLICY {ident(name)} ON {ident(database)} DURATION {hours(duration_h)}"
    return text + (f" SHARD DURATION {hours(shard_h)}" if shard_h else "")
