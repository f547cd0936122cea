"""Hostile MQTT input against a real Mosquitto: a flood of random device ids,
oversized payloads (ours and the broker's limit), too many interfaces, and one
inventory AP flooding its own topic. The collector stays bounded in memory,
counts every rejected message by reason, and every good AP's data arrives
intact and exactly once."""
from __future__ import annotations

import json
import os
import random
import time

from collectors.mqtt import MqttCollector
from collectors.mqtt.broker import start_mosquitto
from collectors.mqtt.telemetry import TelemetryV1, encode_telemetry, telemetry_topic
from services.mosquitto import SITES, SampleSink, mqtt_config, publish, publisher
from services.ports import free_port

FLOOD = 100_000  # random device ids, QoS 0
GOOD_APS = 20
GOOD_MSGS = 30  # per good AP, QoS 1, interleaved with the flood
MAX_UNKNOWN = 1000
PAYLOAD_CAP = 4096
BURST = 100


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_flood_of_unknown_ids_and_oversized_payloads_leaves_good_data_intact(tmp_path, mqtt_prefix):
    port = free_port()
    broker = start_mosquitto(port, tmp_path / "mq", extra=["max_packet_size 66000"])
    aps = [{"id": f"g-{i}", "site": "balekambang", "mqtt_id": f"g-{i}"} for i in range(GOOD_APS)]
    aps.append({"id": "noisy", "site": "pasar-gede", "mqtt_id": "noisy"})
    cfg = mqtt_config(port, mqtt_prefix, aps=aps, limits={
        "max_payload_bytes": PAYLOAD_CAP, "max_ifaces": 8, "max_radios": 4,
        "max_unknown_devices": MAX_UNKNOWN, "device_rate_per_s": 1.0, "device_burst": BURST})
    sink = SampleSink()
    c = MqttCollector(cfg, on_samples=sink, dead_letter_path=tmp_path / "dead.jsonl")
    c.start()
    try:
        assert c.wait_connected(10)
        rss0 = rss_mb()
        flood = publisher(port)
        good = publisher(port, client_id=f"good-{mqtt_prefix}")
        T0 = float(int(time.time()) - 3600)
        rnd = random.Random(14)
        small = b'{"v":1,"ts":1}'
        sent_good = {}
        t_start = time.monotonic()
        for k in range(FLOOD):
            dev = f"{rnd.getrandbits(64):016x}"
            flood.publish(f"{mqtt_prefix}/{SITES[0]['id']}/{dev}/telemetry", small, qos=0)
            if k % (FLOOD // GOOD_MSGS) == 0:  # good data interleaved with the flood
                n = k // (FLOOD // GOOD_MSGS)
                for i in range(GOOD_APS):
                    ts = T0 + 60 * n
                    publish(good, telemetry_topic(mqtt_prefix, "balekambang", f"g-{i}"),
                            encode_telemetry(TelemetryV1(ts=ts, clients={"5GHz": i * 100 + n})))
                    sent_good[(f"g-{i}", ts)] = i * 100 + n
        # oversized for us (cut by the collector) and for the broker (refused there)
        big = json.dumps({"v": 1, "ts": T0, "pad": "x" * (PAYLOAD_CAP * 2)}).encode()
        for _ in range(5):
            publish(good, telemetry_topic(mqtt_prefix, "balekambang", "g-0"), big)
        too_many = encode_telemetry(TelemetryV1(ts=T0 + 7, ifaces={
            f"eth{j}": {"rx_bytes": 1, "tx_bytes": 1} for j in range(20)}))
        publish(good, telemetry_topic(mqtt_prefix, "balekambang", "g-1"), too_many)
        huge = publisher(port)
        huge.publish(telemetry_topic(mqtt_prefix, "balekambang", "g-2"), b"y" * 200_000, qos=0)
        # an inventory AP flooding its own topic: rate limited after its burst
        for n in range(1000):
            publish(good, telemetry_topic(mqtt_prefix, "pasar-gede", "noisy"),
                    encode_telemetry(TelemetryV1(ts=T0 + n, clients={"5GHz": 1})))
        published_s = time.monotonic() - t_start

        expected_received = FLOOD + len(sent_good) + 5 + 1 + 1000
        deadline = time.monotonic() + 60
        while c.stats["received"] < expected_received and time.monotonic() < deadline:
            time.sleep(0.1)
        st = c.stats
        assert st["received"] == expected_received, (st, published_s)
        # good data: every message once, with its own value
        got = {(s.tags["ap"], s.time.timestamp()): s.fields["clients"]
               for s in sink.of("ap_clients", radio="5GHz") if s.tags["ap"].startswith("g-")}
        assert got == sent_good
        assert len(sink.of("ap_clients", radio="5GHz")) == len(sent_good) + BURST
        # hostile input counted by reason, memory bounded
        assert st["unknown_ap"] == FLOOD
        assert len(c.unknown_aps()) == MAX_UNKNOWN
        assert st["unknown_untracked"] == FLOOD - MAX_UNKNOWN
        assert st["too_large"] == 5
        assert st["too_many_items"] == 1
        assert st["rate_limited"] == 1000 - BURST
        assert st["rejected"] == FLOOD + 5 + 1 + 1000 - BURST
        grown = rss_mb() - rss0
        assert grown < 80, f"RSS grew {grown:.0f} MB"
        assert (tmp_path / "dead.jsonl").stat().st_size <= 10_000_000
        # the broker refused the 200 KB packet itself (and dropped that client)
        deadline = time.monotonic() + 10
        while "oversize packet" not in broker.log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "disconnected due to oversize packet" in broker.log_path.read_text()
        huge.loop_stop()
        assert not [s for s in sink.samples if s.tags.get("ap") == "g-2" and s.time.timestamp() < T0]
        print(f"flood published in {published_s:.1f}s, handled; RSS +{grown:.1f} MB")
    finally:
        c.stop()
        broker.stop()


def test_interface_names_per_device_are_capped_and_silent_baselines_evicted():
    """A device inventing interface names cannot grow the counter baselines past
    max_ifaces; baselines of series silent for baseline_ttl_days are forgotten,
    so their next reading is a new baseline (never an interval across the silence)."""
    from datetime import datetime, timedelta, timezone

    from collectors.mqtt.handler import MessageHandler

    cfg = mqtt_config(1883, "p", aps=[{"id": "a", "site": "balekambang", "mqtt_id": "a"},
                                      {"id": "b", "site": "balekambang", "mqtt_id": "b"}],
                      limits={"max_ifaces": 4, "baseline_ttl_days": 2})
    h = MessageHandler(cfg)
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)

    def msg(ap, ts, names, rx):
        return h.handle(f"p/balekambang/{ap}/telemetry", encode_telemetry(TelemetryV1(
            ts=ts.timestamp(), uptime_s=10_000 + (ts - t0).total_seconds(),
            ifaces={n: {"rx_bytes": rx, "tx_bytes": rx} for n in names})), ts)

    for k in range(5):  # 4 new names per message: only the first 4 names are ever tracked
        msg("a", t0 + timedelta(minutes=k), [f"x{k}-{j}" for j in range(4)], 1000)
    assert len(h.counters) == 4
    assert h.stats["too_many_items"] == 4 * 4  # 16 interface readings refused, counted
    out = msg("a", t0 + timedelta(minutes=10), ["x0-0"], 5000)  # a tracked one still counts
    assert [s.fields["rx_bytes"] for s in out if s.measurement == "ap_traffic"] == [4000]
    msg("b", t0 + timedelta(minutes=11), ["eth0"], 1)
    assert len(h.counters) == 5
    # three days later (> baseline_ttl_days), b speaks: a's silent baselines are forgotten
    later = t0 + timedelta(days=3)
    msg("b", later, ["eth0"], 2)
    assert h.stats["baselines_evicted"] == 4 + 1  # a's four, and b's own (silent 3 days too)
    out = msg("a", later + timedelta(minutes=1), ["x0-0"], 9000)
    assert [s for s in out if s.measurement == "ap_traffic"] == []  # a new baseline
    assert len(h.counters) == 2
