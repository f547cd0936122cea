"""Persistent session: QoS 1 messages sent while the collector is down arrive
after it restarts, none lost, none duplicated; and a crash before the sink
returns loses nothing (manual acknowledgement)."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from collectors.mqtt import MqttCollector
from collectors.mqtt.telemetry import TelemetryV1, encode_telemetry, telemetry_topic
from services.mosquitto import SampleSink, mqtt_config, publish, publisher

N_DOWN = 200


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_messages_sent_while_down_arrive_after_restart(mosquitto, mqtt_prefix, protocol):
    cfg = mqtt_config(mosquitto.port, mqtt_prefix, protocol=protocol)
    T0 = float(int(time.time()) - 4000)
    top = telemetry_topic(mqtt_prefix, "balekambang", "ap-bk-1")
    p = publisher(mosquitto.port)

    sink1 = SampleSink()
    c1 = MqttCollector(cfg, on_samples=sink1)
    c1.start()
    try:
        assert c1.wait_connected(10)
        publish(p, top, encode_telemetry(TelemetryV1(ts=T0, clients={"5GHz": 0})))
        sink1.wait(lambda: len(sink1.of("ap_clients", radio="5GHz")) == 1)
    finally:
        c1.stop()

    for i in range(1, N_DOWN + 1):  # collector is down: the broker queues these
        publish(p, top, encode_telemetry(TelemetryV1(ts=T0 + i, clients={"5GHz": i})))

    sink2 = SampleSink()
    c2 = MqttCollector(cfg, on_samples=sink2)
    c2.start()
    try:
        sink2.wait(lambda: len(sink2.of("ap_clients", radio="5GHz")) >= N_DOWN, timeout=30)
        # anything more would be a duplicate: publish a marker and wait for it
        publish(p, top, encode_telemetry(TelemetryV1(ts=T0 + N_DOWN + 1, clients={"5GHz": -0 + 999})))
        sink2.wait(lambda: any(s.fields["clients"] == 999 for s in sink2.of("ap_clients", radio="5GHz")))
        got = [(s.time, s.fields["clients"]) for s in sink2.of("ap_clients", radio="5GHz")]
        want = [(datetime.fromtimestamp(T0 + i, timezone.utc), i) for i in range(1, N_DOWN + 1)]
        want.append((datetime.fromtimestamp(T0 + N_DOWN + 1, timezone.utc), 999))
        assert got == want
        assert c2.stats["duplicate"] == 0
    finally:
        c2.stop()


def test_sink_crash_before_ack_loses_nothing(mosquitto, mqtt_prefix):
    """The sink fails for one run (as if the process died before storing): the
    unacknowledged messages come back on the next connection."""
    cfg = mqtt_config(mosquitto.port, mqtt_prefix)
    T0 = float(int(time.time()) - 4000)
    top = telemetry_topic(mqtt_prefix, "balekambang", "ap-bk-1")
    p = publisher(mosquitto.port)

    calls = []

    def broken(samples):
        calls.append(len(samples))
        raise OSError("disk full")

    c1 = MqttCollector(cfg, on_samples=broken)
    c1.start()
    try:
        assert c1.wait_connected(10)
        for i in range(5):
            publish(p, top, encode_telemetry(TelemetryV1(ts=T0 + i, clients={"2.4GHz": i})))
        deadline = time.monotonic() + 20
        # one message is stuck in the failing sink, the rest wait behind it
        while c1.stats["received"] + c1.stats["queued"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c1.stats["received"] + c1.stats["queued"] == 5
        assert calls and c1.stats["sink_errors"] >= 1
    finally:
        c1.stop()

    sink = SampleSink()
    c2 = MqttCollector(cfg, on_samples=sink)
    c2.start()
    try:
        sink.wait(lambda: len(sink.of("ap_clients", radio="2.4GHz")) >= 5)
        publish(p, top, encode_telemetry(TelemetryV1(ts=T0 + 10, clients={"2.4GHz": 10})))
        sink.wait(lambda: len(sink.of("ap_clients", radio="2.4GHz")) >= 6)
        assert [s.fields["clients"] for s in sink.of("ap_clients", radio="2.4GHz")] == [0, 1, 2, 3, 4, 10]
    finally:
        c2.stop()


def test_shared_subscription_splits_messages(mosquitto, mqtt_prefix):
    """Two collectors in one MQTT 5 shared-subscription group: each message once, in total."""
    sinks, cs = [], []
    for i in range(2):
        sink = SampleSink()
        c = MqttCollector(mqtt_config(mosquitto.port, mqtt_prefix, client_id=f"hm-{mqtt_prefix}-{i}",
                                      shared_group="g1"), on_samples=sink)
        c.start()
        sinks.append(sink)
        cs.append(c)
    try:
        assert all(c.wait_connected(10) for c in cs)
        p = publisher(mosquitto.port)
        T0 = float(int(time.time()) - 1000)
        top = telemetry_topic(mqtt_prefix, "balekambang", "ap-bk-1")
        for i in range(40):
            publish(p, top, encode_telemetry(TelemetryV1(ts=T0 + i, clients={"5GHz": i})))
        got = lambda: sorted(s.fields["clients"] for k in sinks for s in k.of("ap_clients", radio="5GHz"))  # noqa
        sinks[0].wait(lambda: len(got()) >= 40, what=lambda: str(got()))
        assert got() == list(range(40))
        assert all(k.of("ap_clients") for k in sinks), "mosquitto should spread messages over both"
    finally:
        for c in cs:
            c.stop()


def test_reconnects_after_broker_restart(tmp_path, mqtt_prefix):
    """The broker goes away and comes back (same port, persistent store): the
    collector reconnects by itself and its session, with messages queued for it, survives."""
    from collectors.mqtt.broker import start_mosquitto
    from services.ports import free_port

    port = free_port()
    b = start_mosquitto(port, tmp_path / "b")
    sink = SampleSink()
    c = MqttCollector(mqtt_config(port, mqtt_prefix), on_samples=sink)
    c.start()
    try:
        assert c.wait_connected(10)
        b.stop()
        deadline = time.monotonic() + 10
        while c.stats["connected"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not c.stats["connected"]
        b = start_mosquitto(port, tmp_path / "b")
        p = publisher(port)
        T0 = float(int(time.time()) - 100)
        # published right away: the collector may not be back yet, its session queues it
        publish(p, telemetry_topic(mqtt_prefix, "balekambang", "ap-bk-1"),
                encode_telemetry(TelemetryV1(ts=T0, clients={"5GHz": 17})))
        sink.wait(lambda: len(sink.of("ap_clients", radio="5GHz")) == 1, timeout=40)
        assert sink.of("ap_clients", radio="5GHz")[0].fields == {"clients": 17}
        assert c.stats["connects"] == 2
    finally:
        c.stop()
        b.stop()
