"""The simulator's model: deterministic, counters = integral of the rate, patterns."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotspot_monitor.config import load_config
from hotspot_monitor.simulator import Clock, Simulator
from hotspot_monitor.simulator.model import IDLE_BPS

ROOT = Path(__file__).resolve().parents[1]
WIB = timezone(timedelta(hours=7))


def at(*a: int) -> float:
    """Epoch seconds of a local (Asia/Jakarta) wall time."""
    return datetime(*a, tzinfo=WIB).timestamp()


@pytest.fixture(scope="module")
def cfg():
    return load_config(ROOT / "deploy" / "examples" / "surakarta.yaml")


@pytest.fixture(scope="module")
def sim(cfg):
    return Simulator(cfg, seed=1, clock=Clock(at(2026, 11, 25, 12, 0), speed=0))


def integrate(sim: Simulator, ap: str, t1: float, t2: float) -> float:
    """Bytes downloaded in [t1, t2] summed minute by minute (independent of the
    model's prefix sums): the rate is constant within each wall-clock minute."""
    total = 0.0
    t = t1
    while t < t2:
        step = min(60.0 - t % 60.0, t2 - t)
        total += sim.model.rate(ap, t + step / 2) * step
        t += step
    return total


def test_same_seed_same_fleet_and_values(cfg, sim) -> None:
    other = Simulator(cfg, seed=1)
    third = Simulator(cfg, seed=2)
    t = at(2026, 11, 22, 7, 3, 17)
    for ap in ("balekambang-1", "pasar-gede-1", "cfd-slamet-riyadi-3", "uns-4"):
        assert sim.state(ap, t) == other.state(ap, t)
    t0, t1 = at(2026, 10, 1), at(2026, 11, 1)
    assert sim.plan.events(t0, t1) == other.plan.events(t0, t1)
    assert len(sim.plan.events(t0, t1)) > 20
    assert sim.plan.events(t0, t1) != third.plan.events(t0, t1)
    assert [sim.state(a.id, t) for a in cfg.aps] != [third.state(a.id, t) for a in cfg.aps]


def test_counter_delta_is_integral_of_rate(sim) -> None:
    ap = "balekambang-2"  # UniFi, 64-bit counters; uplink eth0 "in" = 1.03 x downloads
    t1, t2 = at(2026, 11, 24, 17, 0, 10), at(2026, 11, 24, 19, 47, 55)
    assert sim.plan.last_boot(ap, t1) == sim.plan.last_boot(ap, t2), "pick a window without reboot"
    s1, s2 = sim.state(ap, t1), sim.state(ap, t2)
    expected = integrate(sim, ap, t1, t2) * 1.03
    assert abs((s2.counters["eth0"][0] - s1.counters["eth0"][0]) - expected) <= 2
    assert s2.uptime_s - s1.uptime_s == int(t2 - t1) or s2.uptime_s - s1.uptime_s == int(t2 - t1) + 1
    # Across several days (prefix sums x day factors) it still matches.
    t3 = at(2026, 11, 27, 9, 30)
    if sim.plan.last_boot(ap, t3) == sim.plan.last_boot(ap, t1):
        s3 = sim.state(ap, t3)
        assert abs((s3.counters["eth0"][0] - s1.counters["eth0"][0]) - integrate(sim, ap, t1, t3) * 1.03) <= 4


def test_daily_patterns(sim, cfg) -> None:
    cfd = [a.id for a in cfg.aps if a.site == "cfd-slamet-riyadi"]
    def total(aps, t):
        return sum(sum(sim.model.clients(a, t)) for a in aps)
    sunday_cfd = total(cfd, at(2026, 11, 22, 7, 30))
    wednesday_cfd = total(cfd, at(2026, 11, 18, 7, 30))
    assert sunday_cfd > 3 * wednesday_cfd > 0
    market = [a.id for a in cfg.aps if a.site == "pasar-klewer"]
    assert total(market, at(2026, 11, 18, 9, 0)) > 1.5 * total(market, at(2026, 11, 18, 15, 30))
    assert total(market, at(2026, 11, 18, 19, 0)) == 0  # closed after 17:00
    campus = [a.id for a in cfg.aps if a.site == "uns"]
    assert total(campus, at(2026, 11, 18, 11, 0)) > 3 * total(campus, at(2026, 11, 21, 11, 0))
    assert total(campus, at(2026, 11, 22, 11, 0)) == 0  # Sunday: closed
    park = [a.id for a in cfg.aps if a.site == "balekambang"]
    assert total(park, at(2026, 11, 18, 19, 0)) > 2 * total(park, at(2026, 11, 18, 10, 0))
    everyone = [a.id for a in cfg.aps]
    assert total(everyone, at(2026, 11, 18, 3, 0)) < 0.1 * total(everyone, at(2026, 11, 18, 19, 0))


def test_outside_service_hours_no_clients_but_up(sim) -> None:
    ap = "tc-gandekan-1"  # service 06:00-21:00
    t = at(2026, 11, 18, 23, 30)
    assert not sim.model.is_open(ap, t)
    assert sim.model.clients(ap, t) == (0, 0)
    assert sim.model.rate(ap, t) == pytest.approx(IDLE_BPS * sim.model.day_factor("tc-gandekan", sim.plan._local_day(t)))


def test_reboots_reset_uptime_and_counters(sim) -> None:
    ev = next(e for e in sim.plan.events(at(2026, 10, 1), at(2026, 11, 20))
              if e.kind == "reboot" and e.ap and sim.model.aps[e.ap].hc)
    before, after = sim.state(ev.ap, ev.start - 1), sim.state(ev.ap, ev.start + 120)
    assert sim.plan.down_reason(ev.ap, ev.start + 30) == "reboot"
    assert after.up and after.uptime_s == 120
    assert before.uptime_s > 120
    iface = next(iter(after.counters))
    assert after.counters[iface][0] < before.counters[iface][0]
    # Counters restart from zero: value = bytes since boot.
    factor = 1.03 if iface in ("eth0", "ether1") else None
    if factor:
        assert abs(after.counters[iface][0] - integrate(sim, ev.ap, ev.start, ev.start + 120) * factor) <= 1


def test_32bit_counters_wrap_within_hours(sim, cfg) -> None:
    small = [a.id for a in cfg.aps if not sim.model.aps[a.id].hc]
    assert small, "the demo fleet has APs with 32-bit counters only"
    wraps = 0
    for ap in small:
        t = at(2026, 11, 18, 6, 0)
        prev = sim.state(ap, t)
        while t < at(2026, 11, 18, 22, 0):
            t += 300
            cur = sim.state(ap, t)
            if sim.plan.down_reason(ap, t) is None and cur.uptime_s > prev.uptime_s:
                iface = "eth0"
                if cur.counters[iface][0] < prev.counters[iface][0]:
                    wraps += 1
                    # The wrapped delta is the integral of the rate, modulo 2^32.
                    exp = integrate(sim, ap, t - 300, t) * 1.03
                    assert abs((cur.counters[iface][0] - prev.counters[iface][0]) % 2**32 - exp) <= 2
            prev = cur
    assert wraps >= 1


def test_planned_outage_and_power_cut(sim) -> None:
    evs = sim.plan.events(at(2026, 10, 1), at(2026, 11, 20))
    out = next(e for e in evs if e.kind == "outage")
    assert sim.plan.down_reason(out.ap, (out.start + out.end) / 2) == "outage"
    assert not sim.state(out.ap, out.start + 1).up
    assert sim.plan.down_reason(out.ap, out.end) is None
    cut = next(e for e in evs if e.kind == "power_cut")
    for ap in sim.model.site_aps[cut.site]:
        assert sim.plan.down_reason(ap, cut.start + 1) == "power_cut"
        assert sim.plan.last_boot(ap, cut.end + 10) == cut.boot_at  # all reboot together
