"""TLS + username/password against a real Mosquitto; the password never leaks."""
from __future__ import annotations

import logging
import time

import pytest

from collectors.mqtt import MqttCollector
from collectors.mqtt.transport import MqttError
from collectors.mqtt.telemetry import TelemetryV1, encode_telemetry, telemetry_topic
from services.mosquitto import MQTT_PASSWORD, SampleSink, mqtt_config, publish, publisher

WRONG = "Wr0ng-pa55-xyz-123"


def _secure_cfg(b, prefix, password, **tls):
    return mqtt_config(b.port, prefix, username=b.username, password=password,
                       tls={"ca_file": str(b.ca_file), **tls})


def test_tls_and_password_round_trip_without_leaking(mosquitto_secure, mqtt_prefix, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    b = mosquitto_secure
    sink = SampleSink()
    c = MqttCollector(_secure_cfg(b, mqtt_prefix, MQTT_PASSWORD), on_samples=sink,
                      dead_letter_path=tmp_path / "dl.jsonl")
    c.start()
    try:
        assert c.wait_connected(15), c.stats
        p = publisher(b.port, ca_file=b.ca_file, username=b.username, password=b.password)
        ts = float(int(time.time()))
        publish(p, telemetry_topic(mqtt_prefix, "balekambang", "ap-bk-1"),
                encode_telemetry(TelemetryV1(ts=ts, cpu_pct=33.25)))
        sink.wait(lambda: len(sink.of("ap_system", ap="bk-1")) == 1)
        assert sink.of("ap_system", ap="bk-1")[0].fields == {"cpu_pct": 33.25}
        p.disconnect()
        p.loop_stop()
    finally:
        c.stop()
    assert MQTT_PASSWORD not in caplog.text
    assert MQTT_PASSWORD not in repr(c.stats) and MQTT_PASSWORD not in repr(c.config)
    assert "**********" in repr(c.config.mqtt)


def test_wrong_password_is_reported_without_the_password(mosquitto_secure, mqtt_prefix, caplog):
    caplog.set_level(logging.DEBUG)
    b = mosquitto_secure
    c = MqttCollector(_secure_cfg(b, mqtt_prefix, WRONG), on_samples=SampleSink())
    c.start()
    try:
        deadline = time.monotonic() + 15
        while c.stats["last_error"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        err = c.stats["last_error"]
        assert err is not None and "refused" in err
        assert not c.stats["connected"]
    finally:
        c.stop()
    for secret in (WRONG, MQTT_PASSWORD):
        assert secret not in caplog.text
        assert secret not in err


def test_untrusted_ca_fails_and_missing_ca_file_is_a_clean_error(mosquitto_secure, mqtt_prefix, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    b = mosquitto_secure
    with pytest.raises(MqttError) as ei:
        MqttCollector(mqtt_config(b.port, mqtt_prefix, username=b.username, password=MQTT_PASSWORD,
                                  tls={"ca_file": str(tmp_path / "nope.crt")}), on_samples=SampleSink())
    assert MQTT_PASSWORD not in str(ei.value)
    # a CA that did not sign the server certificate: never "connected"
    from services.mosquitto import make_ca_and_server_cert
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _, _ = make_ca_and_server_cert(other)
    c = MqttCollector(mqtt_config(b.port, mqtt_prefix, username=b.username, password=MQTT_PASSWORD,
                                  tls={"ca_file": str(other_ca)}), on_samples=SampleSink())
    c.start()
    try:
        assert not c.wait_connected(2)
    finally:
        c.stop()
    assert MQTT_PASSWORD not in caplog.text
