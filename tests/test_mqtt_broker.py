"""The demo's embedded broker: Mosquitto when installed, amqtt otherwise (forced here)."""
from __future__ import annotations

import time

import pytest

from collectors.mqtt import MqttCollector
from collectors.mqtt.broker import start_broker
from collectors.mqtt.telemetry import TelemetryV1, encode_telemetry, telemetry_topic
from services.mosquitto import SampleSink, mqtt_config, publish, publisher
from services.ports import free_port
import paho.mqtt.client as paho


def _wait_for_log(h, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        acquired = [x for x in h.log_tail(50).splitlines() if "connections acquired" in x]
        if acquired and text in acquired[-1]:
            return
        time.sleep(0.02)
    raise AssertionError(f"{text!r} not in the broker log:\n{h.log_tail()}")


@pytest.mark.parametrize("prefer", [None, "amqtt"])
def test_demo_broker_carries_telemetry_across_collector_restart(tmp_path, mqtt_prefix, prefer):
    h = start_broker(free_port(), tmp_path / "broker", prefer=prefer)
    try:
        assert h.kind == ("amqtt" if prefer else "mosquitto")
        assert h.protocol == ("3.1.1" if prefer else "5")
        extra = {"username": h.username} if h.username else {}
        cfg = mqtt_config(h.port, mqtt_prefix, protocol=h.protocol, **extra)
        top = telemetry_topic(mqtt_prefix, "balekambang", "ap-bk-1")
        p = publisher(h.port, client_id=f"pub-{mqtt_prefix}", protocol=paho.MQTTv311, **extra)
        T0 = float(int(time.time()) - 100)

        sink = SampleSink()
        c = MqttCollector(cfg, on_samples=sink)
        c.start()
        try:
            assert c.wait_connected(15), c.stats
            publish(p, top, encode_telemetry(TelemetryV1(ts=T0, clients={"5GHz": 5})))
            sink.wait(lambda: len(sink.of("ap_clients", radio="5GHz")) == 1)
        finally:
            c.stop()
        if h.kind == "amqtt":
            # amqtt pitfall: a message published while it is still tearing down the
            # collector's connection goes to the dead connection and is lost (seen
            # 1 in ~25 runs). Wait until it has released the connection (its log).
            _wait_for_log(h, "Listener 'default': 1/")
        for i in range(1, 11):  # while the collector is away
            publish(p, top, encode_telemetry(TelemetryV1(ts=T0 + i, clients={"5GHz": 5 + i})))
        sink2 = SampleSink()
        c2 = MqttCollector(cfg, on_samples=sink2)
        c2.start()
        try:
            sink2.wait(lambda: len(sink2.of("ap_clients", radio="5GHz")) >= 10, timeout=30,
                       what=lambda: f"queued messages, got {[s.fields for s in sink2.of('ap_clients')]}")
            publish(p, top, encode_telemetry(TelemetryV1(ts=T0 + 11, clients={"5GHz": 99})))
            sink2.wait(lambda: any(s.fields["clients"] == 99 for s in sink2.of("ap_clients", radio="5GHz")))
            assert [s.fields["clients"] for s in sink2.of("ap_clients", radio="5GHz")] == \
                [5 + i for i in range(1, 11)] + [99]
        finally:
            c2.stop()
        p.disconnect()
        p.loop_stop()
    finally:
        h.stop()
    assert not h.alive()
