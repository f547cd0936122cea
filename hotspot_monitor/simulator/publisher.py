"""MQTT publishers: APs with an ``mqtt_id`` publish telemetry schema v1.

One paho client per AP (a thread each: fine for tens of APs; for hundreds
run several simulator processes). Each client sets the retained last will
``offline`` on its status topic and publishes a retained ``online`` once
connected. While the AP is down (any reason) the client is dropped
*uncleanly* (socket closed without DISCONNECT) so the broker fires the will,
as it would when an AP loses power; it reconnects when the AP is back.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import TYPE_CHECKING, Optional

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collectors.mqtt.telemetry import (OFFLINE, ONLINE, IfaceCounters, TelemetryV1, encode_telemetry,
                                       status_topic, telemetry_topic)

if TYPE_CHECKING:
    from .fleet import Simulator

log = logging.getLogger(__name__)


def telemetry_for(sim: "Simulator", ap_id: str, t: float) -> TelemetryV1:
    """The telemetry message an AP publishes at t (same model as its SNMP agent)."""
    st = sim.state(ap_id, t)
    return TelemetryV1(
        ts=t, uptime_s=st.uptime_s,
        clients={"2.4GHz": st.clients_24, "5GHz": st.clients_5},
        ifaces={n: IfaceCounters(rx_bytes=i, tx_bytes=o, bits=st.bits) for n, (i, o) in st.counters.items()},
        cpu_pct=st.cpu_pct, mem_pct=st.mem_pct, temp_c=st.temp_c)


class _ApClient:
    def __init__(self, fleet: "MqttFleet", ap_id: str, site: str, device: str) -> None:
        self.fleet, self.ap_id = fleet, ap_id
        prefix = fleet.settings.topic_prefix
        self.t_topic = telemetry_topic(prefix, site, device)
        self.s_topic = status_topic(prefix, site, device)
        self.device = device
        self.client: Optional[mqtt.Client] = None
        self.last_pub = 0.0

    def connect(self) -> None:
        s = self.fleet.settings
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{self.device}",
                        protocol=mqtt.MQTTv311, clean_session=True)
        if s.username:
            c.username_pw_set(s.username, s.password.get_secret_value() if s.password else None)
        c.will_set(self.s_topic, OFFLINE, qos=1, retain=True)
        c.on_connect = self._on_connect
        c.reconnect_delay_set(1, 10)
        c.connect_async(s.host, s.port, keepalive=s.keepalive_s)
        c.loop_start()
        self.client = c

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, rc: object,
                    props: object = None) -> None:
        if not getattr(rc, "is_failure", False):
            client.publish(self.s_topic, ONLINE, qos=1, retain=True)

    def drop(self) -> None:
        """Vanish like a powered-off AP: no DISCONNECT, so the broker sends the will."""
        c, self.client = self.client, None
        if c is None:
            return
        sock = c.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        # joining paho's thread can take a second (its select timeout): never on
        # the simulator's event loop, where it would stall every SNMP agent
        threading.Thread(target=c.loop_stop, name="mqtt-drop", daemon=True).start()

    def close(self) -> None:
        """Clean stop (simulator shut down): publish offline, then disconnect."""
        c, self.client = self.client, None
        if c is None:
            return
        if c.is_connected():
            c.publish(self.s_topic, OFFLINE, qos=1, retain=True).wait_for_publish(2)
        c.disconnect()
        c.loop_stop()


class MqttFleet:
    """Runs the publishers of every AP with an ``mqtt_id``."""

    def __init__(self, sim: "Simulator", interval_s: Optional[float] = None, tick_s: float = 0.25) -> None:
        self.sim = sim
        self.settings = sim.config.mqtt
        self.interval_s = interval_s or sim.config.collector.interval_s
        self.tick_s = tick_s
        self.clients = {a.id: _ApClient(self, a.id, a.site, a.mqtt_id)
                        for _, a in sim.served if a.mqtt_id}
        self._task: Optional[asyncio.Task] = None
        self.published = 0

    async def start(self) -> None:
        self.sync()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def sync(self) -> None:
        """Connect APs that are up, drop those that are down; publish what is due."""
        t = self.sim.now()
        for ap_id, c in self.clients.items():
            up = self.sim.plan.down_reason(ap_id, t) is None
            if not up:
                if c.client is not None:
                    c.drop()
                continue
            if c.client is None:
                c.connect()
                c.last_pub = 0.0
            if c.client.is_connected() and t - c.last_pub >= self.interval_s:
                msg = encode_telemetry(telemetry_for(self.sim, ap_id, t))
                c.client.publish(c.t_topic, msg, qos=self.settings.qos if self.settings.qos < 2 else 1)
                c.last_pub = t
                self.published += 1

    async def _run(self) -> None:
        while True:
            try:
                self.sync()
            except Exception:  # keep publishing for the other APs
                log.exception("simulator: MQTT publish cycle failed")
            await asyncio.sleep(self.tick_s)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for c in self.clients.values():
            c.close()
