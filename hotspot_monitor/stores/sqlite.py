"""The embedded metric store: one SQLite file, InfluxDB's answers.

Schema (see docs/stores.md):

* ``series``  (id, measurement, canonical tags JSON) - one row per series;
* ``fields``  (measurement, field, type) - float/integer/boolean/string, as
  InfluxDB reports them, so values round-trip with their type;
* ``points``  (series_id, time_us, fields JSON), clustered on (series_id, time_us);
  a second write at the same series and time merges fields, like InfluxDB;
* rollups (``sqlite_rollups.py``): exact count/sum/min/max per 5 minutes, hour
  and day, per series and per site group, complete below a per-measurement
  frontier. Reads take whole units below the frontier from them and the rest
  from raw rows (``rollups.plan``), so a month-long sum stays exact and fast.

Late data below the frontier is rolled up in the same transaction that writes
it, so no reader ever sees rollups that disagree with the raw rows.

Series metadata is small and cached in memory; each thread gets its own
connection (WAL lets readers run while one writer writes).
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..logutil import RateLimitedLog
from ..sample import FieldValue, Sample, from_us, to_us
from . import sqlite_retention as retention
from . import sqlite_rollups as rolls
from .base import (StoreRejected, Aggregate, Bucket, MetricStore, PruneResult, Series, StoreError,
                   StoreUnavailable)
from .common import normalize
from .rollups import (DAY, FIVE_MIN, ROLLED_TYPES, STATS, Grid, Piece, StepSizer, final, floor,
                      frontier_target, grids, merge, plan, site_key, site_usable)

log = logging.getLogger(__name__)

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
"""

_UPSERT = ("INSERT INTO points (series_id, time_us, fields) VALUES (?, ?, ?) "
           "ON CONFLICT (series_id, time_us) DO UPDATE SET "
           "fields = json_patch(points.fields, excluded.fields)")

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_TYPES = {bool: "boolean", int: "integer", float: "float", str: "string"}


@dataclass
class _Names:
    """The series and site-group ids this instance knows. A write that fails
    replaces the whole object (never clears it in place), so a read on another
    thread keeps a complete one for the whole query."""

    series: dict[int, tuple[str, dict[str, str]]] = field(default_factory=dict)
    series_ids: dict[tuple, int] = field(default_factory=dict)
    sids_of: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    max_series: int = 0
    groups: dict[int, tuple[str, dict[str, str]]] = field(default_factory=dict)  # site groups
    group_ids: dict[tuple, int] = field(default_factory=dict)
    gids_of: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    max_group: int = 0


class SqliteStore(MetricStore):
    """MetricStore in one SQLite file (the embedded default).

    ``rollups=False`` keeps no rollups and reads only raw rows (for comparisons).
    """

    def __init__(self, path: str | Path, *, rollups: bool = True, busy_timeout_s: float = 30.0) -> None:
        self.path = str(path)
        self.rollups = rollups
        self.busy_timeout_s = busy_timeout_s  # how long a write waits for another process's lock
        self.rollup_budget_s = 1.0  # frontier work per flush; the rest waits for the next
        self._local = threading.local()
        self._write_lock = threading.RLock()  # one writer; also guards the caches
        self._names = _Names()
        self._fast_ids: dict[tuple, int] = {}  # series ids keyed by tags in the caller's order
        self._types: dict[str, dict[str, str]] = defaultdict(dict)
        self._new_types: list[tuple[str, str, str]] = []
        self._rows: list[tuple[int, int, str]] = []
        self._newest: dict[str, int] = {}  # measurement -> newest time written here
        self._behind: dict[str, int] = {}  # measurement -> frontier after our last advance
        self._steps: dict[str, StepSizer] = {}
        self._rollup_errors = RateLimitedLog(log, interval_s=60.0)
        self.rollup_error: Optional[str] = None  # the last rollup failure, for health pages
        self._conflicts: list[str] = []
        self._closing = False  # a prune pass in another thread stops between transactions
        # sid -> (time_us, fields JSON, Sample): reused by latest() only when the
        # newest row in the file has exactly this time and text (so always correct)
        self._latest: dict[int, tuple[int, str, Sample]] = {}
        con = self._con()
        try:
            con.executescript(_SCHEMA)
            rolls.create(con)
            retention.create(con)
        except sqlite3.Error as e:
            raise StoreError(f"SQLite {self.path}: cannot create schema: {e}") from None
        self._load_series(con)
        self._load_types(con)
        self._add_missing_groups(con)

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
                con.execute("PRAGMA cache_size=-32768")  # 32 MiB per connection (128 MiB grew RSS past 300 MB at 10,000 APs)
                con.execute("PRAGMA temp_store=MEMORY")
                rolls.create_temp(con)
            except sqlite3.Error as e:
                raise StoreError(f"SQLite {self.path}: cannot open: {e}") from None
            self._local.con = con
        return con

    # the current names, for the writer (which holds _write_lock) and the schema code
    _series = property(lambda self: self._names.series)
    _series_ids = property(lambda self: self._names.series_ids)
    _sids_of = property(lambda self: self._names.sids_of)
    _groups = property(lambda self: self._names.groups)
    _group_ids = property(lambda self: self._names.group_ids)
    _gids_of = property(lambda self: self._names.gids_of)

    def _load_series(self, con: sqlite3.Connection, names: Optional[_Names] = None) -> None:
        """Pick up series (and site groups) added since the last call, also by
        other processes (into ``names``, default the current ones)."""
        with self._write_lock:
            n = names or self._names
            rows = con.execute("SELECT id, measurement, tags FROM series WHERE id > ?",
                               (n.max_series,)).fetchall()
            groups = con.execute("SELECT id, measurement, tags FROM site_group WHERE id > ?",
                                 (n.max_group,)).fetchall()
            for gid, m, tags in groups:
                n.max_group = max(n.max_group, gid)
                if gid in n.groups:  # created by this instance
                    continue
                t = json.loads(tags)
                n.groups[gid] = (m, t)
                n.group_ids[(m, tuple(sorted(t.items())))] = gid
                n.gids_of[m].append(gid)
            for sid, m, tags in rows:
                n.max_series = max(n.max_series, sid)
                if sid in n.series:  # created by this instance
                    continue
                t = json.loads(tags)
                n.series[sid] = (m, t)
                n.series_ids[(m, tuple(sorted(t.items())))] = sid
                n.sids_of[m].append(sid)

    def _reload_series(self, con: sqlite3.Connection) -> None:
        """After a rollback dropped ids this instance had cached: read the names
        afresh, then swap them in whole (readers keep the ones they hold)."""
        fresh = _Names()
        self._load_series(con, fresh)
        self._names = fresh
        self._fast_ids, self._latest = {}, {}

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
            self._sids_of[m].append(sid)
            self._join_group(con, sid, m, dict(key[1]))
        return sid

    def _join_group(self, con: sqlite3.Connection, sid: int, m: str, tags: dict[str, str]) -> None:
        """Put a series into its site group (its tags without ``ap``)."""
        gtags = site_key(tags)
        gkey = (m, tuple(sorted(gtags.items())))
        gid = self._group_ids.get(gkey)
        if gid is None:
            text = json.dumps(dict(gkey[1]), ensure_ascii=False, separators=(",", ":"))
            con.execute("INSERT OR IGNORE INTO site_group (measurement, tags) VALUES (?, ?)",
                        (m, text))
            gid = con.execute("SELECT id FROM site_group WHERE measurement = ? AND tags = ?",
                              (m, text)).fetchone()[0]
            self._groups[gid] = (m, gtags)
            self._group_ids[gkey] = gid
            self._gids_of[m].append(gid)
        con.execute("INSERT OR IGNORE INTO site_member (series_id, group_id) VALUES (?, ?)",
                    (sid, gid))

    def _add_missing_groups(self, con: sqlite3.Connection) -> None:
        """A file written before site groups existed: give every series its group."""
        missing = con.execute("SELECT id FROM series WHERE id NOT IN "
                              "(SELECT series_id FROM site_member)").fetchall()
        if not missing:
            return
        with self._write_lock:
            con.execute("BEGIN IMMEDIATE")
            for (sid,) in missing:
                m, tags = self._series[sid]
                self._join_group(con, sid, m, tags)
            con.execute("COMMIT")

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
                self._reload_series(con)
                self._load_types(con)
                raise StoreUnavailable(f"SQLite {self.path}: write failed: {e}") from None

    def _write_locked(self, con: sqlite3.Connection, samples: Iterable[Sample]) -> None:
        rows, types = self._rows, self._types
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
            c = latest.get(sid)
            if c is None or us > c[0]:
                latest[sid] = (us, text, s)
        if con.in_transaction:
            con.execute("COMMIT")
        if len(rows) >= BATCH:
            self._flush_locked(con)

    def flush(self) -> None:
        with self._write_lock:
            self._flush_locked(self._con(), advance=self.rollups)
            conflicts, self._conflicts = self._conflicts, []
        if conflicts:
            raise StoreRejected(f"SQLite {self.path}: {len(conflicts)} sample(s) not written: "
                             f"{conflicts[0]}")

    def _flush_locked(self, con: sqlite3.Connection, advance: bool = False) -> None:
        """Write buffered rows; in the same transaction roll up late ones (below a
        frontier) and, with ``advance``, move frontiers for up to rollup_budget_s."""
        targets = self._targets() if advance else {}
        if not self._rows and not self._new_types and not targets:
            return
        rows, types = self._rows, self._new_types
        try:
            if not con.in_transaction:
                con.execute("BEGIN IMMEDIATE")
            if rows:
                rows = self._refuse_pruned(con, rows)
            con.executemany(_UPSERT, rows)
            con.executemany("INSERT OR IGNORE INTO fields VALUES (?, ?, ?)", types)
            if self.rollups:
                self._roll_late(con, rows)
            if advance:
                self._advance(con, self._targets(), time.monotonic() + self.rollup_budget_s)
            con.execute("COMMIT")
        except sqlite3.Error as e:
            con.execute("ROLLBACK") if con.in_transaction else None
            raise StoreError(f"SQLite {self.path}: write failed: {e}") from None
        self._rows, self._new_types = [], []

    def _refuse_pruned(self, con: sqlite3.Connection,
                       rows: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """Rows below a measurement's retention watermark are refused (read inside the
        write transaction, so a prune by another process counts): rolling such a row
        up would replace an exact rollup of pruned rows with one of this row alone."""
        marks = retention.watermarks(con)
        if not marks:
            return rows
        series, kept, refused = self._series, [], 0
        first = None
        for r in rows:
            m = series[r[0]][0]
            mark = marks.get(m)
            if mark is not None and r[1] < mark:
                refused += 1
                first = first or (m, mark)
            else:
                kept.append(r)
        if refused:  # one entry per sample: flush() reports how many
            self._conflicts.extend([f"older than the raw retention ({first[0]} is pruned before "
                                    f"{from_us(first[1]).isoformat()}; store.retention.raw_days)"]
                                   * refused)
        return kept

    def prune(self, *, raw_before: Optional[datetime], rollups_before: Optional[datetime],
              keep_after: Sequence[datetime] = ()) -> PruneResult:
        """Delete rolled-up raw rows before ``raw_before`` (keeping each series' first
        row after every ``keep_after`` instant) and rollups before ``rollups_before``,
        never rollups of a range whose raw rows are still there. Short transactions
        (a day of rows of a batch of series), so writers wait little; see
        ``sqlite_retention``."""
        if not self.rollups:
            raise StoreError(f"SQLite {self.path}: a store without rollups cannot prune "
                             "(the raw rows are all there is)")
        n_raw = n_roll = 0
        con = self._con()
        with self._write_lock:  # held per transaction below, not for the whole pass
            self._flush_locked(con, advance=True)
            self._load_series(con)
            by_measurement = {m: list(sids) for m, sids in self._names.sids_of.items()}
            groups = {m: list(g) for m, g in self._names.gids_of.items()}
        done: dict[str, int] = {m: k.deleted_until for m, k in retention.marks(con).items()}
        for m, sids in sorted(by_measurement.items()):
            if self._closing:
                break
            cutoff = (retention.raw_cutoff(to_us(raw_before), rolls.get_frontier(con, m))
                      if raw_before is not None else None)
            lo = done.get(m)
            if lo is None and cutoff is not None:
                lo = retention.oldest(con, sids)
            if cutoff is not None and lo is not None and lo < cutoff:
                edges = [to_us(e) for e in keep_after if lo <= to_us(e) < cutoff]
                keep = retention.kept_points(con, sids, edges)
                n, done[m] = self._delete_windows(con, m, sids, lo, cutoff, keep)
                n_raw += n
            if rollups_before is not None and m in done:
                before = floor(min(to_us(rollups_before), done[m]), DAY)
                for tier, table in rolls.TABLES.items():
                    ids = groups.get(m, []) if tier.site else sids
                    for i in range(0, len(ids), retention.SERIES_BATCH):
                        n_roll += self._in_transaction(con, lambda: retention.delete_rollups(
                            con, table, ids[i:i + retention.SERIES_BATCH], before))
        self._latest = {}
        return PruneResult(n_raw, n_roll, {m: from_us(t) for m, t in done.items()})

    def _delete_windows(self, con: sqlite3.Connection, m: str, sids: list[int], lo: int,
                        cutoff: int, keep: dict[int, list[int]]) -> tuple[int, int]:
        """Give up and delete [lo, cutoff) a day at a time; (rows deleted, deleted until)."""
        n, a = 0, lo
        batch = retention.SERIES_BATCH
        while a < cutoff and not self._closing:
            b = min(cutoff, floor(a, retention.WINDOW_US) + retention.WINDOW_US)
            self._in_transaction(con, lambda: retention.give_up(con, m, b, a))
            for i in range(0, len(sids), batch):
                n += self._in_transaction(con, lambda: retention.delete_raw(
                    con, sids[i:i + batch], a, b, keep))
            self._in_transaction(con, lambda: retention.mark_deleted(con, m, b))
            a = b
        return n, a

    def _in_transaction(self, con: sqlite3.Connection, work: Any) -> Any:
        with self._write_lock:
            try:
                con.execute("BEGIN IMMEDIATE")
                out = work()
                con.execute("COMMIT")
                return out
            except sqlite3.Error as e:
                con.execute("ROLLBACK") if con.in_transaction else None
                raise StoreError(f"SQLite {self.path}: prune failed: {e}") from None

    def _targets(self) -> dict[str, int]:
        """Where each frontier this instance wrote to should be, if behind."""
        now = to_us(datetime.now(timezone.utc))
        out = {}
        for m, newest in self._newest.items():
            target = frontier_target(newest, now)
            if self._behind.get(m, -(2**62)) < target:
                out[m] = target
        return out

    def _roll_late(self, con: sqlite3.Connection, rows: list[tuple[int, int, str]]) -> None:
        frontiers = rolls.all_frontiers(con)
        newest = self._newest
        late: dict[str, set[tuple[int, int]]] = defaultdict(set)
        series = self._series
        for sid, us, _ in rows:
            m = series[sid][0]
            f = frontiers.get(m)
            if f is not None and us < f:
                late[m].add((sid, us - us % FIVE_MIN))
            if us > newest.get(m, -(2**62)):
                newest[m] = us
        for m, pairs in late.items():
            con.execute("SAVEPOINT late")
            try:
                rolls.recompute(con, fields=self._rolled_fields(m), series=self._sids_of[m],
                                groups=self._gids_of[m], until=frontiers[m], late=pairs)
                con.execute("RELEASE late")
            except sqlite3.Error as e:
                # never lose the raw rows over a rollup: move the frontier back so
                # reads use raw rows there, and let the next advance retry
                con.execute("ROLLBACK TO late")
                con.execute("RELEASE late")
                rolls.set_frontier(con, m, min(t for _, t in pairs))
                log.error("SQLite %s: rollup of late %s data failed (%s): reading raw rows "
                          "from %s on", self.path, m, e, from_us(min(t for _, t in pairs)))

    def _rolled_fields(self, m: str) -> list[str]:
        return sorted(f for f, t in self._types[m].items() if t in ROLLED_TYPES)

    def _advance(self, con: sqlite3.Connection, targets: dict[str, int],
                 deadline: Optional[float]) -> None:
        """Move frontiers towards their targets inside the caller's transaction,
        in steps of at most an hour (six when far behind), until ``deadline``."""
        for m, target in targets.items():
            f = rolls.get_frontier(con, m)
            if f is None:
                f = self._first_frontier(con, m)
                if f is None:
                    continue
            sizer = self._steps.setdefault(m, StepSizer(0.5))
            while f < target and (deadline is None or time.monotonic() < deadline):
                nxt = sizer.next(f, target)
                began = time.monotonic()
                con.execute("SAVEPOINT advance")
                try:
                    rolls.recompute(con, fields=self._rolled_fields(m),
                                    series=self._sids_of[m], groups=self._gids_of[m],
                                    until=nxt, since=f)
                    rolls.set_frontier(con, m, nxt)
                    con.execute("RELEASE advance")
                except sqlite3.Error as e:  # raw rows stay; reads use them past f
                    con.execute("ROLLBACK TO advance")
                    con.execute("RELEASE advance")
                    self._rollup_errors.log(logging.ERROR, "SQLite %s: rollup of %s at %s "
                                            "failed: %s", self.path, m, from_us(f), e)
                    self.rollup_error = f"{m} at {from_us(f)}: {e}"
                    break
                sizer.took(time.monotonic() - began)
                f = nxt
            self._behind[m] = f

    def _first_frontier(self, con: sqlite3.Connection, m: str) -> Optional[int]:
        """Start rolling up a measurement at its oldest row."""
        oldest = con.execute(
            "SELECT min((SELECT min(time_us) FROM points WHERE series_id = i.value)) "
            "FROM json_each(?) i", (json.dumps(self._sids_of[m]),)).fetchone()[0]
        if oldest is None:
            return None
        rolls.set_frontier(con, m, floor(oldest, FIVE_MIN))
        return floor(oldest, FIVE_MIN)

    def refresh_rollups(self) -> None:
        """Roll up everything written so far, now (e.g. after a bulk import).

        Afterwards new points in the newest 5 minutes count as late data (still
        exact, rolled up at each flush) until the clock has moved past them.
        """
        with self._write_lock:
            con = self._con()
            self._flush_locked(con)
            if not self.rollups:
                return
            self._load_series(con)
            targets = {}
            for m, sids in list(self._sids_of.items()):
                newest = con.execute(
                    "SELECT max((SELECT max(time_us) FROM points WHERE series_id = i.value)) "
                    "FROM json_each(?) i", (json.dumps(sids),)).fetchone()[0]
                if newest is not None:
                    targets[m] = floor(newest, FIVE_MIN) + FIVE_MIN
            for m, target in targets.items():  # a transaction per few seconds of work
                while True:
                    before = self._behind.get(m)
                    try:
                        con.execute("BEGIN IMMEDIATE")
                        self._advance(con, {m: target}, time.monotonic() + 5)
                        con.execute("COMMIT")
                    except sqlite3.Error as e:
                        con.execute("ROLLBACK") if con.in_transaction else None
                        raise StoreError(f"SQLite {self.path}: rollup failed: {e}") from None
                    at = self._behind.get(m)
                    if at is None or at >= target:
                        break
                    if at == before:
                        raise StoreError(f"SQLite {self.path}: rollup of {m} is stuck: "
                                         f"{self.rollup_error}")

    def ping(self) -> None:
        try:
            self._con().execute("SELECT count(*) FROM series").fetchone()
        except sqlite3.Error as e:
            raise StoreError(f"SQLite {self.path}: {e}") from None

    def close(self) -> None:
        self._closing = True
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

    def _match(self, con: sqlite3.Connection, m: str,
               tags: Optional[Mapping[str, str]]) -> tuple[list[int], _Names]:
        """The matching series ids and the names they were found in: a query looks
        every id up in those, even if a failed write swaps in new ones meanwhile."""
        if (con.execute("SELECT max(id) FROM series").fetchone()[0] or 0) > self._names.max_series:
            self._load_series(con)
        names = self._names
        return _matching(names.series, list(names.sids_of.get(m, ())), tags), names

    def latest(self, measurement: str, *, tags: Optional[Mapping[str, str]] = None,
               since: Optional[datetime] = None) -> list[Sample]:
        con = self._con()
        sids, names = self._match(con, measurement, tags)
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
                c = cache[sid] = (t, f, Sample(measurement, names.series[sid][1],
                                               json.loads(f), from_us(t)))
            out.append(c[2])
        return out

    def points(self, measurement: str, *, start: datetime, end: Optional[datetime] = None,
               tags: Optional[Mapping[str, str]] = None, first: Optional[int] = None) -> list[Sample]:
        if first is not None and first < 1:
            raise ValueError(f"first must be at least 1: {first}")
        con = self._con()
        sids, names = self._match(con, measurement, tags)
        if not sids:
            return []
        lo, hi = to_us(start), (to_us(end) if end is not None else 2**62)
        if first is None:
            rows = con.execute(
                "SELECT p.series_id, p.time_us, p.fields FROM json_each(?) s "
                "JOIN points p ON p.series_id = s.value AND p.time_us >= ? AND p.time_us < ?",
                (json.dumps(sids), lo, hi)).fetchall()
        else:  # the N oldest of each series, through the primary key
            rows = con.execute(
                "SELECT p.series_id, p.time_us, p.fields FROM json_each(?) s "
                "JOIN points p ON p.series_id = s.value AND p.time_us IN "
                "(SELECT time_us FROM points WHERE series_id = s.value AND time_us >= ? "
                "AND time_us < ? ORDER BY time_us LIMIT ?)",
                (json.dumps(sids), lo, hi, first)).fetchall()
        out = [Sample(measurement, names.series[sid][1], json.loads(f), from_us(t))
               for sid, t, f in rows]
        return sorted(out, key=lambda s: (s.time, sorted(s.tags.items())))

    def aggregate(self, measurement: str, field: str, *, start: datetime, end: datetime,
                  every: timedelta, agg: Aggregate = "mean",
                  tags: Optional[Mapping[str, str]] = None, group_by: Sequence[str] = (),
                  tz: Optional[str] = None) -> list[Series]:
        _check_agg(agg)
        every_us = every // timedelta(microseconds=1)
        if every_us <= 0:
            raise ValueError(f"every must be positive: {every}")
        lo, hi = to_us(start), to_us(end)
        if lo >= hi:
            return []
        parts = self._collect(measurement, field, agg, tags, group_by,
                              grids(lo, hi, every_us, tz))
        by_group: dict[tuple, dict[int, list]] = defaultdict(dict)
        for (key, b), p in parts.items():
            by_group[key][b] = p
        ftype = self._field_type(self._con(), measurement, field)
        return [Series(dict(zip(group_by, key)),
                       [Bucket(from_us(b), final(acc[b], agg, ftype)) for b in sorted(acc)])
                for key, acc in sorted(by_group.items())]

    def totals(self, measurement: str, field: str, *, start: datetime, end: datetime,
               group_by: Sequence[str], tags: Optional[Mapping[str, str]] = None,
               agg: Aggregate = "sum") -> dict[tuple[str, ...], FieldValue]:
        _check_agg(agg)
        lo, hi = to_us(start), to_us(end)
        if lo >= hi:
            return {}
        parts = self._collect(measurement, field, agg, tags, group_by,
                              [Grid(lo, hi, hi - lo, lo)])
        ftype = self._field_type(self._con(), measurement, field)
        return {key: final(p, agg, ftype) for (key, _b), p in parts.items()}

    def _collect(self, m: str, field: str, agg: str, tags: Optional[Mapping[str, str]],
                 group_by: Sequence[str], grid_list: list[Grid]) -> dict[tuple, list]:
        """{(group key, bucket start): partial}: whole units below the frontier from
        rollups (per site group when the query allows), the rest from raw rows.

        One read transaction: frontier, rollups and raw rows come from one snapshot.
        """
        con = self._con()
        con.execute("BEGIN")
        try:
            return self._collect_in_snapshot(con, m, field, agg, tags, group_by, grid_list)
        finally:
            con.execute("COMMIT")

    def _collect_in_snapshot(self, con: sqlite3.Connection, m: str, field: str, agg: str,
                             tags: Optional[Mapping[str, str]], group_by: Sequence[str],
                             grid_list: list[Grid]) -> dict[tuple, list]:
        sids, names = self._match(con, m, tags)
        if not sids:
            return {}
        ftype = self._field_type(con, m, field)
        rolled = self.rollups and agg in STATS and ftype in ROLLED_TYPES
        frontier = rolls.get_frontier(con, m) if rolled else None
        site = rolled and site_usable(tags, group_by)
        gids = _matching(names.groups, list(names.gids_of.get(m, ())), tags) if site else []
        # ids -> group numbers, so that SQL sums whole groups (a fleet chart over
        # 250 site groups comes back as one row per bucket, not 250)
        keys: list[tuple] = []
        number: dict[tuple, int] = {}

        def numbered(ids: list[int], names: dict[int, tuple[str, dict[str, str]]]) -> str:
            pairs = []
            for i in ids:
                key = tuple(names[i][1].get(x, "") for x in group_by)
                if key not in number:
                    number[key] = len(keys)
                    keys.append(key)
                pairs.append([i, number[key]])
            return json.dumps(pairs)

        series_groups = numbered(sids, names.series)
        site_groups = numbered(gids, names.groups)
        out: dict[tuple, list] = {}
        for g in grid_list:
            pieces = (plan(g.lo, g.hi, frontier, g.units(), site) if rolled
                      else [Piece(g.lo, g.hi, None)])
            for p in pieces:
                if p.tier is None:
                    rows = self._raw_rows(con, series_groups, field, agg, p, g)
                else:
                    rows = self._tier_rows(con, site_groups if p.tier.site else series_groups,
                                           field, agg, p, g)
                for row in rows:
                    key = (keys[row[0]], row[1])
                    acc = out.get(key)
                    stats = list(row[2:])
                    out[key] = stats if acc is None else merge(acc, stats, agg)
        return out

    def _raw_rows(self, con: sqlite3.Connection, groups: str, field: str, agg: str,
                  p: Piece, g: Grid) -> list[tuple]:
        """(group number, bucket, stats...) from raw rows; ``groups`` = [[id, number]...]."""
        args = {"path": _json_path(field), "groups": groups, "a": p.lo, "b": p.hi,
                "every": g.every, "origin": g.origin}
        inner = (f"SELECT g.grp, {_bucket('p.time_us')} AS bk, p.time_us, "
                 "json_extract(p.fields, :path) AS v FROM ids g "
                 "CROSS JOIN points p ON p.series_id = g.id "
                 "AND p.time_us >= :a AND p.time_us < :b")
        if agg == "last":
            stats = "max(time_us), v"
        else:
            stats = ", ".join(_RAW_STATS[s] for s in STATS[agg])
        return con.execute(f"{_IDS} SELECT grp, bk, {stats} FROM ({inner}) "
                           "WHERE v IS NOT NULL GROUP BY grp, bk", args).fetchall()

    def _tier_rows(self, con: sqlite3.Connection, groups: str, field: str, agg: str,
                   p: Piece, g: Grid) -> list[tuple]:
        stats = ", ".join(_TIER_STATS[s] for s in STATS[agg])
        return con.execute(
            f"{_IDS} SELECT g.grp, {_bucket('r.t')} AS bk, {stats} FROM ids g "
            f"CROSS JOIN {rolls.TABLES[p.tier]} r ON r.id = g.id AND r.field = :field "
            "AND r.t >= :a AND r.t < :b GROUP BY g.grp, bk",
            {"groups": groups, "field": field, "a": p.lo, "b": p.hi,
             "every": g.every, "origin": g.origin}).fetchall()


_IDS = "WITH ids(id, grp) AS (SELECT value ->> 0, value ->> 1 FROM json_each(:groups))"
_RAW_STATS = {"n": "count(v)", "sum": "sum(v)", "min": "min(v)", "max": "max(v)"}
_TIER_STATS = {"n": "sum(n)", "sum": "sum(total)", "min": "min(lo)", "max": "max(hi)"}


def _bucket(col: str) -> str:
    """The start of the grid bucket holding ``col`` (right for times before origin too)."""
    return f"({col} - ((({col} - :origin) % :every) + :every) % :every)"


def _matching(names: dict[int, tuple[str, dict[str, str]]], ids: list[int],
              tags: Optional[Mapping[str, str]]) -> list[int]:
    want = list((tags or {}).items())
    if not want:
        return ids
    return [i for i in ids if all(names[i][1].get(k) == v for k, v in want)]


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
