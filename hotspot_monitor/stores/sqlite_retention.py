"""Retention in the SQLite store: prune raw rows the rollups already hold.

Raw rows are deleted only below a measurement's rollup frontier (so every
5-minute unit they belonged to is rolled up) and in whole 5-minute units.
The table ``retention(measurement, raw_until_us)`` records how far raw rows
are gone; the store refuses later writes below it (as InfluxDB refuses points
older than a retention policy), because a 5-minute unit recomputed from the
few rows a late write brings would replace the exact rollup of the pruned ones.

``keep`` instants (month edges in the config's time zone) keep each series'
first raw point at or after them: the monthly report reads that point to
apportion the interval crossing the edge (docs/report.md).
"""
from __future__ import annotations

import json
import sqlite3
from typing import Iterable, Optional, Sequence

from .rollups import DAY, FIVE_MIN, floor
from .sqlite_rollups import TABLES

SCHEMA = """
CREATE TABLE IF NOT EXISTS retention (
    measurement TEXT PRIMARY KEY, raw_until_us INTEGER NOT NULL) WITHOUT ROWID;
"""

CHUNK_US = DAY  # raw rows deleted per transaction: writers wait at most this long's work


def create(con: sqlite3.Connection) -> None:
    con.executescript(SCHEMA)


def watermarks(con: sqlite3.Connection) -> dict[str, int]:
    """Per measurement: raw rows before this time are pruned."""
    return dict(con.execute("SELECT measurement, raw_until_us FROM retention").fetchall())


def oldest(con: sqlite3.Connection, sids: Sequence[int]) -> Optional[int]:
    return con.execute(
        "SELECT min((SELECT min(time_us) FROM points WHERE series_id = i.value)) "
        "FROM json_each(?) i", (json.dumps(list(sids)),)).fetchone()[0]


def raw_cutoff(raw_before_us: int, frontier: Optional[int]) -> Optional[int]:
    """Where pruning may go: whole 5-minute units, never past the rollup frontier."""
    if frontier is None:
        return None
    return min(floor(raw_before_us, FIVE_MIN), frontier)


def kept_points(con: sqlite3.Connection, sids: Sequence[int], edges: Iterable[int]) -> set[tuple[int, int]]:
    """(series id, time) of each series' first point at or after each edge."""
    out: set[tuple[int, int]] = set()
    ids = json.dumps(list(sids))
    for edge in edges:
        for sid, t in con.execute(
                "SELECT i.value, (SELECT min(time_us) FROM points WHERE series_id = i.value "
                "AND time_us >= ?) FROM json_each(?) i", (edge, ids)):
            if t is not None:
                out.add((sid, t))
    return out


def delete_raw(con: sqlite3.Connection, measurement: str, sids: Sequence[int], lo: int, hi: int,
               keep: set[tuple[int, int]]) -> int:
    """Delete raw rows in [lo, hi) of the series but the kept ones, and move the
    watermark to ``hi`` (inside the caller's transaction)."""
    n = 0
    for sid in sids:
        mine = sorted(t for s, t in keep if s == sid and lo <= t < hi)
        cur = con.execute(
            "DELETE FROM points WHERE series_id = ? AND time_us >= ? AND time_us < ? "
            "AND time_us NOT IN (SELECT value FROM json_each(?))", (sid, lo, hi, json.dumps(mine)))
        n += cur.rowcount
    con.execute("INSERT OR REPLACE INTO retention (measurement, raw_until_us) VALUES (?, ?)",
                (measurement, hi))
    return n


def delete_rollups(con: sqlite3.Connection, sids: Sequence[int], gids: Sequence[int],
                   before: int) -> int:
    """Rollup rows of the series and site groups older than ``before`` (a UTC day)."""
    n = 0
    before = floor(before, DAY)
    for tier, table in TABLES.items():
        ids = json.dumps(list(gids if tier.site else sids))
        cur = con.execute(f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(?)) "
                          "AND t < ?", (ids, before))
        n += cur.rowcount
    return n
