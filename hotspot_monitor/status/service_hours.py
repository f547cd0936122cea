"""Service hours as UTC intervals, and the small interval algebra availability needs.

A site's opening window for a weekday is local wall-clock time in the config's
time zone; a window whose end is not after its start (``20:00-02:00``,
``00:00-24:00``) ends on the next day. Wall-clock times are converted with
``zoneinfo`` one day at a time, so DST changes (none in Asia/Jakarta, but the
code is general) shorten or lengthen that day's window exactly as a clock on
the wall would. A local time that does not exist (spring-forward gap) is read
with ``fold=0``, i.e. as the instant the offset before the change gives it.

Intervals are half-open ``(start_us, end_us)`` pairs of epoch microseconds.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Iterable, Optional

from ..config.models import ServiceHours
from ..sample import to_us

Interval = tuple[int, int]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union of the given intervals (empty ones dropped)."""
    out: list[Interval] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def intersect(xs: list[Interval], ys: list[Interval]) -> list[Interval]:
    """Intersection of two merged interval lists (linear merge)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        a = max(xs[i][0], ys[j][0])
        b = min(xs[i][1], ys[j][1])
        if a < b:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(xs: list[Interval], ys: list[Interval]) -> list[Interval]:
    """``xs`` minus ``ys`` (both merged lists)."""
    out: list[Interval] = []
    j = 0
    for a, b in xs:
        while j < len(ys) and ys[j][1] <= a:
            j += 1
        k, cur = j, a
        while k < len(ys) and ys[k][0] < b:
            if ys[k][0] > cur:
                out.append((cur, ys[k][0]))
            cur = max(cur, ys[k][1])
            k += 1
        if cur < b:
            out.append((cur, b))
    return out


def total(xs: Iterable[Interval]) -> int:
    return sum(b - a for a, b in xs)


def _local(d: date, t: time, tz: tzinfo) -> int:
    return to_us(datetime.combine(d, t).replace(tzinfo=tz, fold=0))


def service_intervals(hours: Optional[ServiceHours], tz: tzinfo,
                      start: datetime, end: datetime) -> list[Interval]:
    """The site's service time inside ``[start, end)`` as merged UTC intervals.

    ``hours`` None means the site is in service around the clock.
    """
    s, e = to_us(start), to_us(end)
    if e <= s:
        return []
    if hours is None:
        return [(s, e)]
    # Local dates whose windows can touch the range: one day before (a window
    # passing midnight) through the local date of ``end``.
    d = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    out: list[Interval] = []
    while d <= last:
        w = hours.window(d.weekday())
        if w is not None:
            open_t, close_t = w
            close_d = d if close_t > open_t else d + timedelta(days=1)
            a, b = _local(d, open_t, tz), _local(close_d, close_t, tz)
            a, b = max(a, s), min(b, e)
            if a < b:
                out.append((a, b))
        d += timedelta(days=1)
    return merge(out)
