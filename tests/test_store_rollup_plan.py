"""Where a read comes from: whole units below the frontier from rollups, the rest raw.

Pieces and units below are worked out by hand from the calendar.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hotspot_monitor.sample import to_us
from hotspot_monitor.stores.rollups import DAY, FIVE_MIN, HOUR, plan, usable_units

UTC = timezone.utc
D = datetime(2026, 10, 5, tzinfo=UTC)


def us(**kw) -> int:
    return to_us(D + timedelta(**kw))


def pieces(lo: int, hi: int, frontier, units, site=False) -> list[tuple[int, int, str]]:
    return [(p.lo, p.hi, p.tier.name if p.tier else "raw")
            for p in plan(lo, hi, frontier, units, site)]


ALL = (FIVE_MIN, HOUR, DAY)


def test_coarsest_units_in_the_middle_raw_at_the_edges() -> None:
    lo, hi = us(hours=22, minutes=57), us(days=2, hours=1, minutes=7, seconds=30)
    assert pieces(lo, hi, us(days=9), ALL) == [
        (lo, us(hours=23), "raw"),                         # 22:57 - 23:00
        (us(hours=23), us(days=1), "1h"),                  # 23:00 - 24:00
        (us(days=1), us(days=2), "1d"),                    # one whole day
        (us(days=2), us(days=2, hours=1), "1h"),
        (us(days=2, hours=1), us(days=2, hours=1, minutes=5), "5m"),
        (us(days=2, hours=1, minutes=5), hi, "raw"),       # 01:05 - 01:07:30
    ]
    assert [p[2] for p in pieces(lo, hi, us(days=9), ALL, site=True)] == \
        ["raw", "site_1h", "site_1d", "site_1h", "site_5m", "raw"]


def test_nothing_rolled_at_or_past_the_frontier() -> None:
    lo, hi = us(hours=1), us(hours=5)
    assert pieces(lo, hi, us(hours=3, minutes=20), ALL) == [
        (lo, us(hours=3), "1h"), (us(hours=3), us(hours=3, minutes=20), "5m"),
        (us(hours=3, minutes=20), hi, "raw")]
    assert pieces(lo, hi, None, ALL) == [(lo, hi, "raw")]  # never rolled up
    assert pieces(lo, hi, lo, ALL) == [(lo, hi, "raw")]


def test_units_no_bucket_edge_cuts() -> None:
    lo, hi = us(), us(days=30)
    assert usable_units(lo, hi, timedelta(days=1), None) == ALL
    assert usable_units(lo, hi, timedelta(days=1), "Asia/Jakarta") == (FIVE_MIN, HOUR)  # UTC+7
    assert usable_units(lo, hi, timedelta(days=1), "Asia/Kolkata") == (FIVE_MIN,)  # UTC+5:30
    assert usable_units(lo, hi, timedelta(hours=1), "Asia/Kolkata") == (FIVE_MIN, HOUR)
    assert usable_units(lo, hi, timedelta(minutes=7), None) == ()
    # one bucket (or totals): any unit, edges are read raw
    assert usable_units(us(minutes=3), us(minutes=50), timedelta(hours=1), None) == ALL
    # Berlin across the spring DST change: midnights at 23:00 and 22:00 UTC
    berlin = to_us(datetime(2026, 3, 27, 23, tzinfo=UTC)), to_us(datetime(2026, 3, 31, 22, tzinfo=UTC))
    assert usable_units(*berlin, timedelta(days=1), "Europe/Berlin") == (FIVE_MIN, HOUR)
