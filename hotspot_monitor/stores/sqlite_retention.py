"""Retention in the SQLite store: prune raw rows the rollups already hold.

Raw rows are deleted only below a measurement's rollup frontier (so every
5-minute unit they belonged to is rolled up) and in whole 5-minute units.
The table ``retention(measurement, raw_until_us, deleted_until_us)`` records
how far raw rows are given up (``raw_until_us``: the store refuses later writes
below it, as InfluxDB refuses points older than a retention policy, because a
5-minute unit recomputed from the few rows a late write brings would replace
the exact rollup of the pruned ones) and how far they are deleted. A window
is given up before its rows are deleted, in batches of series, so writers
wait for one batch at most and a pass cut short resumes where it stopped.

``keep`` instants (month edges in the config's time zone) keep each series'
first raw point at or after them: the monthly report reads that point to
apportion the interval crossing the edge (docs/report.md).
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from .rollups import DAY, FIVE_MIN, floor

SCHEMA = """
CREATE TABLE IF NOT EXISTS retention (
    measurement TEXT PRIMARY KEY, raw_until_us INTEGER NOT NULL,
    deleted_until_us INTEGER NOT NULL) WITHOUT ROWID;
"""

WINDOW_US = DAY  # raw rows are given up and deleted a day at a time
SERIES_BATCH = 500  # series per delete transaction (a day of 1-minute rows: 720,000 rows)


@dataclass(frozen=True)
class Mark:
    raw_until: int  # writes below are refused
    deleted_until: int  # rows below are deleted (but the kept ones)


def create(con: sqlite3.Connection) -> None:
    con.executescript(SCHEMA)


def watermarks(con: sqlite3.Connection) -> dict[str, int]:
    """Per measurement: raw rows before this time are given up (writes refused)."""
    return dict(con.execute("SELECT measurement, raw_until_us FROM retention").fetchall())


def marks(con: sqlite3.Connection) -> dict[str, Mark]:
    return {m: Mark(r, d) for m, r, d in con.execute(
        "SELECT measurement, raw_until_us, deleted_until_us FROM retention")}


def give_up(con: sqlite3.Connection, measurement: str, until: int, deleted: int) -> None:
    """Refuse writes below ``until`` from now on (inside the caller's transaction)."""
    con.execute("INSERT INTO retention (measurement, raw_until_us, deleted_until_us) "
                "VALUES (?, ?, ?) ON CONFLICT (measurement) DO UPDATE SET "
                "raw_until_us = max(raw_until_us, excluded.raw_until_us)",
                (measurement, until, deleted))


def mark_deleted(con: sqlite3.Connection, measurement: str, until: int) -> None:
    con.execute("UPDATE retention SET deleted_until_us = ? WHERE measurement = ?",
                (until, measurement))


def oldest(con: sqlite3.Connection, sids: Sequence[int]) -> Optional[int]:
    return con.execute(
        "SELECT min((SELECT min(time_us) FROM points WHERE series_id = i.value)) "
        "FROM json_each(?) i", (json.dumps(list(sids)),)).fetchone()[0]


def raw_cutoff(raw_before_us: int, frontier: Optional[int]) -> Optional[int]:
    """Where pruning may go: whole 5-minute units, never past the rollup frontier."""
    if frontier is None:
        return None
    return min(floor(raw_before_us, FIVE_MIN), frontier)


def kept_points(con: sqlite3.Connection, sids: Sequence[int], edges: Iterable[int]) -> dict[int, list[int]]:
    """Series id -> times of its first point at or after each edge."""
    out: dict[int, list[int]] = {}
    ids = json.dumps(list(sids))
    for edge in edges:
        for sid, t in con.execute(
                "SELECT i.value, (SELECT min(time_us) FROM points WHERE series_id = i.value "
                "AND time_us >= ?) FROM json_each(?) i", (edge, ids)):
            if t is not None:
                out.setdefault(sid, []).append(t)
    return out


def delete_raw(con: sqlite3.Connection, sids: Sequence[int], lo: int, hi: int,
               keep: dict[int, list[int]]) -> int:
    """Delete raw rows in [lo, hi) of the series but the kept ones (inside the caller's
    transaction); ``keep``: series id -> kept times."""
    n = 0
    for sid in sids:
        mine = [t for t in keep.get(sid, ()) if lo <= t < hi]
        cur = con.execute(
            "DELETE FROM points WHERE series_id = ? AND time_us >= ? AND time_us < ? "
            "AND time_us NOT IN (SELECT value FROM json_each(?))", (sid, lo, hi, json.dumps(mine)))
        n += cur.rowcount
    return n


def delete_rollups(con: sqlite3.Connection, table: str, ids: Sequence[int], before: int) -> int:
    """Rows of one rollup table for these ids older than ``before`` (inside the caller's
    transaction)."""
    cur = con.execute(f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(?)) "
                      "AND t < ?", (json.dumps(list(ids)), before))
    return cur.rowcount
