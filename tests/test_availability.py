"""Availability from the outage log, exact to the second, against a real SQLite
state DB. Every expectation below is computed by hand in the comments.

Calendar: 2026-10-30 is a Friday, 10-31 Saturday, 11-01 Sunday, 11-02 Monday.
Asia/Jakarta is UTC+7 all year.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotspot_monitor.config.models import Config, ServiceHours
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.availability import availability, availability_by_site
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.service_hours import intersect, merge, service_intervals, total
from hotspot_monitor.status.statestore import StateStore

JKT = ZoneInfo("Asia/Jakarta")
H = 3600


def L(m: int, d: int, h: int = 0, mi: int = 0, y: int = 2026) -> datetime:
    """Local Jakarta wall-clock time."""
    return datetime(y, m, d, h, mi, tzinfo=JKT)


CFG = Config.model_validate({
    "timezone": "Asia/Jakarta",
    "sites": [
        {"id": "park", "name": "Park", "lat": -7.5, "lon": 110.8,
         "service_hours": {"mon": "06:00-22:00", "tue": "06:00-22:00", "wed": "06:00-22:00",
                           "thu": "06:00-22:00", "fri": "06:00-22:00", "sat": "06:00-22:00",
                           "sun": "closed"}},
        {"id": "night", "name": "Night market", "lat": -7.5, "lon": 110.8,
         "service_hours": "20:00-02:00"},
        {"id": "always", "name": "Terminal", "lat": -7.5, "lon": 110.8},
    ],
    "aps": [
        {"id": "park-1", "site": "park"},
        {"id": "park-2", "site": "park"},
        {"id": "night-1", "site": "night"},
        {"id": "always-1", "site": "always"},
        {"id": "never-1", "site": "always"},
    ],
})

START, END = L(10, 30), L(11, 3)  # Fri 00:00 .. Tue 00:00 local, across the month end


@pytest.fixture
def store(tmp_path: Path):
    s = StateStore("sqlite:///state.sqlite", base_dir=tmp_path)
    # The service ran the whole time except a restart gap Sat 31 Oct 10:00-11:00.
    s.add_session(L(10, 29), L(10, 31, 10))
    s.add_session(L(10, 31, 11), L(11, 10))
    s.save_ap_states([
        {"ap": "park-1", "site": "park", "state": "down", "first_seen": L(10, 1)},
        {"ap": "park-2", "site": "park", "state": "up", "first_seen": L(10, 31, 12)},
        {"ap": "night-1", "site": "night", "state": "up", "first_seen": L(10, 1)},
        {"ap": "always-1", "site": "always", "state": "up", "first_seen": L(10, 1)},
    ])
    # Observed without a gap from first sight on (what the engine records as
    # coverage); never-1 was never observed.
    for ap, since in [("park-1", L(10, 1)), ("park-2", L(10, 31, 12)), ("night-1", L(10, 1)),
                      ("always-1", L(10, 1))]:
        s.add_coverage(ap, since, L(11, 10))
    add = s.add_outage
    # park-1 (Mon-Sat 06-22, Sunday closed)
    add(ap="park-1", site="park", start=L(10, 20, 8), end=L(10, 20, 9),   # before the range
        reason="snmp_timeout", source="snmp")
    add(ap="park-1", site="park", start=L(10, 29, 21), end=L(10, 30, 7, 30),  # began before START
        reason="snmp_timeout", source="snmp")
    add(ap="park-1", site="park", start=L(10, 30, 21, 30), end=L(10, 30, 22, 45),  # crosses 22:00
        reason="lwt_offline", source="mqtt")
    add(ap="park-1", site="park", start=L(10, 31, 9), end=L(10, 31, 12),  # across the restart gap
        reason="snmp_timeout", source="snmp")
    add(ap="park-1", site="park", start=L(10, 31, 21), end=L(11, 1, 8),  # midnight + month end
        reason="controller_reports_down", source="snmp")
    add(ap="park-1", site="park", start=L(11, 2, 20), end=None,  # still open at END
        reason="stale", source="mqtt")
    # park-2 (first seen Sat 12:00)
    add(ap="park-2", site="park", start=L(11, 1, 10), end=L(11, 1, 12),  # Sunday: closed
        reason="snmp_timeout", source="snmp")
    add(ap="park-2", site="park", start=L(11, 2, 5), end=L(11, 2, 6, 30),  # before opening
        reason="snmp_timeout", source="snmp")
    # night-1 (20:00-02:00 every day)
    add(ap="night-1", site="night", start=L(10, 31, 23, 30), end=L(11, 1, 1, 15),
        reason="snmp_timeout", source="snmp")
    add(ap="night-1", site="night", start=L(11, 1, 1, 45), end=L(11, 1, 3),
        reason="snmp_timeout", source="snmp")
    yield s
    s.close()


def test_one_ap_with_every_kind_of_boundary(store: StateStore) -> None:
    a = availability(store, CFG, start=START, end=END, ap="park-1")
    # service: Fri 16 h + Sat 16 h + Sun 0 + Mon 16 h = 48 h = 172800 s,
    # minus the restart gap Sat 10-11 (inside service hours): 169200 s.
    assert a.monitored_s == 169_200
    # downtime: Fri 06:00-07:30 (5400) + Fri 21:30-22:00 (1800)
    #   + Sat 09-10 and 11-12 (7200) + Sat 21-22 (3600; Sunday closed)
    #   + Mon 20-22 (7200, still open) = 25200
    assert a.downtime_s == 25_200
    assert a.availability_pct == pytest.approx(100 * 144_000 / 169_200, abs=1e-12)
    assert a.aps == 1
    listed = [(c.outage.start, c.outage.end, c.outage.duration_s, c.counted_s) for c in a.outages]
    assert listed == [
        (L(10, 29, 21), L(10, 30, 7, 30), 10.5 * H, 5400),
        (L(10, 30, 21, 30), L(10, 30, 22, 45), 4500, 1800),
        (L(10, 31, 9), L(10, 31, 12), 3 * H, 7200),
        (L(10, 31, 21), L(11, 1, 8), 11 * H, 3600),
        (L(11, 2, 20), None, None, 7200),
    ]
    assert sum(c.counted_s for c in a.outages) == a.downtime_s


def test_new_ap_closed_day_and_outage_before_opening(store: StateStore) -> None:
    a = availability(store, CFG, start=START, end=END, ap="park-2")
    # first seen Sat 12:00: Sat 12-22 (36000) + Sun closed + Mon 06-22 (57600)
    assert a.monitored_s == 93_600
    # Sunday outage counts 0; Mon 05:00-06:30 counts 06:00-06:30 = 1800
    assert a.downtime_s == 1_800
    assert [c.counted_s for c in a.outages] == [0, 1800]
    assert [c.outage.duration_s for c in a.outages] == [7200, 5400]


def test_service_hours_past_midnight(store: StateStore) -> None:
    a = availability(store, CFG, start=START, end=END, ap="night-1")
    # windows inside the range: Fri 00-02 (from Thu's window) 2 h, Fri 20-Sat 02 6 h,
    # Sat 20-Sun 02 6 h, Sun 20-Mon 02 6 h, Mon 20-24 (cut at END) 4 h = 24 h
    assert a.monitored_s == 86_400
    # Sat 23:30-Sun 01:15 (6300, all in service) + Sun 01:45-03:00 -> 01:45-02:00 (900)
    assert a.downtime_s == 7_200
    assert a.availability_pct == pytest.approx(100 * 79_200 / 86_400, abs=1e-12)


def test_site_and_fleet_are_ap_time_weighted(store: StateStore) -> None:
    site = availability(store, CFG, start=START, end=END, site="park")
    assert (site.aps, site.monitored_s, site.downtime_s) == (2, 169_200 + 93_600, 25_200 + 1_800)
    assert site.availability_pct == pytest.approx(100 * (262_800 - 27_000) / 262_800, abs=1e-12)
    fleet = availability(store, CFG, start=START, end=END)
    # always-1: no service hours: 96 h - the 1 h gap = 342000 s, no outages;
    # never-1 was never seen: 0 s.
    assert fleet.aps == 5
    assert fleet.monitored_s == 262_800 + 86_400 + 342_000
    assert fleet.downtime_s == 27_000 + 7_200
    assert len(fleet.outages) == 9  # the 20 Oct outage is outside the range


def test_by_site_in_one_pass_equals_site_by_site(store: StateStore) -> None:
    per = availability_by_site(store, CFG, start=START, end=END)
    assert set(per) == {"park", "night", "always"}
    # the hand-computed park figures above, now from the one-pass function
    assert (per["park"].aps, per["park"].monitored_s, per["park"].downtime_s) == (
        2, 169_200 + 93_600, 25_200 + 1_800)
    assert (per["always"].aps, per["always"].monitored_s, per["always"].downtime_s) == (2, 342_000, 0)
    for site, a in per.items():
        assert a == availability(store, CFG, start=START, end=END, site=site)


def test_never_seen_ap_and_unmonitored_ranges(store: StateStore) -> None:
    a = availability(store, CFG, start=START, end=END, ap="never-1")
    assert (a.monitored_s, a.downtime_s, a.availability_pct) == (0, 0, None)
    # a range entirely inside the restart gap: nothing monitored, nothing down
    a = availability(store, CFG, start=L(10, 31, 10, 15), end=L(10, 31, 10, 45), ap="park-1")
    assert (a.monitored_s, a.downtime_s, a.availability_pct) == (0, 0, None)
    assert [c.counted_s for c in a.outages] == [0]
    # a 15 minute range inside one outage and inside service hours: 0 %
    a = availability(store, CFG, start=L(10, 30, 7), end=L(10, 30, 7, 15), ap="park-1")
    assert (a.monitored_s, a.downtime_s, a.availability_pct) == (900, 900, 0.0)
    # an empty or inverted range
    a = availability(store, CFG, start=END, end=START, ap="park-1")
    assert (a.monitored_s, a.downtime_s) == (0, 0)


def test_open_outage_counts_only_until_monitoring_ends(tmp_path: Path) -> None:
    s = StateStore("sqlite:///s.sqlite", base_dir=tmp_path)
    s.add_session(L(11, 2, 0), L(11, 2, 12))  # service stopped at noon and never came back
    s.save_ap_states([{"ap": "always-1", "site": "always", "state": "down",
                       "first_seen": L(11, 1)}])
    s.add_coverage("always-1", L(11, 1), L(11, 3))  # e.g. imported: the session still cuts it
    s.add_outage(ap="always-1", site="always", start=L(11, 2, 11), end=None,
                 reason="snmp_timeout", source="snmp")
    a = availability(s, CFG, start=L(11, 2), end=L(11, 3), ap="always-1")
    assert (a.monitored_s, a.downtime_s) == (12 * H, 1 * H)
    s.close()


def test_whole_month_in_jakarta(store: StateStore) -> None:
    """November 2026 local time = 30 days; 30 Oct/1 Nov service split at the month end."""
    a = availability(store, CFG, start=L(11, 1), end=L(12, 1), ap="always-1")
    # always-1 is monitored all of November (the session runs until 10 Nov 00:00 local)
    assert a.monitored_s == 9 * 24 * H
    oct_ = availability(store, CFG, start=L(10, 1), end=L(11, 1), ap="park-1")
    # October, park-1 first seen 1 Oct 00:00, but monitoring (sessions) only from
    # 29 Oct 00:00 local: Thu 29 16 h + Fri 30 16 h + Sat 31 16 h - 1 h gap = 47 h
    assert oct_.monitored_s == 47 * H
    # Thu 21:00-22:00 (3600) + Fri 06:00-07:30 (5400) + Fri 21:30-22:00 (1800)
    #   + Sat 09-10, 11-12 (7200) + Sat 21:00-22:00 (3600) = 21600
    assert oct_.downtime_s == 21_600
    nov = availability(store, CFG, start=L(11, 1), end=L(11, 3), ap="park-1")
    # Sun closed, Mon 06-22 = 16 h; open outage from Mon 20:00: 2 h
    assert (nov.monitored_s, nov.downtime_s) == (16 * H, 2 * H)
    # the split is exact: Oct 30-31 + Nov 1-2 = the 4-day range
    both = availability(store, CFG, start=START, end=END, ap="park-1")
    part = availability(store, CFG, start=START, end=L(11, 1), ap="park-1")
    assert part.monitored_s + nov.monitored_s == both.monitored_s
    assert part.downtime_s + nov.downtime_s == both.downtime_s


def test_service_intervals_are_tz_correct_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    allday = ServiceHours.model_validate({d: "00:00-24:00" for d in
                                          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    # Sunday 29 March 2026: clocks go 02:00 -> 03:00, the local day is 23 h
    day = service_intervals(allday, berlin, datetime(2026, 3, 29, tzinfo=berlin),
                            datetime(2026, 3, 30, tzinfo=berlin))
    assert total(day) == 23 * H * 10**6
    # Sunday 25 October 2026: 02:00 -> 01:00 again, the local day is 25 h
    day = service_intervals(allday, berlin, datetime(2026, 10, 25, tzinfo=berlin),
                            datetime(2026, 10, 26, tzinfo=berlin))
    assert total(day) == 25 * H * 10**6
    # 02:30 does not exist on 29 March: read with fold=0 (CET), 01:30 UTC;
    # 04:00 CEST is 02:00 UTC: the window is 30 minutes
    odd = ServiceHours.model_validate({"sun": "02:30-04:00"})
    w = service_intervals(odd, berlin, datetime(2026, 3, 28, tzinfo=timezone.utc),
                          datetime(2026, 3, 31, tzinfo=timezone.utc))
    assert total(w) == 30 * 60 * 10**6
    # a window that passes midnight and overlaps the next day's window merges
    overl = ServiceHours.model_validate({"mon": "20:00-03:00", "tue": "01:00-05:00"})
    w = service_intervals(overl, JKT, L(11, 2), L(11, 4))
    assert total(w) == 9 * H * 10**6 and len(w) == 1


def test_interval_algebra() -> None:
    assert merge([(5, 7), (1, 3), (2, 4), (7, 8), (9, 9)]) == [(1, 4), (5, 8)]
    assert intersect([(0, 10), (20, 30)], [(5, 25)]) == [(5, 10), (20, 25)]
    assert intersect([], [(0, 1)]) == []


def test_engine_to_availability_end_to_end(tmp_path: Path) -> None:
    """Observations through the engine, then availability from what it logged."""
    s = StateStore("sqlite:///e2e.sqlite", base_dir=tmp_path)
    eng = StatusEngine(CFG, s)
    t0 = L(11, 2, 5)  # Monday 05:00 local; park opens at 06:00
    eng.start(t0)

    def obs(minute: int, up: int) -> None:
        f = {"up": up} if up else {"up": 0, "reason": "snmp_timeout"}
        eng.observe(Sample("ap_status", {"site": "park", "ap": "park-1", "source": "snmp"},
                           f, t0 + timedelta(minutes=minute)))

    # polls every minute from 05:00; failing 05:50..06:09 (20 polls), ok from 06:10
    for m in range(0, 120):
        obs(m, 0 if 50 <= m < 70 else 1)
    eng.stop(t0 + timedelta(minutes=120))  # 07:00
    [o] = s.outages()
    assert (o.start, o.end, o.duration_s) == (L(11, 2, 5, 50), L(11, 2, 6, 10), 1200.0)
    a = availability(s, CFG, start=L(11, 2), end=L(11, 3), ap="park-1")
    # monitored: observed 05:00-06:59 (the last poll; the minute until the stop
    # at 07:00 saw nothing) in service hours 06:00-22:00 -> 06:00-06:59
    assert (a.monitored_s, a.downtime_s) == (3540, 600)
    assert a.outages[0].counted_s == 600
    s.close()


def test_restart_gap_is_unmonitored_not_downtime(tmp_path: Path) -> None:
    """An outage open across a restart keeps its full duration in the log, but
    the time the service was not running counts neither as up nor as down."""
    s = StateStore("sqlite:///gap.sqlite", base_dir=tmp_path)
    t0 = L(11, 2, 10)  # always-1's site has no service hours

    def obs(sec: float, up: int) -> list[Sample]:
        f = {"up": up} if up else {"up": 0, "reason": "snmp_timeout"}
        return eng.observe(Sample("ap_status", {"site": "always", "ap": "always-1",
                                                "source": "snmp"}, f, t0 + timedelta(seconds=sec)))

    eng = StatusEngine(CFG, s)
    eng.start(t0)
    for sec, up in [(0, 1), (60, 0), (120, 0), (180, 0)]:
        obs(sec, up)
    eng.stop(t0 + timedelta(seconds=200))  # down since +60, service stops at +200
    eng = StatusEngine(CFG, s)  # back after 30 minutes
    eng.start(t0 + timedelta(seconds=2000))
    assert obs(2000, 0) == []
    [ev] = obs(2100, 1)
    assert ev.fields["down_s"] == 2040
    eng.stop(t0 + timedelta(seconds=2400))
    [o] = s.outages()
    assert (o.start, o.end, o.duration_s) == (t0 + timedelta(seconds=60),
                                              t0 + timedelta(seconds=2100), 2040.0)
    a = availability(s, CFG, start=L(11, 2), end=L(11, 3), ap="always-1")
    # observed [0, 180] (the gap to 2000 is longer than max_gap_s 900: not
    # monitored) and [2000, 2100] (nothing after the last observation): 280 s;
    # down [60, 180] + [2000, 2100] = 220 s
    assert (a.monitored_s, a.downtime_s) == (280, 220)
    assert a.outages[0].counted_s == 220
    assert a.availability_pct == pytest.approx(100 * 60 / 280, abs=1e-12)
    s.close()
