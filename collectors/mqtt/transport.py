"""paho-mqtt 2.x transport: connect, subscribe, enqueue, acknowledge.

* QoS (``mqtt.qos``, default 1) with a persistent session and a fixed client
  id: MQTT 5 ``clean_start=False`` + ``SessionExpiryInterval``; MQTT 3.1.1
  ``clean_session=False``. The broker keeps our subscriptions and queues QoS>0
  messages while we are away.
* Manual acknowledgement: the paho network thread only puts an
  :class:`Incoming` on a queue; the collector calls :meth:`ack` once the
  message's Samples have been handed to the sink. A message received on an
  earlier connection is not acknowledged (its packet id belongs to a dead
  connection): the broker redelivers it and the parsers drop the duplicate.
* Reconnects are paho's, with exponential backoff from 1 s to 60 s.
* ``mqtt.shared_group`` subscribes as ``$share/<group>/<filter>`` (an MQTT 5
  feature; Mosquitto also allows it for 3.1.1 clients) so several collectors
  split the load.
* Backpressure: the inbox queue is bounded; when it is full the network thread
  waits, the broker stops sending (QoS 1 in-flight window), nothing is dropped.

Secrets: the password is given to paho only; it is never logged and never part
of ``last_error``.
"""
from __future__ import annotations

import logging
import queue
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hotspot_monitor.config.models import MqttSettings
from hotspot_monitor.logutil import RateLimitedLog

from .topics import filter_of

log = logging.getLogger("collectors.mqtt")
EXCERPT = 512  # bytes kept of an oversized payload (for the dead-letter log)
MAX_TOPIC_BYTES = 1024  # longer topics are cut (no subscription of ours is that deep)
SESSION_EXPIRY_S = 7 * 86400  # how long the broker keeps our session (and queues for us)


@dataclass(frozen=True, slots=True)
class Incoming:
    topic: str
    payload: bytes
    qos: int
    mid: int
    retain: bool
    received: datetime
    generation: int  # which connection delivered it
    size: int = -1  # the payload's size on the wire when ``payload`` was cut (too large)


class MqttError(RuntimeError):
    pass


def decode_topic(raw: bytes) -> str:
    """paho's ``msg.topic`` raises on invalid UTF-8; never let a topic do that."""
    return raw.decode("utf-8", errors="replace")


SUBSCRIBE_CHUNK = 500  # topic filters per SUBSCRIBE packet (a shard may have thousands)


class MqttTransport:
    def __init__(self, settings: MqttSettings, inbox: "queue.Queue[Incoming]", *,
                 filters: Optional[list[str]] = None, client_id: Optional[str] = None):
        """``filters`` replace the subscriptions' own filters (a shard's per-device
        filters); ``client_id`` replaces ``settings.client_id`` (one session per shard)."""
        self.settings = settings
        self.inbox = inbox
        self.filters = filters
        self.client_id = client_id or settings.client_id
        self.connected = threading.Event()  # connected AND subscriptions acknowledged
        self.generation = 0
        self.connects = 0
        self.last_error: Optional[str] = None
        self._lock = threading.Lock()
        self._rl = RateLimitedLog(log, interval_s=60.0)
        v5 = settings.protocol == "5"
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=None if v5 else False,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            manual_ack=settings.qos > 0,
        )
        if settings.username is not None:
            pw = settings.password.get_secret_value() if settings.password else None
            self.client.username_pw_set(settings.username, pw)
        if settings.tls is not None:
            tls = settings.tls
            try:
                self.client.tls_set(ca_certs=tls.ca_file, certfile=tls.cert_file,
                                    keyfile=tls.key_file, cert_reqs=ssl.CERT_REQUIRED)
            except (OSError, ssl.SSLError, ValueError) as e:
                raise MqttError(f"MQTT TLS setup failed: {type(e).__name__}: {e.strerror or e}") from None
            if tls.insecure:
                self.client.tls_insecure_set(True)
        self.client.reconnect_delay_set(1, 60)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect_fail = self._on_connect_fail
        self._sub_mids: set[int] = set()
        self.stopping = threading.Event()
        self._link_up = False  # CONNACK received (queued messages may arrive before SUBACK)

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> None:
        self.stopping.clear()
        s = self.settings
        props = None
        kw: dict = {}
        if s.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            kw = {"clean_start": False, "properties": props}
        self.client.connect_async(s.host, s.port, s.keepalive_s, **kw)
        self.client.loop_start()

    def stop(self) -> None:
        """Clean DISCONNECT (the session, and unacknowledged messages, stay on the broker)."""
        self.stopping.set()
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            self.connected.clear()

    def ack(self, item: Incoming) -> bool:
        """Acknowledge one QoS>0 message if its connection is still the current one."""
        if item.qos == 0 or not self.settings.qos:
            return True
        with self._lock:
            if item.generation != self.generation or not self._link_up:
                return False
        return self.client.ack(item.mid, item.qos) == mqtt.MQTT_ERR_SUCCESS

    # -- paho callbacks (network thread: keep them short) --------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = f"connect refused: {reason_code}"
            self._rl.warning("MQTT %s:%s %s", self.settings.host, self.settings.port, self.last_error)
            return
        with self._lock:
            self.generation += 1
            self.connects += 1
            self._link_up = True
        self.last_error = None
        topics = []
        if self.filters is not None:
            topics = [(f, self.settings.qos) for f in self.filters]
        else:
            for sub in self.settings.subscriptions:
                f = sub.topic
                if self.settings.shared_group and not f.startswith("$share/"):
                    f = f"$share/{self.settings.shared_group}/{filter_of(sub)}"
                topics.append((f, self.settings.qos))
        mids = set()
        for i in range(0, len(topics), SUBSCRIBE_CHUNK):
            _, mid = client.subscribe(topics[i:i + SUBSCRIBE_CHUNK])
            mids.add(mid)
        with self._lock:
            self._sub_mids = mids
        if not topics:
            self.connected.set()
        log.info("MQTT connected to %s:%s (session present: %s)", self.settings.host,
                 self.settings.port, getattr(flags, "session_present", None))

    def _on_connect_fail(self, client, userdata) -> None:
        self.last_error = "connect failed (network or TLS)"
        self._rl.warning("MQTT %s:%s %s", self.settings.host, self.settings.port, self.last_error)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        # "connected" means subscribed: before SUBACK the broker may drop what we wait for
        with self._lock:
            if mid not in self._sub_mids:
                return
            self._sub_mids.discard(mid)
            done = not self._sub_mids
        bad = [str(rc) for rc in reason_codes if rc.is_failure]
        if bad:
            self.last_error = f"subscribe refused: {', '.join(sorted(set(bad)))}"
            self._rl.warning("MQTT %s", self.last_error)
        if done:
            self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._lock:
            was_up, self._link_up = self._link_up, False
        self.connected.clear()
        if was_up and reason_code.is_failure:  # else on_connect already said why
            self.last_error = f"disconnected: {reason_code}"
            self._rl.warning("MQTT %s", self.last_error)

    def _on_message(self, client, userdata, msg) -> None:
        payload, size = msg.payload, len(msg.payload)
        if size > self.settings.limits.max_payload_bytes:
            payload = payload[:EXCERPT]  # never queue oversized payloads: rejected as too_large
        topic = msg._topic[:MAX_TOPIC_BYTES]
        item = Incoming(decode_topic(topic), bytes(payload), msg.qos, msg.mid,
                        bool(msg.retain), datetime.now(timezone.utc), self.generation, size)
        # A full inbox (store down, backlog) blocks paho's network thread; never
        # forever, or stop() could not join it. A message dropped while stopping
        # is unacknowledged, so the broker delivers it again next time.
        while not self.stopping.is_set():
            try:
                self.inbox.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
