"""MQTT channel against a real Mosquitto: retained alert per fingerprint, cleared on resolve."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

from hotspot_monitor.alerts.dispatcher import Dispatcher
from hotspot_monitor.alerts.outbox import Outbox
from hotspot_monitor.status.statestore import StateStore
from services.mosquitto import MQTT_PASSWORD, publish, publisher
from services.ports import free_port
from services.receivers import T0, ap_down, delivery_config, notification_of

FP1 = "rule=ap_down|ap=bk-1|site=balekambang"
FP2 = "rule=ap_down|ap=bk-2|site=balekambang"


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    try:
        yield Outbox(store.engine)
    finally:
        store.close()


def retained(port: int, prefix: str, **kw) -> dict[str, bytes]:
    """Every retained message under ``prefix/#`` (a marker published after SUBACK tells when
    the broker has handed them all out)."""
    got: dict[str, bytes] = {}
    done = threading.Event()
    marker = f"{prefix}/marker-{uuid.uuid4().hex[:6]}"
    c = publisher(port, **kw)

    def on_message(_c, _u, msg) -> None:
        if msg.topic == marker:
            done.set()
        elif msg.retain:
            got[msg.topic] = msg.payload

    subscribed = threading.Event()
    c.on_message = on_message
    c.on_subscribe = lambda *a: subscribed.set()
    try:
        c.subscribe(f"{prefix}/#", qos=1)
        assert subscribed.wait(10), "no SUBACK"
        publish(c, marker, b"x", qos=1)
        assert done.wait(10), "marker never came back"
    finally:
        c.disconnect()  # first, so that the network thread ends at once
        c.loop_stop()
    return got


def mqtt_channel(prefix: str, **kw) -> dict:
    return {"id": "mq", "type": "mqtt", "topic_prefix": f"{prefix}/alerts", "language": "en", **kw}


def test_firing_alerts_are_retained_and_resolving_clears_them(outbox, mosquitto, mqtt_prefix):
    cfg = delivery_config([mqtt_channel(mqtt_prefix)],
                          mqtt={"host": "127.0.0.1", "port": mosquitto.port, "client_id": f"hm-{mqtt_prefix}"})
    d = Dispatcher(outbox, cfg)
    outbox.enqueue(notification_of("mq", [ap_down(ap="bk-1"), ap_down(ap="bk-2", minutes=1)], at=T0))
    assert d.run_once(T0) == 1
    assert [a.result for a in outbox.attempts()] == ["ok"]

    got = retained(mosquitto.port, mqtt_prefix)
    assert set(got) == {f"{mqtt_prefix}/alerts/{FP1}", f"{mqtt_prefix}/alerts/{FP2}"}
    doc = json.loads(got[f"{mqtt_prefix}/alerts/{FP1}"])
    assert doc["version"] == 1
    assert (doc["fingerprint"], doc["rule"], doc["status"], doc["severity"]) == (FP1, "ap_down", "firing", "warning")
    assert doc["labels"]["site_name"] == "Taman Balekambang"
    assert doc["starts_at"] == "2026-11-26T07:05:00+00:00"
    assert doc["summary"] == "• AP down · Taman Balekambang (AP bk-1) · since 14:05 WIB"

    outbox.enqueue(notification_of("mq", [ap_down("resolved", ap="bk-1", down_s=600)],
                                   at=T0 + timedelta(minutes=10)))
    assert d.run_once(T0 + timedelta(minutes=10)) == 1
    assert set(retained(mosquitto.port, mqtt_prefix)) == {f"{mqtt_prefix}/alerts/{FP2}"}


def test_a_test_message_is_not_left_retained(outbox, mosquitto, mqtt_prefix):
    cfg = delivery_config([mqtt_channel(mqtt_prefix)], mqtt={"host": "127.0.0.1", "port": mosquitto.port})
    seen: list[tuple[str, bool]] = []
    sub = publisher(mosquitto.port)
    subscribed = threading.Event()
    arrived = threading.Event()
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = lambda _c, _u, m: (seen.append((m.topic, m.retain)), arrived.set())
    sub.subscribe(f"{mqtt_prefix}/alerts/#", qos=1)
    assert subscribed.wait(10)
    try:
        outbox.enqueue(notification_of("mq", [ap_down()], at=T0, kind="test"))
        Dispatcher(outbox, cfg).run_once(T0)
        assert arrived.wait(10), "the live subscriber did not get the test message"
    finally:
        sub.disconnect()
        sub.loop_stop()
    assert seen == [(f"{mqtt_prefix}/alerts/{FP1}", False)]
    assert retained(mosquitto.port, mqtt_prefix) == {}


def test_tls_and_credentials_from_the_mqtt_section(outbox, mosquitto_secure, mqtt_prefix, caplog):
    b = mosquitto_secure
    good = {"host": "127.0.0.1", "port": b.port, "username": b.username, "password": b.password,
            "tls": {"ca_file": str(b.ca_file)}}
    cfg = delivery_config([mqtt_channel(mqtt_prefix)], mqtt=good)
    outbox.enqueue(notification_of("mq", [ap_down()], at=T0))
    Dispatcher(outbox, cfg).run_once(T0)
    assert [a.result for a in outbox.attempts()] == ["ok"]
    assert set(retained(b.port, mqtt_prefix, ca_file=b.ca_file, username=b.username,
                        password=b.password)) == {f"{mqtt_prefix}/alerts/{FP1}"}

    wrong = "Wr0ng-mqtt-pw-5b"
    cfg = delivery_config([mqtt_channel(mqtt_prefix, id="mq-bad")], mqtt={**good, "password": wrong})
    outbox.enqueue(notification_of("mq-bad", [ap_down()], at=T0))
    Dispatcher(outbox, cfg).run_once(T0)
    [a] = outbox.attempts(channel="mq-bad")
    assert a.result == "permanent"
    assert a.error.startswith(f"mqtts://127.0.0.1:{b.port}: connection refused: ")
    assert outbox.channel_states()["mq-bad"].flagged
    for text in (a.error, caplog.text):
        assert wrong not in text and MQTT_PASSWORD not in text


def test_broker_down_is_temporary(outbox):
    port = free_port()
    cfg = delivery_config([mqtt_channel("t", timeout_s=2)], mqtt={"host": "127.0.0.1", "port": port})
    outbox.enqueue(notification_of("mq", [ap_down()], at=T0))
    Dispatcher(outbox, cfg).run_once(T0)
    [a] = outbox.attempts()
    assert (a.result, a.error) == ("temporary", f"mqtt://127.0.0.1:{port}: cannot connect: Connection refused")
    assert outbox.messages()[0]["state"] == "pending"
