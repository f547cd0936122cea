"""Counter math with hand-computed expectations (wraps, reboots, gaps, width
switches, uptime glitches), then a property-based model test against a device
model that knows the true bytes."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from collectors.counters import DEFAULT_LINK_BPS, CounterTracker, link_bps

M32 = 2**32
M64 = 2**64


def test_first_reading_is_only_a_baseline_then_bytes_rate_and_length():
    c = CounterTracker()
    assert c.update("k", 1000, 50, 0.0) is None
    d = c.update("k", 61000, 650, 60.0)
    assert (d.rx, d.tx, d.kind, d.seconds) == (60000, 600, "normal", 60.0)
    assert d.fields() == {"rx_bytes": 60000, "tx_bytes": 600, "interval_s": 60.0,
                          "rx_bps": 8000.0, "tx_bps": 80.0}


# -- issue 9, point 1: an uptime glitch is not a reboot ----------------------

def test_uptime_going_back_while_the_counter_went_on_is_not_billed_as_a_reboot():
    c = CounterTracker()
    c.update("k", 10_000_000_000, 5_000, 0.0, uptime_s=1000)
    d = c.update("k", 10_000_000_001, 5_000, 60.0, uptime_s=999)
    # before: 10,000,000,001 bytes, kind "reset"; the counter says one byte
    assert (d.rx, d.tx, d.kind) == (1, 0, "normal")


def test_snmp_agent_restart_counters_go_on():
    c = CounterTracker()
    c.update("k", 7_000_000, 1_000, 0.0, uptime_s=86_400)
    d = c.update("k", 7_060_000, 1_500, 60.0, uptime_s=12)  # snmpd respawned 12 s ago
    assert (d.rx, d.tx, d.kind) == (60_000, 500, "normal")


def test_reboot_needs_a_counter_drop_and_counts_bytes_since_boot():
    c = CounterTracker()
    c.update("k", 900_000, 80_000, 0.0, uptime_s=86_400)
    d = c.update("k", 7_000, 3_000, 60.0, uptime_s=20)  # booted 20 s ago, counters restarted
    assert (d.rx, d.tx, d.kind, d.seconds) == (7_000, 3_000, "reset", 20.0)
    # uptime shorter than the time since the previous reading is a boot too; a
    # counter that did not drop may have gone on (agent restart beside a wrap):
    # only its difference is sure
    c.update("j", 5_000, 5_000, 0.0, uptime_s=10)
    d = c.update("j", 2_000, 9_000, 60.0, uptime_s=30)
    assert (d.rx, d.tx, d.kind, d.seconds) == (2_000, 4_000, "reset", 60.0)


def test_bytes_since_boot_beyond_what_the_link_carries_are_not_counted():
    c = CounterTracker()
    c.update("k", 10**9, 10**9, 0.0, uptime_s=86_400, speed_bps=10e6)
    # "booted 10 s ago" but 500 MB since then on a 10 Mbit/s link (13.1 MB max)
    assert c.update("k", 500_000_000, 1_000, 60.0, uptime_s=10, speed_bps=10e6) is None
    assert c.stats["implausible"] == 1
    d = c.update("k", 500_060_000, 2_000, 120.0, uptime_s=70, speed_bps=10e6)
    assert (d.rx, d.tx) == (60_000, 1_000)  # the refused reading became the baseline


# -- issue 9, point 2: counter width switches ---------------------------------

def test_width_switch_starts_a_new_baseline_and_never_goes_negative():
    c = CounterTracker()
    v = 10_000_000_000
    assert c.update("k", v, v, 0.0, bits=64) is None
    # ifHC column came back empty: the poller fell back to ifInOctets
    assert c.update("k", v % M32 + 1000, v % M32 + 1000, 60.0, bits=32) is None
    d = c.update("k", v + 2000, v + 2000, 120.0, bits=64)
    # before: -4,294,966,296 then +8,589,935,592; now the 64-bit baseline goes on
    assert (d.rx, d.tx, d.seconds) == (2000, 2000, 120.0)
    assert c.stats["width_switch"] == 1 and c.stats["width_resumed"] == 1


def test_width_switch_that_counted_meanwhile_never_reuses_the_old_baseline():
    c = CounterTracker()
    v = 10_000_000_000
    c.update("k", v, v, 0.0, bits=64)
    c.update("k", v % M32 + 1000, v % M32, 60.0, bits=32)
    d = c.update("k", v % M32 + 1500, v % M32 + 100, 120.0, bits=32)
    assert (d.rx, d.tx) == (500, 100)
    # counting in 32 bit made the parked 64-bit baseline stale: new baseline only
    assert c.update("k", v + 3000, v + 3000, 180.0, bits=64) is None
    assert c.update("k", v + 3600, v + 3100, 240.0, bits=64).rx == 600


# -- issue 9, point 3: a 32-bit decrease is a wrap only if the link carries it --

def test_32bit_drop_beyond_the_link_speed_is_a_reset_not_a_wrap():
    c = CounterTracker()
    c.update("k", 100_000_000, 0, 0.0, bits=32, speed_bps=100e6)  # ifHighSpeed 100
    d = c.update("k", 5_000, 0, 60.0, bits=32, speed_bps=100e6)
    # a wrap would be 4,194,972,296 bytes in 60 s (559 Mbit/s) on a 100 Mbit/s port
    assert (d.rx, d.kind) == (5_000, "reset")
    # the same numbers on a gigabit port are a plausible wrap
    c.update("g", 100_000_000, 0, 0.0, bits=32, speed_bps=1e9)
    d = c.update("g", 5_000, 0, 60.0, bits=32, speed_bps=1e9)
    assert (d.rx, d.kind) == (4_194_972_296, "wrap")


def test_32bit_wrap_within_the_link_speed():
    c = CounterTracker()
    c.update("k", M32 - 1000, 10, 0.0, bits=32, speed_bps=100e6)
    d = c.update("k", 500, 20, 60.0, bits=32, speed_bps=100e6)
    assert (d.rx, d.tx, d.kind) == (1500, 10, "wrap")  # 1000 up to the wrap, 500 after
    assert d.fields()["rx_bps"] == 200.0


def test_link_bound_order_iface_then_backhaul_then_default():
    assert link_bps(1e9, 50) == 1e9
    assert link_bps(None, 50) == 50e6
    assert link_bps(0, None) == DEFAULT_LINK_BPS == 100e6
    # the default bound applies when the caller passes no speed
    c = CounterTracker()
    c.update("k", 100_000_000, 0, 0.0, bits=32)
    assert c.update("k", 5_000, 0, 60.0, bits=32).kind == "reset"


def test_64bit_drop_without_reboot_is_a_reset_not_a_wrap():
    c = CounterTracker()
    c.update("k", 10**12, 10**12, 0.0)
    d = c.update("k", 4_000, 10**12 + 5, 60.0)  # a wrap would be ~1.8e19 bytes
    assert (d.rx, d.tx, d.kind) == (4_000, 5, "reset")
    # even right below 2**64: a drop is a reset (no device lives to wrap 64 bits)
    c.update("w", M64 - 100, 0, 0.0)
    d = c.update("w", 50, 0, 60.0)
    assert (d.rx, d.kind) == (50, "reset")


def test_counter_discontinuity_time_change_starts_a_new_baseline():
    c = CounterTracker()
    c.update("k", 5_000, 5_000, 0.0, discontinuity=0)
    assert c.update("k", 9_000, 9_000, 60.0, discontinuity=4_200) is None
    assert c.stats["discontinuity"] == 1
    assert c.update("k", 9_500, 9_100, 120.0, discontinuity=4_200).rx == 500


# -- issue 9, point 4: each interval's length, for month apportioning ------------

def test_long_gap_across_a_month_boundary_keeps_bytes_and_the_interval_length():
    jkt = ZoneInfo("Asia/Jakarta")
    before = datetime(2026, 1, 31, 20, 0, tzinfo=jkt).timestamp()
    after = datetime(2026, 2, 1, 9, 0, tzinfo=jkt).timestamp()
    c = CounterTracker(max_gap_s=900)
    c.update("k", 1_000, 2_000, before, uptime_s=100_000)
    saved = json.loads(json.dumps(c.snapshot()))  # the service stopped cleanly
    c2 = CounterTracker(max_gap_s=900)
    assert c2.restore(saved) == 1
    d = c2.update("k", 4_601_000, 2_002_000, after, uptime_s=146_800)
    assert (d.rx, d.tx, d.kind, d.seconds) == (4_600_000, 2_000_000, "gap", 46_800.0)
    assert d.fields() == {"rx_bytes": 4_600_000, "tx_bytes": 2_000_000, "interval_s": 46_800.0}
    # 4 of the 13 hours were in January: a report apportions 4/13 of the bytes there


def test_gap_rules_for_32bit_and_reboots():
    c = CounterTracker(max_gap_s=300)
    # 32 bit over two hours at 100 Mbit/s could have wrapped many times: baseline only
    c.update("w", 5_000, 5_000, 0.0, bits=32, uptime_s=100)
    assert c.update("w", 9_000, 9_000, 7200.0, bits=32, uptime_s=7300) is None
    assert c.stats["gap"] == 1
    # ... but not on a 1 Mbit/s link (900 MB max in two hours): exact
    c.update("s", 5_000, 5_000, 0.0, bits=32, uptime_s=100, speed_bps=1e6)
    d = c.update("s", 9_000, 6_000, 7200.0, bits=32, uptime_s=7300, speed_bps=1e6)
    assert (d.rx, d.tx, d.kind, d.rated) == (4_000, 1_000, "gap", False)
    # rebooted during a gap: bytes since boot, no rate
    c.update("r", 9_000_000, 9_000_000, 0.0, uptime_s=100)
    d = c.update("r", 42, 43, 7200.0, uptime_s=60)
    assert (d.rx, d.tx, d.kind, d.rated, d.seconds) == (42, 43, "reset", False, 60.0)
    assert "rx_bps" not in d.fields()


def test_redelivered_and_out_of_order_readings_never_count_twice():
    c = CounterTracker()
    c.update("k", 200, 200, 30.0, uptime_s=30)
    assert c.update("k", 100, 100, 20.0, uptime_s=20) is None  # older message
    assert c.update("k", 200, 200, 30.0, uptime_s=30) is None  # the same again
    assert c.update("k", 150, 250, 25.0, uptime_s=25) is None  # older, any values
    assert c.stats["out_of_order"] == 3
    assert c.update("k", 260, 230, 90.0, uptime_s=90).rx == 60


def test_out_of_range_values_refuse_the_reading():
    c = CounterTracker()
    assert c.update("k", M32, 0, 0.0, bits=32) is None
    assert c.update("k", -1, 0, 0.0) is None
    assert c.update("k", 1, True, 0.0) is None
    assert len(c) == 0
    assert c.stats["out_of_range"] == 3


def test_snapshot_restore_and_old_snapshot_rows_are_skipped():
    c = CounterTracker()
    c.update(("ap1", "wlan0"), 1_000, 10, 0.0, uptime_s=50)
    saved = json.loads(json.dumps(c.snapshot()))
    c2 = CounterTracker()
    # a row of the previous format ([key, value, t, uptime]) is not understood: skipped
    assert c2.restore(saved + [[["ap1", "eth0", "rx"], 5, 0.0, None]]) == 1
    assert c2.stats["restore_skipped"] == 1
    d = c2.update(("ap1", "wlan0"), 61_000, 70, 60.0, uptime_s=110)
    assert (d.rx, d.tx) == (60_000, 60)


# -- the model test ----------------------------------------------------------------

@dataclass
class Step:
    dt: float
    rx: int  # true bytes carried in the step
    tx: int
    reboot_at: Optional[float]  # fraction of the step at which the device rebooted
    agent_restart_at: Optional[float]
    glitch_s: int  # uptime goes back by this much (an NTP step in ``now - boot``)
    as_32: bool  # a 64-bit device answered this reading from its 32-bit columns
    lost: bool  # the reading never arrived
    redeliver: int  # 0, or how many deliveries back the reading that arrives again after this one is
    swap: bool  # this reading arrives before the previous one


@st.composite
def scenarios(draw):
    native = draw(st.sampled_from([32, 64]))
    speed = draw(st.sampled_from([10e6, 100e6, 300e6, 1e9]))
    has_uptime = True if native == 32 else draw(st.booleans())
    max_gap = 900.0
    n = draw(st.integers(2, 40))
    steps = []
    for _ in range(n):
        gap = draw(st.integers(0, 9)) == 0
        dt = float(draw(st.integers(901, 7200) if gap else st.integers(20, 120)))
        most = int(speed * dt / 8)
        if native == 32 and not gap:
            most = min(most, M32 - 1)  # at most one wrap per poll interval (documented limit)
        rate = draw(st.sampled_from([0.0, 0.01, 0.5, 1.0]))
        steps.append(Step(
            dt=dt,
            rx=draw(st.integers(0, int(most * rate))),
            tx=draw(st.integers(0, int(most * rate))),
            reboot_at=draw(st.none() | st.floats(0.05, 0.95)) if draw(st.integers(0, 7)) == 0 else None,
            agent_restart_at=(draw(st.floats(0.05, 0.95)) if has_uptime and draw(st.integers(0, 7)) == 0
                              else None),
            glitch_s=draw(st.integers(1, 300)) if has_uptime and draw(st.integers(0, 9)) == 0 else 0,
            # a 32-bit reading without an uptime cannot tell a reboot from a wrap: only the
            # link-speed bound decides (docs/counters.md), so the model gives 32 bits an uptime
            as_32=native == 64 and has_uptime and draw(st.integers(0, 9)) == 0,
            lost=draw(st.integers(0, 9)) == 0,
            redeliver=draw(st.integers(1, 3)) if draw(st.integers(0, 9)) == 0 else 0,
            swap=draw(st.integers(0, 9)) == 0,
        ))
    near_top = st.integers(1, 2 * 10**9).map(lambda k: (1 << native) - k)  # wraps soon
    start_rx = draw(near_top | st.integers(0, (1 << native) - 1))
    start_tx = draw(near_top | st.integers(0, (1 << native) - 1))
    start_uptime = float(draw(st.integers(0, 10**7)))
    return native, speed, has_uptime, max_gap, steps, start_rx, start_tx, start_uptime


def _simulate(native, has_uptime, steps, start_rx, start_tx, start_uptime):
    """Readings (t, rx, tx, bits, uptime) and the true cumulative bytes at each."""
    t, boot, agent, offset = 1_000_000.0, 1_000_000.0 - start_uptime, 1_000_000.0 - start_uptime, 0.0
    crx, ctx = start_rx, start_tx  # the device's counters (bytes since boot, plus the start value)
    true_total = 0
    readings = [(t, crx % (1 << native), ctx % (1 << native), native,
                 (t - agent - offset) if has_uptime else None, true_total)]
    for s in steps:
        if s.reboot_at is not None:
            # part of the step's bytes went before the reboot, and are lost to the counter
            before_rx, before_tx = int(s.rx * s.reboot_at), int(s.tx * s.reboot_at)
            crx, ctx = s.rx - before_rx, s.tx - before_tx
            boot = agent = t + s.dt * s.reboot_at
            offset = 0.0
        else:
            crx += s.rx
            ctx += s.tx
            if s.agent_restart_at is not None:
                agent, offset = t + s.dt * s.agent_restart_at, 0.0
        t += s.dt
        true_total += s.rx + s.tx
        offset += s.glitch_s
        bits = 32 if s.as_32 else native
        up = max(0.0, t - agent - offset) if has_uptime else None
        readings.append((t, crx % (1 << bits), ctx % (1 << bits), bits, up, true_total))
    return readings


def _deliveries(readings, steps):
    order = [0]
    for i, s in enumerate(steps, start=1):
        if s.lost:
            continue
        if s.swap and len(order) > 1:
            order.insert(len(order) - 1, i)
        else:
            order.append(i)
        if s.redeliver:
            order.append(order[max(0, len(order) - s.redeliver)])
    return order


@settings(max_examples=3000, derandomize=True, deadline=None, database=None)
@given(scenarios())
def test_model_never_negative_never_more_than_true_exact_when_nothing_lost(sc):
    native, speed, has_uptime, max_gap, steps, start_rx, start_tx, start_uptime = sc
    readings = _simulate(native, has_uptime, steps, start_rx, start_tx, start_uptime)
    c = CounterTracker(max_gap_s=max_gap)
    counted = 0
    first_t = None
    newest = None
    for i in _deliveries(readings, steps):
        t, rx, tx, bits, up, _ = readings[i]
        d = c.update("k", rx, tx, t, bits=bits, uptime_s=up, speed_bps=speed)
        if first_t is None:
            first_t = i
        if newest is None or t > readings[newest][0]:
            newest = i
        if d is None:
            continue
        assert d.rx >= 0 and d.tx >= 0 and d.seconds > 0
        counted += d.rx + d.tx
        # never more than the device really carried between the first reading and this one
        assert counted <= readings[i][5] - readings[first_t][5]
    # a 64-bit counter that wraps is taken for a reset (counted short, by design)
    wraps64 = native == 64 and (start_rx + sum(s.rx for s in steps) >= M64
                                or start_tx + sum(s.tx for s in steps) >= M64)
    nothing_lost = (not any(s.reboot_at is not None or s.as_32 for s in steps)
                    and not wraps64
                    and (native == 64 or not any(
                        s.lost or s.swap or s.glitch_s or s.agent_restart_at is not None or s.dt > max_gap
                        for s in steps)))
    if nothing_lost:
        assert counted == readings[newest][5] - readings[first_t][5]
