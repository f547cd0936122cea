"""Property tests: the engine and availability against simple brute-force models.

* Single-source SNMP sequences: outages must be exactly the runs of at least
  ``down_after`` consecutive failures, from the run's first failure to the next
  success (a reference written independently of the engine).
* Availability: minute by minute brute force (is this local minute inside the
  service window? inside a session? inside an outage?) must equal the interval
  arithmetic, for random service hours including windows past midnight.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
import tempfile
from typing import Optional
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as S

from hotspot_monitor.config.models import WEEKDAYS, Config
from hotspot_monitor.status.availability import availability
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from test_status_engine import at, make_cfg, st


def reference_outages(ups: list[int], times: list[float], n: int) -> list[tuple[float, Optional[float]]]:
    out: list[tuple[float, Optional[float]]] = []
    run_start: Optional[float] = None
    run_len = 0
    down = False
    for up, t in zip(ups, times):
        if up:
            if down:
                out[-1] = (out[-1][0], t)
            down, run_start, run_len = False, None, 0
        else:
            if run_len == 0:
                run_start = t
            run_len += 1
            if not down and run_len >= n:
                assert run_start is not None
                out.append((run_start, None))
                down = True
    return out


@settings(max_examples=150, deadline=None)
@given(ups=S.lists(S.integers(0, 1), min_size=1, max_size=60),
       steps=S.lists(S.integers(1, 120), min_size=60, max_size=60),
       n=S.integers(1, 4))
def test_engine_matches_the_reference_for_one_source(ups: list[int], steps: list[int],
                                                     n: int) -> None:
    times, t = [], 0.0
    for i in range(len(ups)):
        t += steps[i] + 0.5 * (i % 2)
        times.append(t)
    eng = StatusEngine(make_cfg(down_after=n, max_gap_s=900))
    events = []
    for up, t in zip(ups, times):
        events += eng.observe(st("p1", up, t))
    expected = reference_outages(ups, times, n)
    downs = [e for e in events if e.fields["state"] == "down"]
    ups_ev = [e for e in events if e.fields["state"] == "up"]
    assert [e.time for e in downs] == [at(a) for a, _ in expected]
    assert [e.time for e in ups_ev] == [at(b) for _, b in expected if b is not None]
    for (a, b), e in zip([x for x in expected if x[1] is not None], ups_ev):
        assert e.fields["down_s"] == int((b - a) + 0.5)  # halves up; positive
    final = "down" if expected and expected[-1][1] is None else (
        "up" if any(ups) else "unknown")
    assert eng.ap("p1").state == final


JKT = ZoneInfo("Asia/Jakarta")
hhmm = S.tuples(S.integers(0, 23), S.sampled_from([0, 15, 30, 45]))


@S.composite
def service_hours(draw: S.DrawFn) -> dict[str, str]:
    out = {}
    for d in WEEKDAYS:
        if draw(S.booleans()) and draw(S.booleans()):
            out[d] = "closed"
            continue
        (h1, m1), (h2, m2) = draw(hhmm), draw(hhmm)
        out[d] = f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"
    return out


def in_window(hours: dict[str, str], lt: datetime) -> bool:
    """Brute force: is local minute ``lt`` inside today's or yesterday's window?"""
    def window(day: datetime) -> Optional[tuple[time, time]]:
        v = hours[WEEKDAYS[day.weekday()]]
        if v == "closed":
            return None
        a, b = v.split("-")
        return time.fromisoformat(a), time.fromisoformat(b)

    w = window(lt)
    tod = lt.time()
    if w is not None:
        a, b = w
        if (b > a and a <= tod < b) or (b <= a and tod >= a):
            return True
    y = window(lt - timedelta(days=1))
    if y is not None:
        a, b = y
        if b <= a and tod < b:
            return True
    return False


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hours=service_hours(),
       outages=S.lists(S.tuples(S.integers(0, 3 * 1440), S.integers(1, 1000)), max_size=4),
       gap=S.tuples(S.integers(0, 3 * 1440), S.integers(0, 600)),
       first_seen=S.integers(-100, 2000),
       blind=S.tuples(S.integers(0, 3 * 1440), S.integers(0, 600)),
       split=S.integers(0, 3 * 1440))
def test_availability_equals_minute_brute_force(hours: dict[str, str], outages: list,
                                                gap: tuple[int, int], first_seen: int,
                                                blind: tuple[int, int], split: int) -> None:
    base = datetime(2026, 10, 30, tzinfo=JKT)  # Friday, 3 days across the month end
    minute = timedelta(minutes=1)
    cfg = Config.model_validate({
        "timezone": "Asia/Jakarta",
        "sites": [{"id": "x", "name": "X", "lat": 0, "lon": 0, "service_hours": hours}],
        "aps": [{"id": "a", "site": "x"}],
    })
    with tempfile.TemporaryDirectory() as d:
        s = StateStore("sqlite:///p.sqlite", base_dir=Path(d))
        g0, glen = gap
        s.add_session(base - timedelta(days=1), base + g0 * minute)
        s.add_session(base + (g0 + glen) * minute, base + timedelta(days=5))
        s.save_ap_states([{"ap": "a", "site": "x", "state": "up",
                           "first_seen": base + first_seen * minute}])
        # observed from first sight on, except a stretch with no observations
        b0, blen = blind
        b0 = max(b0, first_seen + 1)
        s.add_coverage("a", base + first_seen * minute, base + b0 * minute)
        s.add_coverage("a", base + (b0 + blen) * minute, base + timedelta(days=5))
        ivs = []
        for i, (o0, olen) in enumerate(outages):
            end = None if i == len(outages) - 1 and olen > 900 else o0 + olen
            s.add_outage(ap="a", site="x", start=base + o0 * minute,
                         end=None if end is None else base + end * minute,
                         reason="snmp_timeout", source="snmp")
            ivs.append((o0, end if end is not None else 10**9))
        total = 3 * 1440
        res = availability(s, cfg, start=base, end=base + total * minute, ap="a")
        mon = down = 0
        for m in range(total):
            lt = base + m * minute
            if (not in_window(hours, lt) or g0 <= m < g0 + glen or m < first_seen
                    or b0 <= m < b0 + blen):
                continue
            mon += 60
            if any(a <= m < b for a, b in ivs):
                down += 60
        assert (res.monitored_s, res.downtime_s) == (mon, down)
        in_service = sum(60 for m in range(total) if in_window(hours, base + m * minute))
        assert (res.service_s, res.unmonitored_s) == (in_service, in_service - mon)
        p1 = availability(s, cfg, start=base, end=base + split * minute, ap="a")
        p2 = availability(s, cfg, start=base + split * minute, end=base + total * minute, ap="a")
        assert p1.monitored_s + p2.monitored_s == res.monitored_s
        assert p1.downtime_s + p2.downtime_s == res.downtime_s
        s.close()
