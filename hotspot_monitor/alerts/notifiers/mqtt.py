"""MQTT: one retained JSON message per alert on the config's broker.

Each alert goes to ``<topic_prefix>/<fingerprint>`` (``+`` and ``#`` in a
fingerprint become ``_``), retained, with the channel's QoS (default 1): a
display or a home-made integration that subscribes to ``<topic_prefix>/#``
sees every alert firing now, even if it connects later. A resolved alert
publishes an empty retained payload, which removes the retained message.
A ``test`` notification is published without the retain flag, so it never
stays on the broker.

The broker, TLS and credentials are the ``mqtt:`` section's (as the
collector uses them). One short connection per notification, driven by
paho's ``loop()`` in the calling thread: alerts are rare, nothing is left
running between them, and the client id (``<mqtt.client_id>-alerts-<random>``)
never collides with the collector's persistent session.

Errors: a refused or timed-out connection, or a missing PUBACK, is
temporary; the broker refusing our credentials or authorisation, or a server
certificate the machine does not trust, is permanent.
"""
from __future__ import annotations

import json
import ssl
import time
import uuid
from typing import Optional

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from .base import Notifier, PermanentError, TemporaryError, register, secret_values
from ..messages import alert_line
from ..notification import AlertView, Notification

SCHEMA_VERSION = 1
# CONNACK reason codes that retrying will not fix (MQTT 5 numbering; paho maps 3.1.1 codes onto it)
PERMANENT_CONNACK = frozenset({0x84, 0x85, 0x86, 0x87, 0x8A, 0x8C})
_TOPIC_UNSAFE = str.maketrans({"+": "_", "#": "_", "\x00": "_"})


def alert_topic(prefix: str, fingerprint: str) -> str:
    return f"{prefix.rstrip('/')}/{fingerprint.translate(_TOPIC_UNSAFE)}"


def alert_payload(alert: AlertView, notification: Notification, summary: str) -> bytes:
    doc = alert.to_dict()
    doc.update(version=SCHEMA_VERSION, kind=notification.kind, group_key=notification.group_key,
               created_at=json.loads(notification.to_json())["created_at"], summary=summary,
               dashboard_url=notification.dashboard_url)
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@register
class MqttNotifier(Notifier):
    type = "mqtt"

    @property
    def broker(self) -> str:
        s = self.config.mqtt
        return f"mqtt{'s' if s.tls else ''}://{s.host}:{s.port}"

    def secrets(self) -> list[str]:
        return super().secrets() + list(secret_values(self.config.mqtt))

    def _client(self) -> paho.Client:
        s = self.config.mqtt
        v5 = s.protocol == "5"
        c = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                        client_id=f"{s.client_id}-alerts-{uuid.uuid4().hex[:8]}",
                        protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
                        clean_session=None if v5 else True)
        c.connect_timeout = self.channel.timeout_s
        if s.username is not None:
            c.username_pw_set(s.username, s.password.get_secret_value() if s.password else None)
        if s.tls is not None:
            try:
                c.tls_set(ca_certs=s.tls.ca_file, certfile=s.tls.cert_file, keyfile=s.tls.key_file,
                          cert_reqs=ssl.CERT_REQUIRED)
            except (OSError, ssl.SSLError, ValueError) as e:
                raise PermanentError(f"{self.broker}: TLS setup failed: {type(e).__name__}") from None
            if s.tls.insecure:
                c.tls_insecure_set(True)
        return c

    def send(self, notification: Notification) -> None:
        lang, tz = self.channel.language, self.config.tz
        retain = notification.kind != "test"
        messages = []
        for a in notification.alerts:
            topic = alert_topic(self.channel.topic_prefix, a.fingerprint)
            if a.status == "resolved" and retain:
                messages.append((topic, b""))
            else:
                messages.append((topic, alert_payload(
                    a, notification, alert_line(a, lang, tz, notification.created_at))))
        deadline = time.monotonic() + self.channel.timeout_s
        client = self._client()
        state: dict[str, Optional[int]] = {"connack": None}
        refusal: list[str] = []

        def on_connect(_c, _u, _flags, reason_code, _props) -> None:
            state["connack"] = reason_code.value
            refusal.append(str(reason_code))

        client.on_connect = on_connect
        s = self.config.mqtt
        try:
            try:
                client.connect(s.host, s.port, keepalive=max(5, int(self.channel.timeout_s) * 2))
            except ssl.SSLCertVerificationError as e:
                raise PermanentError(f"{self.broker}: TLS certificate not trusted: {e.verify_message}") from None
            except ssl.SSLError as e:
                raise TemporaryError(f"{self.broker}: TLS error: {e.reason or type(e).__name__}") from None
            except (TimeoutError, OSError) as e:
                raise TemporaryError(f"{self.broker}: cannot connect: "
                                     f"{getattr(e, 'strerror', None) or type(e).__name__}") from None
            self._loop_until(client, lambda: state["connack"] is not None, deadline, "no CONNACK")
            code = state["connack"]
            if code:
                err = PermanentError if code in PERMANENT_CONNACK else TemporaryError
                raise err(f"{self.broker}: connection refused: {refusal[-1]} ({code:#x})")
            infos = [client.publish(topic, payload, qos=self.channel.qos, retain=retain)
                     for topic, payload in messages]
            for info in infos:
                if info.rc != paho.MQTT_ERR_SUCCESS:
                    raise TemporaryError(f"{self.broker}: publish failed: {paho.error_string(info.rc)}")
            self._loop_until(client, lambda: all(i.is_published() for i in infos), deadline,
                             "not acknowledged (PUBACK)")
        finally:
            try:
                client.disconnect()
                client.loop(0.05)
            except Exception:  # closing a broken connection: nothing left to do
                pass

    def _loop_until(self, client: paho.Client, done, deadline: float, what: str) -> None:
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TemporaryError(f"{self.broker}: {what} within {self.channel.timeout_s:g} s")
            rc = client.loop(timeout=min(0.1, left))
            if rc not in (paho.MQTT_ERR_SUCCESS,) and not done():
                raise TemporaryError(f"{self.broker}: connection lost: {paho.error_string(rc)}")
