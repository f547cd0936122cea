"""InfluxDB rollups and ``:last`` tables, maintained by the store's own code.

Not continuous queries: CQs only see data that arrives before their next run
(late or backfilled points need RESAMPLE windows, and still miss older ones),
and InfluxDB 2.x/3.x have no CQs at all. Here every write records which
5-minute units it touched; units below the frontier are recomputed from raw
right after the raw points are written, and the frontier moves forward as data
arrives. Recomputing (never incrementing) keeps a redelivered point from
counting twice. Measurements, in the raw data's database and the rollup retention
policy (``rollup_retention_policy``, default the raw one; docs/retention.md):

* ``<m>:5m``, ``<m>:1h``, ``<m>:1d`` - per series (same tags), fields
  ``<f>:n``, ``<f>:sum``, ``<f>:min``, ``<f>:max`` per numeric field;
* ``<m>:site_5m``, ``<m>:site_1h``, ``<m>:site_1d`` - per site group (the
  tags without ``ap``): what overview and site pages read;
* ``<m>:last`` - ONE series holding the newest sample of every raw series, at a
  fixed slot time per series in the year 2200 (InfluxDB answers "5,000 rows of
  one series" ~7x faster than "one row of 5,000 series"; far-future times are
  never dropped by a retention policy). Tags are string fields ``tag:<key>``,
  fields one JSON string ``_fields``, the sample's time ``_time`` (µs);
* ``<m>:edge`` - copies of each series' first raw point after each month edge
  (``InfluxStore.prune``, run by the retention job), for the report;
* ``hotspot_rollups`` - the frontier per measurement (tag ``measurement``,
  field ``until_us``), stamped with the time it was written.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Optional

from ..logutil import RateLimitedLog
from ..sample import Sample, from_us, to_us
from . import influxql
from .base import StoreError, StoreUnavailable
from .common import normalize
from .rollups import (DAY, FIVE_MIN, HOUR, ROLLED_TYPES, SERIES_TIERS, SITE_DROPS, SITE_TIERS,
                      TIERS, StepSizer, Tier, floor, frontier_target, site_key, whole_units)

if TYPE_CHECKING:
    from .influxdb import InfluxStore

log = logging.getLogger(__name__)

LAST_BASE_US = floor(to_us(datetime(2200, 1, 1, tzinfo=timezone.utc)), 7 * DAY)
SLOT_SPAN_US = 2**36  # 19 h from a week boundary: one shard for shard durations >= 1 day
TAG_PREFIX = "tag:"
FRONTIER = "hotspot_rollups"
FILTER_MAX = 30  # recompute late data of at most this many series by tag filter, else all
FRONTIER_TTL_S = 5.0  # how long a reader trusts a frontier it read (older is always safe)
_NEVER = -(2**62)


def tier_measurement(m: str, tier: Tier) -> str:
    return f"{m}:{tier.name}"


def last_measurement(m: str) -> str:
    return f"{m}:last"


def edge_measurement(m: str) -> str:
    """Each series' first point after each month edge, kept past the raw retention."""
    return f"{m}:edge"


def is_derived(name: str) -> bool:
    return name == FRONTIER or any(name.endswith(":" + t.name) for t in TIERS) \
        or name.endswith(":last") or name.endswith(":edge")


TagKey = tuple[tuple[str, str], ...]  # a series' tags, sorted


@dataclass
class LastValue:
    us: int
    fields: dict[str, Any]


@dataclass
class Pending:
    """What writes since the last flush touched; given back if the flush fails."""

    touched: dict[str, dict[int, set[TagKey]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    newest: dict[str, int] = field(default_factory=dict)
    last: dict[str, dict[TagKey, LastValue]] = field(default_factory=lambda: defaultdict(dict))
    names: dict[str, set[tuple[str, ...]]] = field(default_factory=lambda: defaultdict(set))

    def measurements(self) -> set[str]:
        return set(self.touched) | set(self.last)

    def absorb(self, later: "Pending") -> None:
        """Add what ``later`` saw (this one is older)."""
        for m, by_bucket in later.touched.items():
            for b, keys in by_bucket.items():
                self.touched[m][b] |= keys
        for m, us in later.newest.items():
            self.newest[m] = max(us, self.newest.get(m, _NEVER))
        for m, values in later.last.items():
            mine = self.last[m]
            for key, lv in values.items():
                cur = mine.get(key)
                if cur is None or lv.us > cur.us:
                    mine[key] = lv
                elif lv.us == cur.us:
                    cur.fields.update(lv.fields)
        for m, names in later.names.items():
            self.names[m] |= names


@dataclass
class MeasurementState:
    loaded: bool = False
    frontier: Optional[int] = None
    newest: Optional[int] = None
    last: dict[TagKey, LastValue] = field(default_factory=dict)
    slots: dict[TagKey, int] = field(default_factory=dict)
    taken: dict[int, TagKey] = field(default_factory=dict)
    tag_keys: Optional[list[str]] = None
    names: set[str] = field(default_factory=set)


class InfluxRollups:
    """Rollups and ``:last`` of one InfluxStore: tracks writes, maintains, plans reads."""

    def __init__(self, store: "InfluxStore") -> None:
        self.store = store
        self.budget_s = 1.0  # frontier work per flush; the rest waits for the next
        self._pending = Pending()
        self._state: dict[str, MeasurementState] = {}
        self._maint = threading.Lock()
        self._keys: dict[tuple, TagKey] = {}  # (m, tags as given) -> sorted tags
        self._tag_keys_seen: dict[str, set[str]] = defaultdict(set)
        self._errors = RateLimitedLog(log, interval_s=60.0)
        self._steps: dict[tuple[str, bool], StepSizer] = {}
        self._read_frontiers: dict[str, tuple[float, Optional[int]]] = {}
        self._last_stamp = 0  # time of our newest frontier point (kept increasing)
        # (i, n): this writer's ``:last`` slots are those equal to i mod n. Several
        # writers (shards, docs/scaling.md) never see each other's new slots, so
        # each probes only its own residue class and two writers never share one.
        self.lane = (0, 1)
        # Several writers (shards): the frontier is shared. Only the one ``advancing``
        # (the leader) moves it and pays for the fleet-wide rollups; the others read
        # it (at most every ``sync_s``) to recompute the units their late points
        # fall into. One writer alone keeps its frontier in memory, as before.
        self.shared = False
        self.advancing = True
        self.sync_s = FRONTIER_TTL_S
        self._synced: dict[str, float] = {}

    # ------------------------------------------------------------ write side
    def track(self, samples: Iterable[Sample]) -> None:
        """Record what stored samples touch (call under the store's write lock)."""
        p, keys = self._pending, self._keys
        last_t, us = None, 0
        for s in samples:
            n = normalize(s)  # the same object when nothing is dropped
            if n is None:
                continue
            m = n.measurement
            raw = (m, tuple(n.tags.items()))
            key = keys.get(raw)
            if key is None:
                if len(keys) > 200_000:
                    keys.clear()
                key = keys[raw] = tuple(sorted(n.tags.items()))
                self._tag_keys_seen[m].update(n.tags)
            if n.time is not last_t:
                last_t, us = n.time, to_us(n.time)
            p.touched[m][us - us % FIVE_MIN].add(key)
            if us > p.newest.get(m, _NEVER):
                p.newest[m] = us
            lv = p.last[m].get(key)
            if lv is None or us > lv.us:
                p.last[m][key] = LastValue(us, dict(n.fields))
            elif us == lv.us:
                lv.fields.update(n.fields)
            p.names[m].add(tuple(n.fields))

    def take(self) -> Pending:
        p, self._pending = self._pending, Pending()
        return p

    def give_back(self, p: Pending) -> None:
        p.absorb(self._pending)
        self._pending = p

    # ------------------------------------------------------------ flush side
    def maintain(self, p: Pending, rebuild_last: bool = False) -> None:
        """After the raw points of ``p`` are written: ``:last``, late units, frontier."""
        with self._maint:
            for m in sorted(p.measurements()):
                st = self._load(m)
                if not st.loaded:
                    continue
                for names in p.names.get(m, ()):
                    st.names.update(names)
                self._update_last(m, st, p.last.get(m, {}), rebuild_last)
                if self.shared:
                    self._sync(m, st)
                touched = p.touched.get(m, {})
                late = {b: k for b, k in touched.items() if b < st.frontier}
                if late:
                    self._roll_late(m, st, late)
                if m in p.newest:
                    st.newest = max(p.newest[m], st.newest if st.newest is not None else _NEVER)
            if self.advancing:
                self._advance(time.monotonic() + self.budget_s, None)

    def _sync(self, m: str, st: MeasurementState) -> None:
        """The shared frontier: a follower takes it; the advancing writer takes it when
        it is lower (a follower's failed late roll lowered it), so the units are redone."""
        t = self._synced.get(m)
        if t is not None and time.monotonic() - t < self.sync_s:
            return
        shared = self._query_frontier(m)
        self._synced[m] = time.monotonic()
        if shared is None or st.frontier is None:
            return
        st.frontier = min(st.frontier, shared) if self.advancing else shared

    def refresh(self, measurements: Optional[list[str]] = None) -> None:
        """Roll everything up to the newest data now (e.g. after a bulk import)."""
        with self._maint:
            if measurements is None:
                measurements = [m for m in self._measurements() if not is_derived(m)]
            targets = {}
            for m in measurements:
                st = self._load(m)
                if st.loaded and st.last:
                    targets[m] = floor(max(lv.us for lv in st.last.values()), FIVE_MIN) + FIVE_MIN
            self._advance(None, targets, bulk=True)

    def _load(self, m: str) -> MeasurementState:
        """Frontier and ``:last`` of ``m``; the first time ever, build them from raw."""
        st = self._state.setdefault(m, MeasurementState())
        if st.loaded:
            return st
        frontier = self._query_frontier(m)
        s = self.store
        if frontier is None:
            newest = s._latest_raw(m, influxql.select_newest_per_series(s._src(m)))
            lines = []
            for sample in newest:
                key = tuple(sorted(sample.tags.items()))
                st.last[key] = LastValue(to_us(sample.time), dict(sample.fields))
                lines.append(self._last_line(m, st, key, st.last[key]))
            self._post(lines)
            rows = s._query(influxql.select_oldest(s._src(m)))
            if not rows or not rows[0].get("values"):
                st.last.clear()
                return st  # nothing stored (yet)
            frontier = floor(rows[0]["values"][0][0], FIVE_MIN)
            self._write_frontier(m, frontier)
        else:
            q = influxql.select_last_table(s._src(last_measurement(m)), LAST_BASE_US,
                                          LAST_BASE_US + SLOT_SPAN_US, None, TAG_PREFIX, None)
            for series in s._query(q):
                cols = series["columns"]
                for row in series.get("values", []):
                    rec = dict(zip(cols, row))
                    key = tuple(sorted((c[len(TAG_PREFIX):], v) for c, v in rec.items()
                                       if c.startswith(TAG_PREFIX) and v is not None))
                    slot = rec["time"] - LAST_BASE_US
                    st.slots[key], st.taken[slot] = slot, key
                    st.last[key] = LastValue(rec["_time"], json.loads(rec["_fields"]))
        st.frontier, st.loaded = frontier, True
        return st

    def _update_last(self, m: str, st: MeasurementState, values: dict[TagKey, LastValue],
                     rebuild: bool) -> None:
        if rebuild and values:
            # some points were refused (a field type conflict): what the pending
            # values say may not be stored; ask InfluxDB for the truth instead
            only = _only([dict(k) for k in values])
            q = influxql.select_newest_per_series(self.store._src(m), only)
            values = {tuple(sorted(x.tags.items())): LastValue(to_us(x.time), dict(x.fields))
                      for x in self.store._latest_raw(m, q)}
        lines, new = [], {}
        for key, lv in values.items():
            cur = st.last.get(key)
            if cur is None or lv.us > cur.us or rebuild:
                nv = LastValue(lv.us, dict(lv.fields))
            elif lv.us == cur.us:
                nv = LastValue(cur.us, {**cur.fields, **lv.fields})
                if nv.fields == cur.fields:
                    continue
            else:
                continue
            new[key] = nv
            lines.append(self._last_line(m, st, key, nv))
        self._post(lines)
        st.last.update(new)

    def _last_line(self, m: str, st: MeasurementState, key: TagKey, lv: LastValue) -> str:
        slot = st.slots.get(key)
        if slot is None:
            i, n = self.lane
            digest = hashlib.blake2b(json.dumps([m, key]).encode(), digest_size=8).digest()
            slot = lane_slot(int.from_bytes(digest, "big"), i, n)
            while slot in st.taken:  # a hash collision: the next free slot of our lane
                slot = lane_slot(slot + n, i, n)
            st.slots[key], st.taken[slot] = slot, key
        fields: dict[str, Any] = {TAG_PREFIX + k: v for k, v in key}
        fields["_time"] = lv.us
        fields["_fields"] = json.dumps(lv.fields, ensure_ascii=False, separators=(",", ":"))
        return self.store._serialize(Sample(last_measurement(m), {}, fields,
                                            from_us(LAST_BASE_US + slot)))

    def _roll_late(self, m: str, st: MeasurementState, late: dict[int, set[TagKey]]) -> None:
        try:
            self._recompute(m, st, late=late)
        except StoreUnavailable:
            raise
        except StoreError as e:
            # never let a rollup disagree with raw: read raw from here on, retry later
            lowest = min(late)
            log.error("InfluxDB rollup of late %s data failed (%s): reading raw points from %s on",
                      m, e, from_us(lowest))
            self._write_frontier(m, lowest)
            st.frontier = lowest

    def _advance(self, deadline: Optional[float], targets: Optional[dict[str, int]],
                 bulk: bool = False) -> None:
        """Move frontiers towards their targets, in steps sized to take about a
        second (a few in ``bulk``), until ``deadline``."""
        if targets is None:
            now = to_us(datetime.now(timezone.utc))
            targets = {m: frontier_target(st.newest, now) for m, st in self._state.items()
                       if st.loaded and st.newest is not None}
        for m, target in targets.items():
            st = self._state[m]
            sizer = self._steps.setdefault((m, bulk), StepSizer(3.0 if bulk else 1.0))
            while st.frontier < target and (deadline is None or time.monotonic() < deadline):
                f = st.frontier
                nxt = sizer.next(f, target)
                began = time.monotonic()
                try:
                    self._recompute(m, st, since=f, until=nxt)
                except StoreUnavailable:
                    if sizer.shrink():  # e.g. a query timeout: try a smaller step
                        continue
                    raise
                except StoreError as e:  # the frontier stays: reads use raw points past it
                    self._errors.log(logging.ERROR, "InfluxDB rollup of %s at %s failed: %s", m,
                                     from_us(f), e)
                    break
                sizer.took(time.monotonic() - began)
                self._write_frontier(m, nxt)
                st.frontier = nxt

    def _recompute(self, m: str, st: MeasurementState, *,
                   late: Optional[dict[int, set[TagKey]]] = None,
                   since: Optional[int] = None, until: Optional[int] = None) -> None:
        """Rebuild tiers from the one below: the late units (only their series and
        site groups), or every unit of [since, until) plus the coarser units it completes."""
        types = self.store._types(m, st.names)
        fields = sorted(f for f, t in types.items() if t in ROLLED_TYPES)
        if not fields:
            return
        site_tags = [k for k in self._tag_keys(m, st) if k not in SITE_DROPS]
        t5, t1h, t1d = SERIES_TIERS
        s5, s1h, s1d = SITE_TIERS
        if late is not None:
            keys = set().union(*late.values())
            only = _only([dict(k) for k in keys])
            site_only = _only([dict(t) for t in {tuple(sorted(site_key(dict(k)).items()))
                                                 for k in keys}])
            buckets = sorted(late)
            r5 = _runs(buckets, FIVE_MIN)
            rh = _runs(sorted({floor(b, HOUR) for b in buckets
                               if floor(b, HOUR) + HOUR <= st.frontier}), HOUR)
            rd = _runs(sorted({floor(b, DAY) for b in buckets
                               if floor(b, DAY) + DAY <= st.frontier}), DAY)
        else:
            assert since is not None and until is not None
            only = site_only = None
            r5 = [(since, until)]
            rh = [r for r in [whole_units(since, until, HOUR)] if r[0] < r[1]]
            rd = [r for r in [whole_units(since, until, DAY)] if r[0] < r[1]]
        self._roll(m, None, t5, r5, fields, types, None, only)
        self._roll(m, t5, s5, r5, fields, types, site_tags, site_only)
        self._roll(m, t5, t1h, rh, fields, types, None, only)
        self._roll(m, t1h, t1d, rd, fields, types, None, only)
        self._roll(m, s5, s1h, rh, fields, types, None, site_only)
        self._roll(m, s1h, s1d, rd, fields, types, None, site_only)

    def _roll(self, m: str, src: Optional[Tier], dst: Tier, ranges: list[tuple[int, int]],
              fields: list[str], types: dict[str, str], group_tags: Optional[list[str]],
              only: Optional[list[dict[str, str]]]) -> None:
        if not ranges:
            return
        s = self.store
        source = s._src(m if src is None else tier_measurement(m, src))
        unit = timedelta(microseconds=dst.unit_us)
        statements = [influxql.select_rollup(source, fields, src is None, lo, hi, unit,
                                             group_tags, only) for lo, hi in ranges]
        dst_m = tier_measurement(m, dst)
        lines = []
        for i in range(0, len(statements), 20):
            for result in s._query_many(statements[i:i + 20]):
                for series in result:
                    tags = {k: v for k, v in (series.get("tags") or {}).items() if v != ""}
                    col = {c: j for j, c in enumerate(series["columns"])}
                    for row in series.get("values", []):
                        out: dict[str, Any] = {}
                        for f in fields:
                            n = row[col[f + ":n"]]
                            if not n:
                                continue
                            out[f + ":n"] = int(n)
                            for stat in ("sum", "min", "max"):
                                out[f"{f}:{stat}"] = _typed(row[col[f"{f}:{stat}"]], types[f])
                        if out:
                            lines.append(s._serialize(Sample(dst_m, tags, out, from_us(row[0]))))
        self._post(lines)

    def _tag_keys(self, m: str, st: MeasurementState) -> list[str]:
        if st.tag_keys is None or not self._tag_keys_seen[m] <= set(st.tag_keys):
            s = self.store
            q = influxql.show_tag_keys(s.s.database, s.s.retention_policy, m)
            st.tag_keys = [row[0] for series in s._query(q) for row in series.get("values", [])]
        return st.tag_keys

    def _measurements(self) -> list[str]:
        s = self.store
        rows = s._query("SHOW MEASUREMENTS")
        return [row[0] for series in rows for row in series.get("values", [])]

    def _post(self, lines: list[Optional[str]]) -> None:
        lines = [x for x in lines if x]
        n = self.store.s.batch_size
        for i in range(0, len(lines), n):
            self.store._post_write("\n".join(lines[i:i + n]).encode(), derived=True)

    # ------------------------------------------------------------ frontier
    def _write_frontier(self, m: str, until: int) -> None:
        stamp = max(to_us(datetime.now(timezone.utc)), self._last_stamp + 1)
        self._last_stamp = stamp
        self._post([self.store._serialize(Sample(FRONTIER, {"measurement": m},
                                                 {"until_us": until}, from_us(stamp)))])
        self._read_frontiers.pop(m, None)

    def _query_frontier(self, m: str) -> Optional[int]:
        s = self.store
        rows = s._query(influxql.select_frontier(s._src(FRONTIER), m))
        for series in rows:
            for _t, v in series.get("values", []):
                if v is not None:
                    self._last_stamp = max(self._last_stamp, _t)
                    return int(v)
        return None

    def frontier(self, m: str) -> Optional[int]:
        """For reads: rollups are complete below this (None: no rollups, no ``:last``)."""
        st = self._state.get(m)
        if st is not None and st.loaded:
            return st.frontier
        cached = self._read_frontiers.get(m)
        if cached is None or time.monotonic() - cached[0] > FRONTIER_TTL_S:
            cached = self._read_frontiers[m] = (time.monotonic(), self._query_frontier(m))
        return cached[1]


def lane_slot(h: int, i: int, n: int) -> int:
    """The slot in writer lane ``i`` of ``n`` at or after ``h`` (mod the slot span)."""
    lanes = SLOT_SPAN_US // n
    return (h // n % lanes) * n + i


def _only(tag_sets: list[dict[str, str]]) -> Optional[list[dict[str, str]]]:
    """A tag filter for a few series, or None (= all) for many or an untagged one."""
    if len(tag_sets) > FILTER_MAX or not all(tag_sets):
        return None
    return tag_sets


def _runs(starts: list[int], unit: int) -> list[tuple[int, int]]:
    """Sorted unit starts as [lo, hi) ranges; gaps under an hour are bridged
    (recomputing a unit twice is harmless, a query per unit is slow)."""
    out: list[tuple[int, int]] = []
    for t in starts:
        if out and t - out[-1][1] <= max(HOUR, unit):
            out[-1] = (out[-1][0], t + unit)
        else:
            out.append((t, t + unit))
    return out


def _typed(v: Any, ftype: Optional[str]) -> Any:
    if v is None:
        return None
    return float(v) if ftype == "float" else int(v) if ftype == "integer" else v
