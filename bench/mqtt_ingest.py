"""MQTT collector ingest rate: JSON telemetry v1 at QoS 1 through Mosquitto.

Starts a Mosquitto on a free loopback port, pre-queues N telemetry messages
(QoS 1, from one publisher, for --aps APs) while the collector is away, then
starts the collector and times how long it takes to hand every message's
Samples to a counting sink (parse + CounterTracker + manual ack included;
no store). Bounded in count and in time.

    .venv/bin/python bench/mqtt_ingest.py [--messages 20000] [--aps 500] [--timeout 120]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from collectors.mqtt import MqttCollector  # noqa: E402
from collectors.mqtt.broker import start_mosquitto  # noqa: E402
from collectors.mqtt.telemetry import TelemetryV1, encode_telemetry, telemetry_topic  # noqa: E402
from hotspot_monitor.config.models import Config  # noqa: E402
from services.ports import free_port  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--aps", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="mqtt-bench-"))
    b = start_mosquitto(free_port(), d)
    try:
        cfg = Config.model_validate({
            "mqtt": {"enabled": True, "port": b.port, "client_id": "bench-collector"},
            "sites": [{"id": "s", "name": "S", "lat": 0, "lon": 0}],
            "aps": [{"id": f"ap{i}", "site": "s"} for i in range(a.aps)],
        })
        count = [0]

        def sink(samples):
            count[0] += len(samples)

        c = MqttCollector(cfg, on_samples=sink)
        c.start()
        assert c.wait_connected(10)
        c.stop()  # the session (subscriptions) now exists: publish while it is away
        pub = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-pub")
        pub.max_queued_messages_set(0)
        pub.max_inflight_messages_set(1000)
        pub.connect("127.0.0.1", b.port)
        pub.loop_start()
        t0 = time.time() - 3600
        infos = []
        tp = time.perf_counter()
        for n in range(a.messages):
            i = n % a.aps
            tick = n // a.aps
            msg = encode_telemetry(TelemetryV1(
                ts=t0 + tick, uptime_s=1000 + tick, clients={"2.4GHz": 3, "5GHz": 4},
                ifaces={"wlan0": {"rx_bytes": 1000 * tick, "tx_bytes": 2000 * tick}},
                cpu_pct=10.0, mem_pct=20.0))
            infos.append(pub.publish(telemetry_topic("hotspot", "s", f"ap{i}"), msg, qos=1))
        for info in infos:
            info.wait_for_publish(a.timeout)
        pub_s = time.perf_counter() - tp
        c2 = MqttCollector(cfg, on_samples=sink)
        t1 = time.perf_counter()
        c2.start()
        deadline = time.monotonic() + a.timeout
        while c2.stats["received"] < a.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        el = time.perf_counter() - t1
        st = c2.stats
        c2.stop()
        pub.loop_stop()
        print(f"published {a.messages} QoS1 messages in {pub_s:.2f}s; broker queued them for the collector")
        print(f"collector ingested {st['received']} messages -> {count[0]} samples in {el:.2f}s: "
              f"{st['received'] / el:,.0f} msg/s, {count[0] / el:,.0f} samples/s "
              f"(rejected {st['rejected']}, unacked {st['unacked']})")
        print("rerun: .venv/bin/python bench/mqtt_ingest.py --messages", a.messages, "--aps", a.aps)
    finally:
        b.stop()


if __name__ == "__main__":
    main()
