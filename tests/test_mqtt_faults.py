"""Mosquitto restarted while an AP publishes at QoS 1 (persistent sessions on both
sides): no message lost, none counted twice, bytes exact. Real broker, real
SQLite store behind the service's SampleWriter."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timezone

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from collectors.mqtt import MqttCollector
from collectors.mqtt.broker import start_mosquitto
from collectors.mqtt.telemetry import TelemetryV1, encode_telemetry, telemetry_topic
from hotspot_monitor.stores.sqlite import SqliteStore
from hotspot_monitor.writer import SampleWriter
from services.mosquitto import mqtt_config
from services.ports import free_port

N = 200


def test_broker_restart_while_aps_publish_qos1(tmp_path, mqtt_prefix):
    port = free_port()
    broker = start_mosquitto(port, tmp_path / "mq")
    store = SqliteStore(tmp_path / "m.sqlite")
    writer = SampleWriter(store, spool_dir=tmp_path / "spool", flush_interval_s=0.1)
    writer.start()
    seen: Counter = Counter()

    def sink(samples):  # what the service's from_thread does: return once durable
        for s in samples:
            if s.measurement == "ap_status":
                seen[(s.tags["ap"], s.time)] += 1
        done = threading.Event()
        writer.submit(samples, done)
        assert done.wait(30)

    c = MqttCollector(mqtt_config(port, mqtt_prefix), on_samples=sink)
    c.start()
    ap = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"ap-{mqtt_prefix}",
                     protocol=paho.MQTTv311, clean_session=False)  # an AP agent keeping its QoS 1 queue
    ap.max_queued_messages_set(0)
    acked: set[int] = set()
    ap.on_publish = lambda client, userdata, mid, rc, props: acked.add(mid)
    ap.reconnect_delay_set(0.2, 1)
    ap.connect("127.0.0.1", port, 30)
    ap.loop_start()
    try:
        assert c.wait_connected(10)
        T0 = float(int(time.time()) - 60 * N - 600)  # device times in the past, none in the future
        top = telemetry_topic(mqtt_prefix, "balekambang", "ap-bk-1")
        infos = []
        for i in range(N):
            msg = TelemetryV1(ts=T0 + 60 * i, uptime_s=10_000 + 60 * i, clients={"5GHz": i},
                              ifaces={"wlan0": {"rx_bytes": 1000 * i, "tx_bytes": 10 * i, "bits": 64}})
            infos.append(ap.publish(top, encode_telemetry(msg), qos=1))
            if i == N // 3:
                broker.stop()  # mid-stream: the AP keeps publishing into its own queue
            if i == N // 2:
                broker = start_mosquitto(port, tmp_path / "mq")  # same port, same persistence
            time.sleep(0.05 if N // 3 <= i < N // 2 else 0.01)
        assert sum(x.rc != 0 for x in infos) >= 10  # published while the broker was away
        # paho keeps QoS 1 messages published while disconnected and sends them on
        # reconnect; PUBACK (on_publish) says the broker has each one
        mids = {x.mid for x in infos}
        deadline = time.monotonic() + 60
        while not mids <= acked and time.monotonic() < deadline:
            time.sleep(0.1)
        assert mids <= acked, len(mids - acked)
        deadline = time.monotonic() + 60
        while len(seen) < N and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # anything more would be a second count
    finally:
        ap.loop_stop()
        c.stop()
        writer.stop()
        broker.stop()
    want = {("bk-1", datetime.fromtimestamp(T0 + 60 * i, timezone.utc)) for i in range(N)}
    assert set(seen) == want  # none lost
    assert set(seen.values()) == {1}  # none handed to the store twice
    t0 = datetime(2000, 1, 1, tzinfo=timezone.utc)
    stored = store.points("ap_clients", start=t0, tags={"ap": "bk-1", "radio": "5GHz"})
    assert sorted(s.fields["clients"] for s in stored) == list(range(N))
    traffic = store.points("ap_traffic", start=t0, tags={"ap": "bk-1"})
    assert len(traffic) == N - 1  # the first reading is the baseline
    assert sum(s.fields["rx_bytes"] for s in traffic) == 1000 * (N - 1)
    assert c.stats["connects"] >= 2
    store.close()
