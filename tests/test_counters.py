"""Counter math with hand-computed expectations (wraps, reboots, gaps, skew)."""
from collectors.counters import CounterTracker

M32 = 2**32
M64 = 2**64


def test_first_reading_is_only_a_baseline():
    c = CounterTracker()
    assert c.update("k", 1000, 0.0) is None
    d = c.update("k", 61000, 60.0)
    assert (d.bytes, d.kind) == (60000, "normal")
    assert d.bps == 60000 * 8 / 60  # 8000.0 bit/s


def test_32bit_wrap():
    c = CounterTracker()
    c.update("k", M32 - 1000, 0.0, bits=32)
    d = c.update("k", 500, 60.0, bits=32)
    # 1000 bytes up to the wrap, then 500 after it
    assert (d.bytes, d.kind) == (1500, "wrap")
    assert d.bps == 200.0


def test_64bit_values_and_wrap():
    c = CounterTracker()
    c.update("k", 2**63 + 5, 0.0)
    assert c.update("k", 2**63 + 5 + 123456789012, 60.0).bytes == 123456789012
    c.update("w", M64 - 100, 0.0)
    d = c.update("w", 50, 60.0)
    assert (d.bytes, d.kind) == (150, "wrap")


def test_64bit_drop_is_a_reset_not_a_wrap():
    c = CounterTracker()
    c.update("k", 10**12, 0.0)
    d = c.update("k", 4_000, 60.0)  # a wrap would be ~1.8e19 bytes in 60 s
    assert (d.bytes, d.kind) == (4_000, "reset")


def test_reboot_detected_from_uptime_counts_bytes_since_boot():
    c = CounterTracker()
    c.update("k", 900_000, 0.0, uptime_s=86_400)
    # rebooted 20 s ago; counter restarted at zero and now reads 7_000
    d = c.update("k", 7_000, 60.0, uptime_s=20)
    assert (d.bytes, d.kind) == (7_000, "reset")
    # forced reset (e.g. a counter discontinuity flag) even when the value grew
    c.update("j", 100, 0.0, uptime_s=500)
    d = c.update("j", 5_000, 60.0, uptime_s=30, reset=True)
    assert (d.bytes, d.kind) == (5_000, "reset")


def test_agent_restart_is_not_a_reboot():
    # snmpd restarted: sysUpTime went back, the kernel's counters went on
    c = CounterTracker()
    c.update("k", 7_000_000, 0.0, uptime_s=86_400)
    d = c.update("k", 7_060_000, 60.0, uptime_s=12, agent_uptime=True)
    assert (d.bytes, d.kind) == (60_000, "normal")
    assert c.stats["agent_restart"] == 1
    # a device's own uptime (MQTT telemetry) going back is a reboot even then
    c.update("m", 100, 0.0, uptime_s=500)
    d = c.update("m", 5_000, 60.0, uptime_s=30)
    assert (d.bytes, d.kind) == (5_000, "reset")


def test_redelivered_older_reading_never_counts_as_a_reboot():
    c = CounterTracker()
    c.update("k", 200, 30.0, uptime_s=30)
    # an older message: lower uptime, lower counter: not a reboot, ignored
    assert c.update("k", 100, 20.0, uptime_s=20) is None
    # the same reading again: ignored, no 0-byte interval over the stored one
    assert c.update("k", 200, 30.0, uptime_s=30) is None
    assert c.stats["out_of_order"] == 2
    assert c.update("k", 260, 90.0, uptime_s=90).bytes == 60


def test_gap_longer_than_limit_gives_no_interval_without_uptime_then_resumes():
    c = CounterTracker(max_gap_s=300)
    c.update("k", 0, 0.0)
    assert c.update("k", 10_000, 301.0) is None
    assert c.update("k", 10_600, 361.0).bytes == 600


def test_gap_keeps_exact_bytes_but_never_a_rate():
    c = CounterTracker(max_gap_s=300)
    c.update("k", 5_000, 0.0, uptime_s=100)
    # two hours later, no reboot (uptime went on): 64-bit bytes are exact
    d = c.update("k", 9_005_000, 7200.0, uptime_s=7300)
    assert (d.bytes, d.bps, d.kind) == (9_000_000, None, "gap")
    # rebooted during a gap: bytes since boot, no rate
    d = c.update("k", 42, 14400.0, uptime_s=60)
    assert (d.bytes, d.bps, d.kind) == (42, None, "reset")
    # 32-bit counters may have wrapped any number of times: baseline only
    c.update("w", 5_000, 0.0, bits=32, uptime_s=100)
    assert c.update("w", 9_000, 7200.0, bits=32, uptime_s=7300) is None
    assert c.stats["gap_counted"] == 1 and c.stats["gap_reset"] == 1 and c.stats["gap"] == 1


def test_snapshot_restore_carries_baselines_across_a_restart():
    import json
    c = CounterTracker()
    c.update(("ap1", "wlan0", "rx"), 1_000, 0.0, uptime_s=50)
    c.update("plain", 7, 0.0)
    saved = json.loads(json.dumps(c.snapshot()))  # as written to disk
    c2 = CounterTracker()
    assert c2.restore(saved) == 2
    d = c2.update(("ap1", "wlan0", "rx"), 61_000, 60.0, uptime_s=110)
    assert (d.bytes, d.kind) == (60_000, "normal")
    assert c2.update("plain", 9, 60.0).bytes == 2


def test_out_of_order_reading_is_ignored_and_never_double_counts():
    c = CounterTracker()
    c.update("k", 100, 1.0)
    assert c.update("k", 300, 3.0).bytes == 200
    assert c.update("k", 200, 2.0) is None  # late redelivery
    assert c.update("k", 400, 4.0).bytes == 100
    # total counted 300 == 400 - 100


def test_clock_step_back_counts_bytes_without_a_rate():
    c = CounterTracker()
    c.update("k", 100, 100.0)
    d = c.update("k", 250, 90.0)
    assert (d.bytes, d.bps, d.kind) == (150, None, "clock_back")
    assert c.update("k", 300, 150.0).bytes == 50


def test_out_of_range_values_are_refused():
    c = CounterTracker()
    assert c.update("k", M32, 0.0, bits=32) is None
    assert c.update("k", -1, 0.0) is None
    assert len(c) == 0
    assert c.stats["out_of_range"] == 2


def test_keys_are_independent():
    c = CounterTracker()
    c.update(("ap1", "eth0", "rx"), 10, 0.0)
    c.update(("ap2", "eth0", "rx"), 1000, 0.0)
    assert c.update(("ap1", "eth0", "rx"), 20, 60.0).bytes == 10
    assert c.update(("ap2", "eth0", "rx"), 1001, 60.0).bytes == 1
