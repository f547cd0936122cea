"""The handling function without a broker: topic mapping, collectd details,
staleness, dead-letter rotation, and property-based robustness (hypothesis)."""
from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from collectors.mqtt.deadletter import DeadLetterLog
from collectors.mqtt.handler import MessageHandler
from collectors.mqtt.telemetry import TelemetryV1, encode_telemetry
from collectors.mqtt.topics import TopicError, TopicMapper
from services.mosquitto import mqtt_config

P = "hs"
NOW = datetime(2026, 11, 26, 6, 0, 0, tzinfo=timezone.utc)
T = NOW.timestamp()


def _cfg():
    return mqtt_config(1883, P, subscriptions=[
        {"topic": f"{P}/+/+/telemetry", "format": "json"},
        {"topic": f"{P}/+/+/status", "format": "presence"},
        {"topic": "cd/#", "format": "collectd", "store_rates": True},
        {"topic": "$share/g/raw/#", "format": "collectd", "store_rates": False},
    ], heartbeat_timeout_s=300)


def _at(s: float) -> datetime:
    return datetime.fromtimestamp(s, timezone.utc)


def test_topic_mapper_routes():
    m = TopicMapper(_cfg().mqtt.subscriptions, _cfg().aps)
    r = m.route(f"{P}/balekambang/ap-bk-1/telemetry")
    assert (r.format, r.site, r.ap, r.site_mismatch) == ("json", "balekambang", "bk-1", False)
    r = m.route(f"{P}/wrong-site/bk-2/status")
    assert (r.format, r.site, r.ap, r.site_mismatch) == ("presence", "balekambang", "bk-2", True)
    r = m.route("cd/pg1-host/interface-eth0/if_octets")
    assert (r.format, r.ap, r.kind, r.store_rates) == ("collectd", "pg-1", "interface-eth0/if_octets", True)
    r = m.route("raw/pg1-host/interface-eth0/if_octets")  # via the $share/ subscription
    assert (r.ap, r.store_rates) == ("pg-1", False)
    assert m.route(f"{P}/x/nobody/telemetry").ap is None
    for bad, reason in (("other/a/b/c", "unmatched_topic"), (f"{P}//bk-2/telemetry", "bad_topic")):
        try:
            m.route(bad)
            raise AssertionError("no error")
        except TopicError as e:
            assert e.reason == reason


def test_collectd_rates_stations_memory_cpu():
    h = MessageHandler(_cfg())
    t = "cd/pg1-host/"
    out = []
    for topic, payload, dt in [
        ("interface-eth0/if_octets", b"%.3f:nan:nan\0", 0),
        ("interface-eth0/if_octets", b"%.3f:1000.5:250\0", 10),  # 10 s later: 10005 B, 2500 B
        ("iwinfo-wlan0/stations", b"%.3f:4\0", 10),
        ("iwinfo-wlan1/stations", b"%.3f:9\0", 10),
        ("memory/memory-used", b"%.3f:250\0", 10),
        ("memory/memory-free", b"%.3f:750\0", 10),
        ("memory/memory-used", b"%.3f:500\0", 20),  # new reading flushes the first: 25%
        ("memory/memory-free", b"%.3f:500\0", 20),  # kinds now known: 50% at once
        ("cpu/percent-idle", b"%.3f:80\0", 20),
        ("interface-eth0/if_packets", b"%.3f:1:2\0", 20),
        ("interface-eth0/if_octets", b"%.3f:1000.5:250\0", 10),  # a redelivery (older)
        ("mystery/thing", b"%.3f:1\0", 20),
    ]:
        out += h.handle(t + topic, payload % (T + dt), NOW)
    got = [(s.measurement, s.tags.get("iface") or s.tags.get("radio"), dict(s.fields), s.time) for s in out]
    assert got == [
        ("ap_traffic", "eth0", {"rx_bytes": 10005, "tx_bytes": 2500, "interval_s": 10.0,
                                "rx_bps": 8004.0, "tx_bps": 2000.0}, _at(T + 10)),
        ("ap_clients", "all", {"clients": 4}, _at(T + 10)),
        ("ap_clients", "all", {"clients": 13}, _at(T + 10)),
        ("ap_system", None, {"mem_pct": 25.0}, _at(T + 10)),
        ("ap_system", None, {"mem_pct": 50.0}, _at(T + 20)),
        ("ap_system", None, {"cpu_pct": 20.0}, _at(T + 20)),
    ]
    assert h.stats["ignored"] == 1 and h.stats["duplicate"] == 1 and h.stats["unknown_metric"] == 1
    assert h.stats["rejected"] == 1


def test_collectd_raw_counters_use_counter_tracker():
    h = MessageHandler(_cfg())
    a = h.handle("raw/pg1-host/interface-eth0/if_octets", b"%.3f:100:200\0" % T, NOW)
    b = h.handle("raw/pg1-host/interface-eth0/if_octets", b"%.3f:1100:1200\0" % (T + 4), NOW)
    gap = h.handle("raw/pg1-host/interface-eth0/if_octets", b"%.3f:5100:5200\0" % (T + 1000), NOW)
    assert a == []  # baseline
    assert [dict(s.fields) for s in b] == [{"rx_bytes": 1000, "tx_bytes": 1000, "interval_s": 4.0,
                                            "rx_bps": 2000.0, "tx_bps": 2000.0}]
    # a gap > max_gap_s (900): 64-bit bytes stay exact, but no rate over 996 s
    assert [dict(s.fields) for s in gap] == [{"rx_bytes": 4000, "tx_bytes": 4000, "interval_s": 996.0}]


def test_clock_skew_rule():
    h = MessageHandler(_cfg())
    top = f"{P}/balekambang/bk-2/telemetry"
    cases = [(T - 7 * 86400 + 60, False), (T - 7 * 86400 - 60, True), (T + 290, False), (T + 310, True)]
    for ts, skewed in cases:
        [status] = h.handle(top, encode_telemetry(TelemetryV1(ts=ts)), NOW)
        assert status.time == (NOW if skewed else _at(ts))
    assert h.stats["clock_skew"] == 2


def test_stale_aps():
    h = MessageHandler(_cfg())
    since = NOW
    h.handle(f"{P}/balekambang/bk-2/telemetry", encode_telemetry(TelemetryV1(ts=T)), NOW)
    assert h.stale_aps(NOW + timedelta(seconds=299), since) == {}
    # bk-2 heard 301 s ago; bk-1 and pg-1 have an mqtt_id and were never heard
    assert h.stale_aps(NOW + timedelta(seconds=301), since) == {"bk-1": None, "bk-2": NOW, "pg-1": None}


def test_dead_letter_rotation(tmp_path):
    d = DeadLetterLog(tmp_path / "dl.jsonl", max_bytes=2000)
    for i in range(40):
        d.append(NOW, f"t/{i}", "malformed", "x", b"\x00" * 100)
    size = (tmp_path / "dl.jsonl").stat().st_size
    assert size <= 2000 and (tmp_path / "dl.jsonl.1").stat().st_size <= 2000
    last = json.loads((tmp_path / "dl.jsonl").read_text().splitlines()[-1])
    assert last["topic"] == "t/39" and last["size"] == 100
    assert d.written == 40


topics = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from([P, "cd", "raw", "balekambang", "ap-bk-1", "pg1-host", "bk-2", "telemetry",
                              "status", "interface-lo", "if_octets", "memory", "memory-used", "load",
                              "iwinfo-wlan0", "stations", "", "+", "#", "\x00", "é"]),
             max_size=6).map("/".join),
)
payloads = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda ts, vs: (f"{ts}:" + ":".join(vs)).encode() + b"\0",
              st.floats(allow_nan=True), st.lists(st.sampled_from(["nan", "U", "1", "-5", "1e400", "x", ""]),
                                                 max_size=4)),
    st.dictionaries(st.sampled_from(["v", "ts", "uptime_s", "clients", "ifaces", "cpu_pct", "temp_c"]),
                    st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.none(),
                              st.dictionaries(st.text(max_size=6), st.integers(-10, 2**65), max_size=3)),
                    max_size=6).map(lambda d: json.dumps(d).encode()),
    st.sampled_from([b"online", b"offline", b"", b" ONLINE\n"]),
)


@settings(max_examples=600, deadline=None)
@given(topic=topics, payload=payloads)
def test_arbitrary_messages_never_raise(topic, payload):
    h = MessageHandler(_cfg())
    out = h.handle(topic, payload, NOW)
    s = h.stats
    assert s["received"] == 1
    assert s["samples"] == len(out)
    reasons = ("malformed", "out_of_range", "unknown_ap", "unknown_metric", "unmatched_topic", "bad_topic",
               "internal_error")
    assert s["rejected"] == sum(s[r] for r in reasons)
    assert s["internal_error"] == 0  # no parser bug reached the safety net
    for smp in out:
        for v in smp.fields.values():
            assert not (isinstance(v, float) and not math.isfinite(v))


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=300))
def test_garbage_json_payload_is_counted(payload):
    h = MessageHandler(_cfg())
    out = h.handle(f"{P}/balekambang/ap-bk-1/telemetry", payload, NOW)
    try:
        json.loads(payload)
        return  # (some random bytes are valid JSON; not this test's business)
    except ValueError:
        pass
    assert out == [] and h.stats["malformed"] == 1 and h.stats["rejected"] == 1
