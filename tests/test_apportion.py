"""Month apportioning of interval bytes, hand-computed."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hotspot_monitor.reports.apportion import bytes_before, share

JKT = ZoneInfo("Asia/Jakarta")
FEB = datetime(2026, 2, 1, 0, 0, tzinfo=JKT)
MAR = datetime(2026, 3, 1, 0, 0, tzinfo=JKT)
JAN = datetime(2026, 1, 1, 0, 0, tzinfo=JKT)


def test_gap_across_the_month_boundary_is_shared_by_time():
    # service down 31 Jan 20:00 to 1 Feb 09:00 local: 13 h, 4 of them in January
    end = datetime(2026, 2, 1, 9, 0, tzinfo=JKT)
    n = 4_600_000
    jan = share(n, end, 13 * 3600.0, JAN, FEB)
    feb = share(n, end, 13 * 3600.0, FEB, MAR)
    assert jan == 1_415_385  # 4,600,000 x 4/13 = 1,415,384.6 -> 1,415,385
    assert feb == 3_184_615
    assert jan + feb == n


def test_interval_inside_one_month_is_not_split_and_boundaries_are_exact():
    end = datetime(2026, 2, 10, 12, 0, tzinfo=JKT)
    assert share(999, end, 60.0, FEB, MAR) == 999
    assert share(999, end, 60.0, JAN, FEB) == 0
    # an interval that ends exactly on the boundary belongs wholly to the month before
    assert share(600, FEB, 60.0, JAN, FEB) == 600
    assert share(600, FEB, 60.0, FEB, MAR) == 0
    # one that starts exactly on it wholly to the month after
    assert share(600, FEB + timedelta(seconds=60), 60.0, FEB, MAR) == 600


def test_shares_over_many_months_always_add_up():
    end = datetime(2026, 3, 2, 0, 0, tzinfo=JKT)
    length = (end - datetime(2026, 1, 30, 0, 0, tzinfo=JKT)).total_seconds()  # 31 days
    n = 10**12 + 7
    parts = [share(n, end, length, a, b) for a, b in
             ((datetime(2025, 12, 1, tzinfo=JKT), JAN), (JAN, FEB), (FEB, MAR),
              (MAR, datetime(2026, 4, 1, tzinfo=JKT)))]
    assert parts[0] == 0
    assert sum(parts) == n
    # January: 2 of 31 days, February 28, March 1
    assert parts[1] == round(n * 2 / 31)
    assert parts[2] == round(n * 28 / 31)
    assert bytes_before(n, end, length, FEB) == parts[1]
