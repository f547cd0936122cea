"""JSON telemetry v1 and presence through a real Mosquitto into Samples, exact values."""
from __future__ import annotations

import base64
import json
import time
from contextlib import contextmanager
from datetime import datetime, timezone

from collectors.mqtt import MqttCollector
from collectors.mqtt.telemetry import (OFFLINE, ONLINE, TelemetryV1, encode_telemetry, status_topic,
                                       telemetry_topic)
from services.mosquitto import SampleSink, mqtt_config, publish, publisher


def _tel(ts: float, **kw) -> bytes:
    return encode_telemetry(TelemetryV1(ts=ts, **kw))


@contextmanager
def running_collector(cfg, sink, dead_letters):
    """A started, connected collector, stopped afterwards."""
    c = MqttCollector(cfg, on_samples=sink, dead_letter_path=dead_letters)
    c.start()
    try:
        assert c.wait_connected(10)
        yield c
    finally:
        c.stop()


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def test_json_round_trip_exact(mosquitto, mqtt_prefix, tmp_path):
    cfg = mqtt_config(mosquitto.port, mqtt_prefix)
    sink = SampleSink()
    dl = tmp_path / "dead.jsonl"
    with running_collector(cfg, sink, dl) as c:
        T0 = float(int(time.time()) - 3000) + 0.25
        top = telemetry_topic(mqtt_prefix, "balekambang", "ap-bk-1")  # by mqtt_id
        m1 = _tel(T0, uptime_s=1000, clients={"2.4GHz": 3, "5GHz": 7},
                  ifaces={"wlan0": {"rx_bytes": 1000, "tx_bytes": 5000},
                          "eth0": {"rx_bytes": 2**32 - 1000, "tx_bytes": 10, "bits": 32}},
                  cpu_pct=12.5, mem_pct=40.0, temp_c=51.0)
        m2 = _tel(T0 + 60, uptime_s=1060, clients={"2.4GHz": 4, "5GHz": 8, "all": 13},
                  ifaces={"wlan0": {"rx_bytes": 61000, "tx_bytes": 125000},
                          "eth0": {"rx_bytes": 500, "tx_bytes": 20, "bits": 32}})
        m3 = _tel(T0 + 120, uptime_s=5,  # rebooted
                  ifaces={"wlan0": {"rx_bytes": 700, "tx_bytes": 900},
                          "eth0": {"rx_bytes": 30, "tx_bytes": 40, "bits": 32}})
        m4 = _tel(T0 + 1120, uptime_s=1005,  # 1000 s gap > max_gap_s (900): bytes, no rate
                  ifaces={"wlan0": {"rx_bytes": 9000, "tx_bytes": 9000}})
        p = publisher(mosquitto.port)
        for m in (m1, m2, m2, m3, m4):  # m2 twice: a redelivery
            publish(p, top, m)
        # bk-2 has no mqtt_id: its id is the topic segment; its clock is an hour ahead
        publish(p, telemetry_topic(mqtt_prefix, "balekambang", "bk-2"), _tel(time.time() + 3600, cpu_pct=1.0))
        sink.wait(lambda: len(sink.of("ap_system", ap="bk-2")) == 1, what="bk-2 system")
        sink.wait(lambda: len(sink.of("ap_status", ap="bk-1")) == 4, what="bk-1 status")

        st = sink.of("ap_status", ap="bk-1")
        assert [(s.time, dict(s.fields)) for s in st] == [
            (_utc(T0), {"up": 1, "uptime_s": 1000}), (_utc(T0 + 60), {"up": 1, "uptime_s": 1060}),
            (_utc(T0 + 120), {"up": 1, "uptime_s": 5}), (_utc(T0 + 1120), {"up": 1, "uptime_s": 1005})]
        assert all(s.tags == {"site": "balekambang", "ap": "bk-1", "source": "mqtt"} for s in st)

        cl = {(s.tags["radio"], s.time): s.fields["clients"] for s in sink.of("ap_clients", ap="bk-1")}
        assert cl == {("2.4GHz", _utc(T0)): 3, ("5GHz", _utc(T0)): 7, ("all", _utc(T0)): 10,
                      ("2.4GHz", _utc(T0 + 60)): 4, ("5GHz", _utc(T0 + 60)): 8, ("all", _utc(T0 + 60)): 13}

        tr = {(s.tags["iface"], s.time): dict(s.fields) for s in sink.of("ap_traffic", ap="bk-1")}
        assert tr == {
            ("wlan0", _utc(T0 + 60)): {"rx_bytes": 60000, "tx_bytes": 120000, "interval_s": 60.0,
                                       "rx_bps": 8000.0, "tx_bps": 16000.0},
            # 32-bit wrap: 500 + 2**32 - (2**32 - 1000) = 1500
            ("eth0", _utc(T0 + 60)): {"rx_bytes": 1500, "tx_bytes": 10, "interval_s": 60.0,
                                      "rx_bps": 200.0, "tx_bps": 80 / 60},
            # reboot 5 s before: bytes since boot, carried in those 5 s
            ("wlan0", _utc(T0 + 120)): {"rx_bytes": 700, "tx_bytes": 900, "interval_s": 5.0,
                                        "rx_bps": 1120.0, "tx_bps": 1440.0},
            # rx dropped: since boot; tx went on from 20 to 40: only the difference is sure
            ("eth0", _utc(T0 + 120)): {"rx_bytes": 30, "tx_bytes": 20, "interval_s": 60.0,
                                       "rx_bps": 4.0, "tx_bps": 160 / 60},
            # 1000 s gap, uptime went on (no reboot), 64-bit: 9000 - 700 and 9000 - 900, no rate
            ("wlan0", _utc(T0 + 1120)): {"rx_bytes": 8300, "tx_bytes": 8100, "interval_s": 1000.0},
        }
        sy = sink.of("ap_system", ap="bk-1")
        assert [(s.time, dict(s.fields)) for s in sy] == [
            (_utc(T0), {"cpu_pct": 12.5, "mem_pct": 40.0, "temp_c": 51.0})]

        skewed = sink.of("ap_system", ap="bk-2")[0]
        assert abs((skewed.time - datetime.now(timezone.utc)).total_seconds()) < 60
        assert skewed.fields == {"cpu_pct": 1.0}
        stats = c.stats
        assert stats["duplicate"] == 1
        assert stats["clock_skew"] == 1
        assert stats.get("rejected", 0) == 0
        assert stats["received"] == 6
        assert stats["unacked"] == 0


def test_bad_input_counted_dead_lettered_and_not_blocking(mosquitto, mqtt_prefix, tmp_path):
    cfg = mqtt_config(mosquitto.port, mqtt_prefix)
    sink = SampleSink()
    dl = tmp_path / "dead.jsonl"
    with running_collector(cfg, sink, dl) as c:
        p = publisher(mosquitto.port)
        now = float(int(time.time()))
        top = telemetry_topic(mqtt_prefix, "pasar-gede", "pg1-host")
        publish(p, top, b"\xff\xfe not json")
        publish(p, top, b'{"v": 2, "ts": 1}')
        publish(p, telemetry_topic(mqtt_prefix, "pasar-gede", "stranger"), _tel(now))
        publish(p, top, _tel(now, cpu_pct=150.0, mem_pct=20.0, clients={"60GHz": 1, "5GHz": -3}))
        publish(p, status_topic(mqtt_prefix, "pasar-gede", "pg1-host"), b"maybe")
        publish(p, top, _tel(now + 1, clients={"5GHz": 2}))  # a good one after the bad ones
        sink.wait(lambda: len(sink.of("ap_clients", ap="pg-1", radio="5GHz")) == 1)
        stats = c.stats
        assert stats["malformed"] == 3
        assert stats["unknown_ap"] == 1
        assert stats["out_of_range"] == 2
        assert stats["unknown_metric"] == 1
        assert stats["rejected"] == 7
        # the partly bad message still gave what was valid
        assert [dict(s.fields) for s in sink.of("ap_system", ap="pg-1")] == [{"mem_pct": 20.0}]
        assert c.unknown_aps().keys() == {"stranger"}
        lines = [json.loads(x) for x in dl.read_text().splitlines()]
        assert [x["reason"] for x in lines] == ["malformed", "malformed", "unknown_ap", "unknown_metric",
                                               "out_of_range", "out_of_range", "malformed"]
        assert base64.b64decode(lines[0]["payload_b64"]) == b"\xff\xfe not json"
        assert lines[0]["topic"] == top


def test_presence_and_last_will(mosquitto, mqtt_prefix, tmp_path):
    """A real AP client with a last will, killed without DISCONNECT, turns the AP offline."""
    import os
    import subprocess
    import sys

    cfg = mqtt_config(mosquitto.port, mqtt_prefix)
    sink = SampleSink()
    c = MqttCollector(cfg, on_samples=sink)
    c.start()
    try:
        assert c.wait_connected(10)
        topic = status_topic(mqtt_prefix, "balekambang", "ap-bk-1")
        script = f"""
import sys, threading, time
import paho.mqtt.client as m
from paho.mqtt.enums import CallbackAPIVersion
c = m.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="ap-bk-1-agent")
c.will_set({topic!r}, {OFFLINE!r}, qos=1, retain=True)
ok = threading.Event()
c.on_connect = lambda *a: ok.set()
c.connect("127.0.0.1", {mosquitto.port}, 60)
c.loop_start()
ok.wait(10)
c.publish({topic!r}, {ONLINE!r}, qos=1, retain=True).wait_for_publish(10)
print("online", flush=True)
time.sleep(120)
"""
        agent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert agent.stdout.readline().strip() == "online"
            sink.wait(lambda: len(sink.of("ap_status", ap="bk-1")) == 1, what="online")
            assert sink.of("ap_status", ap="bk-1")[0].fields == {"up": 1}
            os.kill(agent.pid, 9)  # no DISCONNECT: the broker publishes the will
        finally:
            agent.kill()
            agent.wait(10)
        sink.wait(lambda: len(sink.of("ap_status", ap="bk-1")) == 2, what="lwt offline")
        off = sink.of("ap_status", ap="bk-1")[1]
        assert off.fields == {"up": 0, "reason": "lwt_offline"}
        assert off.tags == {"site": "balekambang", "ap": "bk-1", "source": "mqtt"}
    finally:
        c.stop()
    # the will was retained: a new collector learns the AP is offline at once
    sink2 = SampleSink()
    c2 = MqttCollector(mqtt_config(mosquitto.port, mqtt_prefix, client_id="other-collector"), on_samples=sink2)
    c2.start()
    try:
        sink2.wait(lambda: len(sink2.of("ap_status", ap="bk-1")) == 1, what="retained offline")
        assert sink2.of("ap_status", ap="bk-1")[0].fields == {"up": 0, "reason": "lwt_offline"}
    finally:
        c2.stop()
