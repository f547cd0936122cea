"""The embedded metric store: one SQLite file, InfluxDB's answers.

Schema (see docs/stores.md):

* ``series``  (id, measurement, canonical tags JSON) - one row per series;
* ``fields``  (measurement, field, type) - float/integer/boolean/string, as
  InfluxDB reports them, so values round-trip with their type;
* ``points``  (series_id, time_us, fields JSON), clustered on (series_id, time_us);
  a second write at the same series and time merges fields, like InfluxDB;
* ``rollup``  (series_id, field, hour, n, total, lo, hi): exact hourly
  count/sum/min/max of numeric fields, recomputed set-based for the hours in
  ``dirty``. Whole interior hours of a query come from here, partial edge hours
  from raw rows, so a month-long sum stays exact and fast.

Series metadata is small and cached in memory; each thread gets its own
connection (WAL lets readers run while one writer writes).
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence
from zoneinfo import ZoneInfo

from ..sample import FieldValue, Sample, from_us, to_us
from .base import StoreRejected, Aggregate, Bucket, MetricStore, Series, StoreError, StoreUnavailable
from .buckets import final, local_day_grids, merge
from .common import normalize

log = logging.getLogger(__name__)

HOUR = 3_600_000_000
DAY = 24 * HOUR
BATCH = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL,
    UNIQUE (measurement, tags));
CREATE TABLE IF NOT EXISTS fields (
    measurement TEXT NOT NULL, field TEXT NOT NULL, type TEXT NOT NULL,
    PRIMARY KEY (measurement, field)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL, time_us INTEGER NOT NULL, fields TEXT NOT NULL,
    PRIMARY KEY (series_id, time_us)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup (
    series_id INTEGER NOT NULL, field TEXT NOT NULL, hour INTEGER NOT NULL,
    n INTEGER NOT NULL, total, lo, hi,
    PRIMARY KEY (series_id, field, hour)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirty (
    series_id INTEGER NOT NULL, hour INTEGER NOT NULL,
    PRIMARY KEY (series_id, hour)) WITHOUT ROWID;
"""

_UPSERT = ("INSERT INTO points (series_id, time_us, fields) VALUES (?, ?, ?) "
           "ON CONFLICT (series_id, time_us) DO UPDATE SET "
           "fields = json_patch(points.fields, excluded.fields)")

_ROLLUP = """
INSERT OR REPLACE INTO rollup (series_id, field, hour, n, total, lo, hi)
SELECT p.series_id, j.key, d.hour, count(*), sum(j.value), min(j.value), max(j.value)
FROM todo d
CROSS JOIN points p ON p.series_id = d.series_id AND p.time_us >= d.hour
             AND p.time_us < d.hour + {hour}
CROSS JOIN json_each(p.fields) j
WHERE j.type IN ('integer', 'real')
GROUP BY p.series_id, j.key, d.hour
""".format(hour=HOUR)

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_TYPES = {bool: "boolean", int: "integer", float: "float", str: "string"}


class SqliteStore(MetricStore):
    """MetricStore in one SQLite file (the embedded default)."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = str(path)
        self.busy_timeout_s = busy_timeout_s  # how long a write waits for another process's lock
        self._local = threading.local()
        self._write_lock = threading.RLock()  # one writer; also guards the caches
        self._series: dict[int, tuple[str, dict[str, str]]] = {}
        self._series_ids: dict[tuple, int] = {}
        self._fast_ids: dict[tuple, int] = {}  # same, keyed by tags in the caller's order
        self._max_series = 0
        self._types: dict[str, dict[str, str]] = defaultdict(dict)
        self._new_types: list[tuple[str, str, str]] = []
        self._rows: list[tuple[int, int, str]] = []
        self._dirty: set[tuple[int, int]] = set()
        self._conflicts: list[str] = []
        # sid -> (time_us, fields JSON, Sample): reused by latest() only when the
        # newest row in the file has exactly this time and text (so always correct)
        self._latest: dict[int, tuple[int, str, Sample]] = {}
        con = self._con()
        try:
            con.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise StoreError(f"SQLite {self.path}: cannot create schema: {e}") from None
        self._load_series(con)
        self._load_types(con)

    def _load_types(self, con: sqlite3.Connection) -> None:
        self._types.clear()
        for m, f, t in con.execute("SELECT measurement, field, type FROM fields"):
            self._types[m][f] = t
        for m, f, t in self._new_types:  # registered, not flushed yet
            self._types[m][f] = t

    # ---------------------------------------------------------------- plumbing
    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            try:
                con = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                      check_same_thread=False)
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=NORMAL")
                con.execute("PRAGMA cache_size=-131072")
                con.execute("PRAGMA temp_store=MEMORY")
            except sqlite3.Error as e:
                raise StoreError(f"SQLite {self.path}: cannot open: {e}") from None
            self._local.con = con
        return con

    def _load_series(self, con: sqlite3.Connection) -> None:
        """Pick up series added since the last call (also by other processes)."""
        with self._write_lock:
            rows = con.execute("SELECT id, measurement, tags FROM series WHERE id > ?",
                               (self._max_series,)).fetchall()
            for sid, m, tags in rows:
                t = json.loads(tags)
                self._series[sid] = (m, t)
                self._series_ids[(m, tuple(sorted(t.items())))] = sid
                self._max_series = max(self._max_series, sid)

    def _reload_series(self, con: sqlite3.Connection) -> None:
        """Replace the series cache with what the file holds (after a rollback
        dropped series ids this process had cached)."""
        series: dict[int, tuple[str, dict[str, str]]] = {}
        ids: dict[tuple, int] = {}
        for sid, m, tags in con.execute("SELECT id, measurement, tags FROM series"):
            t = json.loads(tags)
            series[sid] = (m, t)
            ids[(m, tuple(sorted(t.items())))] = sid
        with self._write_lock:
            self._series, self._series_ids = series, ids
            self._max_series = max(series, default=0)

    def _series_id(self, con: sqlite3.Connection, m: str, tags: Mapping[str, str]) -> int:
        key = (m, tuple(sorted(tags.items())))
        sid = self._series_ids.get(key)
        if sid is None:
            text = json.dumps(dict(key[1]), ensure_ascii=False, separators=(",", ":"))
            if not con.in_transaction:  # committed at the end of write(): one per call
                con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT OR IGNORE INTO series (measurement, tags) VALUES (?, ?)",
                        (m, text))
            sid = con.execute("SELECT id FROM series WHERE measurement = ? AND tags = ?",
                              (m, text)).fetchone()[0]
            self._series[sid] = (m, dict(key[1]))
            self._series_ids[key] = sid
        return sid

    # ---------------------------------------------------------------- writes
    def write(self, samples: Iterable[Sample]) -> None:
        with self._write_lock:
            con = self._con()
            n_rows, n_types = len(self._rows), len(self._new_types)
            try:
                self._write_locked(con, samples)
            except sqlite3.Error as e:
                # e.g. "database is locked" while another process writes: undo this
                # call completely (rows, new series ids) so a retry starts clean
                if con.in_transaction:
                    con.execute("ROLLBACK")
                del self._rows[n_rows:]
                del self._new_types[n_types:]
                # new dicts, never cleared in place: readers on other threads
                # keep using the complete ones they already hold
                self._fast_ids, self._latest = {}, {}
                self._reload_series(con)
                self._load_types(con)
                raise StoreUnavailable(f"SQLite {self.path}: write failed: {e}") from None

    def _write_locked(self, con: sqlite3.Connection, samples: Iterable[Sample]) -> None:
        rows, dirty, types = self._rows, self._dirty, self._types
        ids, latest, fast_ids = self._series_ids, self._latest, self._fast_ids
        last_t, last_us = None, 0
        for s in samples:
            s = normalize(s)
            if s is None:
                continue
            m = s.measurement
            mt = types[m]
            bad = None
            for f, v in s.fields.items():
                t = _TYPES[type(v)] if type(v) in _TYPES else _type_of(v)
                known = mt.get(f)
                if known is None:
                    mt[f] = t
                    self._new_types.append((m, f, t))
                elif known != t:
                    bad = f"field type conflict: {m}.{f} is {known}, got {t}"
            if bad:
                self._conflicts.append(bad)
                continue
            raw_key = (m, tuple(s.tags.items()))  # as given: no sort on the hot path
            sid = fast_ids.get(raw_key)
            if sid is None:
                sid = ids.get((m, tuple(sorted(s.tags.items()))))
                if sid is None:
                    sid = self._series_id(con, m, s.tags)
                if len(fast_ids) > 200_000:
                    fast_ids.clear()
                fast_ids[raw_key] = sid
            if s.time is not last_t:  # a poll round shares one datetime object
                last_t, last_us = s.time, to_us(s.time)
            us = last_us
            text = _dumps(s.fields)
            rows.append((sid, us, text))
            dirty.add((sid, us - us % HOUR))
            c = latest.get(sid)
            if c is None or us > c[0]:
                latest[sid] = (us, text, s)
        if con.in_transaction:
            con.execute("COMMIT")
        if len(rows) >= BATCH:
            self._flush_locked(con)

    def flush(self) -> None:
        with self._write_lock:
            self._flush_locked(self._con())
            conflicts, self._conflicts = self._conflicts, []
        if conflicts:
            raise StoreRejected(f"SQLite {self.path}: {len(conflicts)} sample(s) not written: "
                             f"{conflicts[0]}")

    def _flush_locked(self, con: sqlite3.Connection) -> None:
        if not self._rows and not self._new_types:
            return
        rows, dirty, types = self._rows, self._dirty, self._new_types
        try:
            if not con.in_transaction:
                con.execute("BEGIN IMMEDIATE")
            con.executemany(_UPSERT, rows)
            con.executemany("INSERT OR IGNORE INTO dirty VALUES (?, ?)", dirty)
            con.executemany("INSERT OR IGNORE INTO fields VALUES (?, ?, ?)", types)
            con.execute("COMMIT")
        except sqlite3.Error as e:
            con.execute("ROLLBACK") if con.in_transaction else None
            raise StoreError(f"SQLite {self.path}: write failed: {e}") from None
        newest = max(h for _, h in dirty) if dirty else 0
        self._rows, self._dirty, self._new_types = [], set(), []
        # Hours before the newest one written are (usually) complete: roll them up
        # now, once, instead of at the first long query.
        self._rollup(con, before=newest)

    def refresh_rollups(self) -> None:
        """Roll up every dirty hour now (e.g. after a bulk import)."""
        with self._write_lock:
            self._flush_locked(self._con())
            self._rollup(self._con(), before=None)

    def _rollup(self, con: sqlite3.Connection, before: Optional[int],
                series: Optional[list[int]] = None, lo: Optional[int] = None,
                hi: Optional[int] = None) -> None:
        """Recompute rollups of dirty (series, hour)s matching the filters, set-based."""
        conds, args = [], []
        if before is not None:
            conds.append("hour < ?")
            args.append(before)
        if lo is not None:
            conds += ["hour >= ?", "hour < ?"]
            args += [lo, hi]
        if series is not None:
            conds.append("series_id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(series))
        where = (" WHERE " + " AND ".join(conds)) if conds else ""
        with self._write_lock:
            if con.execute(f"SELECT 1 FROM dirty{where} LIMIT 1", args).fetchone() is None:
                return
            try:
                con.execute("BEGIN IMMEDIATE")
                con.execute("CREATE TEMP TABLE IF NOT EXISTS todo "
                            "(series_id INTEGER, hour INTEGER, PRIMARY KEY (series_id, hour))")
                con.execute("DELETE FROM todo")
                con.execute(f"INSERT INTO todo SELECT series_id, hour FROM dirty{where}", args)
                con.execute(_ROLLUP)
                con.execute("DELETE FROM dirty WHERE (series_id, hour) IN "
                            "(SELECT series_id, hour FROM todo)")
                con.execute("COMMIT")
            except sqlite3.Error as e:
                con.execute("ROLLBACK") if con.in_transaction else None
                raise StoreError(f"SQLite {self.path}: rollup failed: {e}") from None

    def ping(self) -> None:
        try:
            self._con().execute("SELECT count(*) FROM series").fetchone()
        except sqlite3.Error as e:
            raise StoreError(f"SQLite {self.path}: {e}") from None

    def close(self) -> None:
        self.flush()
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # ---------------------------------------------------------------- reads
    def _field_type(self, con: sqlite3.Connection, m: str, field: str) -> Optional[str]:
        """The field's type; re-read from the file if another process added it."""
        t = self._types[m].get(field)
        if t is None:
            row = con.execute("SELECT type FROM fields WHERE measurement = ? AND field = ?",
                              (m, field)).fetchone()
            if row:
                t = self._types[m][field] = row[0]
        return t

    def _match(self, con: sqlite3.Connection, m: str, tags: Optional[Mapping[str, str]]
               ) -> tuple[list[int], dict[int, tuple[str, dict[str, str]]]]:
        """Series ids matching, and the series cache they were found in: a query
        looks its ids up in that one dict even if a writer swaps the cache."""
        if (con.execute("SELECT max(id) FROM series").fetchone()[0] or 0) > self._max_series:
            self._load_series(con)
        series = self._series
        want = [(k, v) for k, v in (tags or {}).items()]
        return [sid for sid, (sm, st) in list(series.items())
                if sm == m and all(st.get(k) == v for k, v in want)], series

    def latest(self, measurement: str, *, tags: Optional[Mapping[str, str]] = None,
               since: Optional[datetime] = None) -> list[Sample]:
        con = self._con()
        sids, series = self._match(con, measurement, tags)
        if not sids:
            return []
        lo = to_us(since) if since is not None else -(2**62)
        rows = con.execute(
            "SELECT p.series_id, p.time_us, p.fields FROM json_each(?) s "
            "JOIN points p ON p.series_id = s.value AND p.time_us = "
            "(SELECT max(time_us) FROM points WHERE series_id = s.value AND time_us >= ?)",
            (json.dumps(sids), lo)).fetchall()
        out = []
        cache = self._latest
        for sid, t, f in rows:
            c = cache.get(sid)
            if c is None or c[0] != t or c[1] != f:
                c = cache[sid] = (t, f, Sample(measurement, series[sid][1],
                                               json.loads(f), from_us(t)))
            out.append(c[2])
        return out

    def aggregate(self, measurement: str, field: str, *, start: datetime, end: datetime,
                  every: timedelta, agg: Aggregate = "mean",
                  tags: Optional[Mapping[str, str]] = None, group_by: Sequence[str] = (),
                  tz: Optional[str] = None) -> list[Series]:
        _check_agg(agg)
        every_us = every // timedelta(microseconds=1)
        if every_us <= 0:
            raise ValueError(f"every must be positive: {every}")
        lo, hi = to_us(start), to_us(end)
        con = self._con()
        sids, series = self._match(con, measurement, tags)
        if not sids or lo >= hi:
            return []
        if tz and every_us % DAY == 0:
            grids = local_day_grids(lo, hi, every_us // DAY, ZoneInfo(tz))
        else:
            grids = [(lo, hi, every_us, 0)]
        parts: dict[tuple[int, int], list] = {}
        for g_lo, g_hi, g_every, g_origin in grids:
            parts.update(self._partials(con, measurement, field, agg, sids,
                                        g_lo, g_hi, g_every, g_origin))
        groups: dict[tuple, dict[int, list]] = defaultdict(dict)
        for (sid, b), p in parts.items():
            key = tuple(series[sid][1].get(g, "") for g in group_by)
            acc = groups[key].get(b)
            groups[key][b] = p if acc is None else merge(acc, p, agg)
        ftype = self._field_type(con, measurement, field)
        return [Series(dict(zip(group_by, key)),
                       [Bucket(from_us(b), final(acc[b], agg, ftype)) for b in sorted(acc)])
                for key, acc in sorted(groups.items())]

    def totals(self, measurement: str, field: str, *, start: datetime, end: datetime,
               group_by: Sequence[str], tags: Optional[Mapping[str, str]] = None,
               agg: Aggregate = "sum") -> dict[tuple[str, ...], FieldValue]:
        _check_agg(agg)
        lo, hi = to_us(start), to_us(end)
        con = self._con()
        sids, series = self._match(con, measurement, tags)
        if not sids or lo >= hi:
            return {}
        parts = self._partials(con, measurement, field, agg, sids, lo, hi, hi - lo, lo)
        out: dict[tuple, list] = {}
        for (sid, _b), p in parts.items():
            key = tuple(series[sid][1].get(g, "") for g in group_by)
            out[key] = p if key not in out else merge(out[key], p, agg)
        ftype = self._field_type(con, measurement, field)
        return {k: final(v, agg, ftype) for k, v in out.items()}

    def _partials(self, con: sqlite3.Connection, m: str, field: str, agg: str,
                  sids: list[int], lo: int, hi: int, every: int, origin: int
                  ) -> dict[tuple[int, int], list]:
        """{(series_id, bucket_start_us): partial} for ``field`` over [lo, hi).

        A partial is [n, total, lo, hi] (or [time, value] for ``last``). Interior
        whole hours come from ``rollup`` when no bucket edge cuts an hour.
        """
        path = _json_path(field)
        ids = json.dumps(sids)
        ftype = self._field_type(con, m, field)
        h0, h1 = -(-lo // HOUR) * HOUR, hi // HOUR * HOUR
        one_bucket = (lo - origin) // every == (hi - 1 - origin) // every
        use_rollup = (agg != "last" and ftype in ("integer", "float") and h1 > h0
                      and (one_bucket or (every % HOUR == 0 and origin % HOUR == 0)))
        for _ in range(2):  # the hour being written now: read it raw, don't re-roll it
            if use_rollup and con.execute(
                    "SELECT 1 FROM dirty WHERE hour = ? AND series_id IN "
                    "(SELECT value FROM json_each(?)) LIMIT 1", (h1 - HOUR, ids)).fetchone():
                h1 -= HOUR
                use_rollup = h1 > h0
        raw = [(lo, h0), (h1, hi)] if use_rollup else [(lo, hi)]
        out: dict[tuple[int, int], list] = {}

        def add(key: tuple[int, int], p: list) -> None:
            out[key] = p if key not in out else merge(out[key], p, agg)

        bucket = "(time_us - :origin) / :every * :every + :origin"
        for a, b in raw:
            if a >= b:
                continue
            args = {"path": path, "ids": ids, "a": a, "b": b, "every": every, "origin": origin}
            inner = ("SELECT series_id, time_us, json_extract(fields, :path) AS v FROM points "
                     "WHERE series_id IN (SELECT value FROM json_each(:ids)) "
                     "AND time_us >= :a AND time_us < :b")
            if agg == "last":
                q = (f"SELECT series_id, {bucket} AS bk, max(time_us), v FROM ({inner}) "
                     "WHERE v IS NOT NULL GROUP BY series_id, bk")
                for sid, bk, t, v in con.execute(q, args):
                    add((sid, bk), [t, v])
            else:
                q = (f"SELECT series_id, {bucket} AS bk, count(v), sum(v), min(v), max(v) "
                     f"FROM ({inner}) WHERE v IS NOT NULL GROUP BY series_id, bk")
                for sid, bk, n, tot, mn, mx in con.execute(q, args):
                    add((sid, bk), [n, tot, mn, mx])
        if use_rollup:
            self._rollup(con, before=None, series=sids, lo=h0, hi=h1)
            q = ("SELECT series_id, (hour - :origin) / :every * :every + :origin AS bk, "
                 "sum(n), sum(total), min(lo), max(hi) FROM rollup "
                 "WHERE series_id IN (SELECT value FROM json_each(:ids)) AND field = :field "
                 "AND hour >= :a AND hour < :b GROUP BY series_id, bk")
            args = {"ids": ids, "field": field, "a": h0, "b": h1, "every": every,
                    "origin": origin}
            for sid, bk, n, tot, mn, mx in con.execute(q, args):
                add((sid, bk), [n, tot, mn, mx])
        return out


def _type_of(v: Any) -> str:
    for t, name in _TYPES.items():
        if isinstance(v, t):
            return name
    raise StoreError(f"unsupported field value type {type(v).__name__}")


def _json_path(field: str) -> str:
    if '"' in field or "\\" in field:
        raise StoreError(f"SQLite store: field name {field!r} cannot be queried")
    return f'$."{field}"'


def _check_agg(agg: str) -> None:
    if agg not in ("mean", "max", "min", "sum", "last", "count"):
        raise ValueError(f"unknown aggregate {agg!r}")
