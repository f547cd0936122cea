"""Rollup tiers and read plans, shared by both stores (see docs/stores.md).

Both stores keep, per measurement and numeric field, exact count/sum/min/max
for 5-minute, hourly and daily (UTC) units, once per *series* and once per
*site group* (the series with the ``ap`` tag rolled away). Rollups are always
recomputed from the data below them, never incremented, so a late or
redelivered point (same series and time overwrites) cannot be counted twice.

A per-measurement *frontier* F says how far rollups are complete: every unit
that ends at or before F is rolled up. A read uses rollups only below F and
raw points for the rest, and only units that no bucket edge cuts.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterable, NamedTuple, Optional, Sequence
from zoneinfo import ZoneInfo

from ..sample import FieldValue
from .buckets import local_day_grids, typed

MINUTE = 60_000_000  # microseconds
FIVE_MIN = 5 * MINUTE
HOUR = 60 * MINUTE
DAY = 24 * HOUR
UNITS = (FIVE_MIN, HOUR, DAY)

GRACE = 2 * MINUTE  # a 5-minute unit is rolled up once the newest data is this far past it
FUTURE_GUARD = HOUR  # samples stamped later than now + this never move the frontier
SITE_DROPS = frozenset({"ap"})  # tags rolled away in the site tiers

# what each aggregate needs from a bucket, in the order partials hold them
STATS: dict[str, tuple[str, ...]] = {
    "mean": ("n", "sum"), "sum": ("sum",), "count": ("n",), "min": ("min",), "max": ("max",),
}
_OPS: dict[str, Callable] = {"n": operator.add, "sum": operator.add, "min": min, "max": max}
ROLLED_TYPES = ("integer", "float")


@dataclass(frozen=True)
class Tier:
    """One rollup table: a unit of time, per series or per site group."""

    unit: str  # "5m", "1h", "1d"
    unit_us: int
    site: bool  # True: the ``ap`` tag rolled away

    @property
    def name(self) -> str:
        return ("site_" if self.site else "") + self.unit


SERIES_TIERS = (Tier("5m", FIVE_MIN, False), Tier("1h", HOUR, False), Tier("1d", DAY, False))
SITE_TIERS = (Tier("5m", FIVE_MIN, True), Tier("1h", HOUR, True), Tier("1d", DAY, True))
TIERS = SERIES_TIERS + SITE_TIERS


class Piece(NamedTuple):
    """[lo, hi) read from one source: a rollup tier, or raw points (tier None)."""

    lo: int
    hi: int
    tier: Optional[Tier]


class Grid(NamedTuple):
    """Buckets over [lo, hi): starts at ``origin + k * every``, labelled by their start."""

    lo: int
    hi: int
    every: int
    origin: int

    def units(self) -> tuple[int, ...]:
        """Rollup units no bucket edge inside (lo, hi) cuts."""
        first_edge = self.lo - (self.lo - self.origin) % self.every + self.every
        if first_edge >= self.hi:  # one bucket: any unit fits
            return UNITS
        return tuple(u for u in UNITS if self.every % u == 0 and self.origin % u == 0)


def grids(lo: int, hi: int, every: int, tz: Optional[str]) -> list[Grid]:
    """The bucket grids of a query: one, or one per local day across a DST change.

    With ``tz`` and whole days, buckets start at local midnight; if every bucket in
    [lo, hi) has the same length they form one grid, else each is its own.
    """
    if not (tz and every % DAY == 0):
        return [Grid(lo, hi, every, 0)]
    days = local_day_grids(lo, hi, every // DAY, ZoneInfo(tz))
    if len({d[2] for d in days}) == 1:
        return [Grid(lo, hi, days[0][2], days[0][3])]
    return [Grid(a, b, length, start) for a, b, length, start in days]


def usable_units(lo: int, hi: int, every: timedelta, tz: Optional[str]) -> tuple[int, ...]:
    """Units that no bucket edge of this query cuts (InfluxDB buckets server-side)."""
    every_us = every // timedelta(microseconds=1)
    gs = grids(lo, hi, every_us, tz)
    out = set(UNITS)
    for g in gs:
        out &= set(g.units())
    for g in gs[1:]:  # where one grid ends, a bucket edge
        out = {u for u in out if g.lo % u == 0}
    return tuple(u for u in UNITS if u in out)


def plan(lo: int, hi: int, frontier: Optional[int], units: Sequence[int],
         site: bool) -> list[Piece]:
    """Where to read [lo, hi) from: whole units below the frontier from rollups
    (coarsest first), the rest - partial edges and everything at or past the
    frontier - from raw points."""
    tiers = [t for t in (SITE_TIERS if site else SERIES_TIERS) if t.unit_us in units]
    mid = lo if frontier is None else max(lo, min(hi, frontier))
    pieces = _decompose(lo, mid, tiers) + ([Piece(mid, hi, None)] if mid < hi else [])
    out: list[Piece] = []
    for p in pieces:  # adjacent raw pieces read as one
        if out and p.tier is None and out[-1].tier is None and out[-1].hi == p.lo:
            out[-1] = Piece(out[-1].lo, p.hi, None)
        else:
            out.append(p)
    return out


def _decompose(lo: int, hi: int, tiers: list[Tier]) -> list[Piece]:
    if lo >= hi:
        return []
    if not tiers:
        return [Piece(lo, hi, None)]
    top = tiers[-1]
    a, b = ceil(lo, top.unit_us), floor(hi, top.unit_us)
    if a >= b:
        return _decompose(lo, hi, tiers[:-1])
    return _decompose(lo, a, tiers[:-1]) + [Piece(a, b, top)] + _decompose(b, hi, tiers[:-1])


def floor(t: int, unit: int) -> int:
    return t - t % unit


def ceil(t: int, unit: int) -> int:
    return -(-t // unit) * unit


def whole_units(a: int, b: int, unit: int) -> tuple[int, int]:
    """Units that end in (a, b]: the ones a frontier moving from a to b completes."""
    return floor(a, unit), floor(b, unit)


STEPS = (FIVE_MIN, 3 * FIVE_MIN, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY)


class StepSizer:
    """How far to move a frontier in one step: about ``aim_s`` of work, whatever
    the fleet size (doubled while steps are quick, halved when slow)."""

    def __init__(self, aim_s: float) -> None:
        self.aim_s = aim_s
        self._i = STEPS.index(HOUR)

    def next(self, f: int, target: int) -> int:
        step = STEPS[self._i]
        return min(target, floor(f, step) + step)

    def took(self, seconds: float) -> None:
        if seconds < self.aim_s / 2:
            self._i = min(self._i + 1, len(STEPS) - 1)
        elif seconds > 2 * self.aim_s:
            self.shrink()

    def shrink(self) -> bool:
        """A smaller step next time; False if it is already the smallest."""
        if self._i == 0:
            return False
        self._i -= 1
        return True


def frontier_target(newest: int, now: int) -> int:
    """How far rollups may go: whole 5-minute units ending GRACE before the newest
    data (ignoring data stamped in the future)."""
    return floor(min(newest, now + FUTURE_GUARD) - GRACE, FIVE_MIN)


def site_key(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k not in SITE_DROPS}


def site_usable(tags: Optional[dict[str, str]], group_by: Iterable[str]) -> bool:
    """Site tiers answer a query that neither filters nor groups by a rolled-away tag."""
    return not (SITE_DROPS & (set(tags or {}) | set(group_by)))


# ------------------------------------------------------------------ partials
# A partial is what one bucket (or piece of a bucket) contributes: the stats of
# STATS[agg] in order, or [time, value] for ``last``. Partials merge exactly.

def merge(a: list, b: list, agg: str) -> list:
    if agg == "last":
        return b if b[0] > a[0] else a
    return [_OPS[s](x, y) for s, x, y in zip(STATS[agg], a, b)]


def final(p: list, agg: str, ftype: Optional[str]) -> FieldValue:
    if agg == "last":
        return typed(p[1], ftype)
    if agg == "mean":
        return float(p[1]) / p[0]  # as InfluxDB: float64(sum) / count
    if agg == "count":
        return int(p[0])
    return typed(p[0], ftype)
