"""SQLite rollup tables and their maintenance, set-based (see ``rollups.py``).

Every tier is a table ``roll_<tier>(id, field, t, n, total, lo, hi)``: per
series (``id`` = series id) or per site group (``id`` = site_group id). A
maintenance run gets the 5-minute units to recompute in ``todo_5m`` and
recomputes, in one transaction with the frontier update:

* series 5m from raw points, site 5m from its members' series 5m;
* each coarser unit (1h from 5m, 1d from 1h) once it ends at or before the
  frontier - when the frontier passes it, or when late data lands in it.

Recomputing replaces rows (INSERT OR REPLACE), so doing it twice is harmless.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Iterable, Optional

from .rollups import FIVE_MIN, SERIES_TIERS, SITE_TIERS, TIERS, Tier, floor

TABLES = {t: f"roll_{t.name}" for t in TIERS}

SCHEMA = """
CREATE TABLE IF NOT EXISTS site_group (
    id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL,
    UNIQUE (measurement, tags));
CREATE TABLE IF NOT EXISTS site_member (
    series_id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS site_member_by_group ON site_member (group_id);
CREATE TABLE IF NOT EXISTS frontier (
    measurement TEXT PRIMARY KEY, until_us INTEGER NOT NULL) WITHOUT ROWID;
DROP TABLE IF EXISTS rollup;
DROP TABLE IF EXISTS dirty;
""" + "".join(f"""
CREATE TABLE IF NOT EXISTS {name} (
    id INTEGER NOT NULL, field TEXT NOT NULL, t INTEGER NOT NULL,
    n INTEGER NOT NULL, total, lo, hi,
    PRIMARY KEY (id, field, t)) WITHOUT ROWID;""" for name in TABLES.values())

_TODO = "".join(f"""
CREATE TEMP TABLE IF NOT EXISTS todo_{t.name} (
    id INTEGER NOT NULL, t INTEGER NOT NULL, PRIMARY KEY (id, t)) WITHOUT ROWID;"""
                for t in TIERS) + """
CREATE TEMP TABLE IF NOT EXISTS todo_field (field TEXT PRIMARY KEY) WITHOUT ROWID;"""


def _floor_sql(col: str, unit: int) -> str:
    """``floor(col, unit)`` in SQL, right for negative times too."""
    return f"({col} - (({col} % {unit}) + {unit}) % {unit})"


_RAW_TO_5M = f"""
INSERT OR REPLACE INTO roll_5m (id, field, t, n, total, lo, hi)
SELECT d.id, j.key, d.t, count(*), sum(j.value), min(j.value), max(j.value)
FROM todo_5m d
CROSS JOIN points p ON p.series_id = d.id AND p.time_us >= d.t AND p.time_us < d.t + {FIVE_MIN}
CROSS JOIN json_each(p.fields) j
WHERE j.type IN ('integer', 'real')
GROUP BY d.id, j.key, d.t
"""

_MEMBERS_TO_SITE_5M = """
INSERT OR REPLACE INTO roll_site_5m (id, field, t, n, total, lo, hi)
SELECT d.id, r.field, d.t, sum(r.n), sum(r.total), min(r.lo), max(r.hi)
FROM todo_site_5m d
CROSS JOIN site_member m ON m.group_id = d.id
CROSS JOIN todo_field f
CROSS JOIN roll_5m r ON r.id = m.series_id AND r.field = f.field AND r.t = d.t
GROUP BY d.id, r.field, d.t
"""


def _finer_to_coarser(lower: Tier, upper: Tier) -> str:
    return f"""
INSERT OR REPLACE INTO {TABLES[upper]} (id, field, t, n, total, lo, hi)
SELECT d.id, r.field, d.t, sum(r.n), sum(r.total), min(r.lo), max(r.hi)
FROM todo_{upper.name} d
CROSS JOIN todo_field f
CROSS JOIN {TABLES[lower]} r ON r.id = d.id AND r.field = f.field
     AND r.t >= d.t AND r.t < d.t + {upper.unit_us}
GROUP BY d.id, r.field, d.t
"""


def _cascade_todo(lower: Tier, upper: Tier) -> tuple[str, str]:
    """Units of ``upper`` to recompute: those holding a recomputed ``lower`` unit
    and ending at or before the new frontier, and those the frontier just passed."""
    u = upper.unit_us
    from_todo = (f"INSERT OR IGNORE INTO todo_{upper.name} (id, t) "
                 f"SELECT DISTINCT id, {_floor_sql('t', u)} FROM todo_{lower.name} "
                 f"WHERE {_floor_sql('t', u)} + {u} <= :until")
    completed = (f"INSERT OR IGNORE INTO todo_{upper.name} (id, t) "
                 f"SELECT DISTINCT r.id, {_floor_sql('r.t', u)} FROM json_each(:ids) i "
                 f"CROSS JOIN todo_field f "
                 f"CROSS JOIN {TABLES[lower]} r ON r.id = i.value AND r.field = f.field "
                 f"AND r.t >= :a AND r.t < :b")
    return from_todo, completed


def create(con: sqlite3.Connection) -> None:
    """The tables (once per file)."""
    con.executescript(SCHEMA)


def create_temp(con: sqlite3.Connection) -> None:
    """The work tables (once per connection, outside any transaction)."""
    con.executescript(_TODO)


def get_frontier(con: sqlite3.Connection, measurement: str) -> Optional[int]:
    row = con.execute("SELECT until_us FROM frontier WHERE measurement = ?",
                      (measurement,)).fetchone()
    return None if row is None else row[0]


def all_frontiers(con: sqlite3.Connection) -> dict[str, int]:
    return dict(con.execute("SELECT measurement, until_us FROM frontier").fetchall())


def set_frontier(con: sqlite3.Connection, measurement: str, until: int) -> None:
    con.execute("INSERT OR REPLACE INTO frontier (measurement, until_us) VALUES (?, ?)",
                (measurement, until))


def recompute(con: sqlite3.Connection, *, fields: list[str], series: list[int],
              groups: list[int], until: int, since: Optional[int] = None,
              late: Iterable[tuple[int, int]] = ()) -> None:
    """Recompute the rollups of one measurement inside the caller's transaction.

    ``until`` is the frontier once this run is done. ``late``: (series id,
    5-minute unit start) pairs below it that got new data. ``since``: the
    frontier before a move - every unit in [since, until) is recomputed from
    raw and the coarser units the move completes are rebuilt.
    """
    for t in TIERS:
        con.execute(f"DELETE FROM todo_{t.name}")
    con.execute("DELETE FROM todo_field")
    con.executemany("INSERT INTO todo_field (field) VALUES (?)", [(f,) for f in fields])
    con.executemany("INSERT OR IGNORE INTO todo_5m (id, t) VALUES (?, ?)", late)
    moving = since is not None and since < until
    if moving:
        con.execute(
            f"INSERT OR IGNORE INTO todo_5m (id, t) SELECT DISTINCT p.series_id, "
            f"{_floor_sql('p.time_us', FIVE_MIN)} FROM json_each(?) i CROSS JOIN points p "
            f"ON p.series_id = i.value AND p.time_us >= ? AND p.time_us < ?",
            (json.dumps(series), since, until))
    if not fields:
        return
    con.execute(_RAW_TO_5M)
    con.execute("INSERT OR IGNORE INTO todo_site_5m (id, t) SELECT DISTINCT m.group_id, d.t "
                "FROM todo_5m d CROSS JOIN site_member m ON m.series_id = d.id")
    con.execute(_MEMBERS_TO_SITE_5M)
    for chain, ids in ((SERIES_TIERS, series), (SITE_TIERS, groups)):
        for lower, upper in zip(chain, chain[1:]):
            from_todo, completed = _cascade_todo(lower, upper)
            con.execute(from_todo, {"until": until})
            if moving:
                a, b = floor(since, upper.unit_us), floor(until, upper.unit_us)
                if a < b:
                    con.execute(completed, {"ids": json.dumps(ids), "a": a, "b": b})
            con.execute(_finer_to_coarser(lower, upper))
