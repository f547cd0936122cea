"""Simulated APs publish telemetry schema v1 to a real Mosquitto, with LWT presence."""
from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collectors.mqtt.telemetry import decode_telemetry
from hotspot_monitor.config import parse_config
from hotspot_monitor.simulator import Simulator
from hotspot_monitor.simulator.background import BackgroundSimulator
from services.ports import wait_for


def config(port: int, prefix: str) -> str:
    return f"""
timezone: Asia/Jakarta
mqtt: {{enabled: true, host: 127.0.0.1, port: {port}, topic_prefix: {prefix}, keepalive_s: 5}}
collector: {{interval_s: 1, snmp: {{version: 2c, community: public}}}}
sites:
  - {{id: taman, name: Taman, kind: park, lat: -7.56, lon: 110.82}}
  - {{id: pasar, name: Pasar, kind: market, lat: -7.57, lon: 110.83}}
aps:
  - {{id: taman-1, site: taman, host: 127.0.0.1, port: 1, profile: unifi, mqtt_id: tmn-1}}
  - {{id: taman-2, site: taman, host: 127.0.0.1, port: 1, profile: mikrotik, mqtt_id: tmn-2}}
  - {{id: pasar-1, site: pasar, host: 127.0.0.1, port: 1, profile: generic, mqtt_id: psr-1}}
  - {{id: pasar-2, site: pasar, host: 127.0.0.1, port: 1, profile: openwrt}}
"""


class Sub:
    """A real subscriber recording every message (topic, payload, retained, arrival)."""

    def __init__(self, port: int, prefix: str) -> None:
        self.msgs: list[tuple[str, bytes, bool, float]] = []
        self.lock = threading.Lock()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sim-test-sub", protocol=mqtt.MQTTv311)
        self.c.on_message = lambda c, u, m: self._add(m)
        self.c.on_connect = lambda c, u, f, rc, p=None: c.subscribe(f"{prefix}/#", qos=1)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _add(self, m: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.msgs.append((m.topic, m.payload, bool(m.retain), time.time()))

    def since(self, t: float, topic: str) -> list[bytes]:
        with self.lock:
            return [p for (tp, p, _, at) in self.msgs if tp == topic and at >= t]

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def test_telemetry_presence_and_power_cut(mosquitto, mqtt_prefix) -> None:
    p = mqtt_prefix
    sim = Simulator(parse_config(config(mosquitto.port, p)), seed=5, addressing="ports")
    for ap in sim.model.aps:  # keep planned events out of this short test
        sim.plan.runtime.boots[ap] = [sim.now() - 3600]
    assert all(sim.plan.down_reason(a, sim.now()) is None for a in sim.model.aps)
    sub = Sub(mosquitto.port, p)
    try:
        with BackgroundSimulator(sim):
            t0 = time.time() - 1
            st = {a: f"{p}/{s}/{d}/status" for a, s, d in
                  (("taman-1", "taman", "tmn-1"), ("taman-2", "taman", "tmn-2"), ("pasar-1", "pasar", "psr-1"))}
            tel = {a: t.replace("/status", "/telemetry") for a, t in st.items()}
            wait_for(lambda: all(b"online" in sub.since(t0, s) for s in st.values())
                     and all(len(sub.since(t0, t)) >= 2 for t in tel.values()), 30, "telemetry")
            assert not any(m[0].startswith(f"{p}/pasar/pasar-2") for m in sub.msgs)  # no mqtt_id
            for ap, topic in tel.items():
                for payload in sub.since(t0, topic):
                    m = decode_telemetry(payload)
                    s = sim.state(ap, m.ts)  # same model as the SNMP agent, at the device's ts
                    assert m.clients == {"2.4GHz": s.clients_24, "5GHz": s.clients_5}
                    assert {k: (v.rx_bytes, v.tx_bytes, v.bits) for k, v in m.ifaces.items()} == \
                        {k: (i, o, s.bits) for k, (i, o) in s.counters.items()}
                    assert m.uptime_s == s.uptime_s and m.cpu_pct == s.cpu_pct
            # Site power cut: both Taman APs vanish, the broker publishes their wills.
            t1 = time.time()
            sim.power_cut("taman")
            wait_for(lambda: all(sub.since(t1, st[a])[-1:] == [b"offline"] for a in ("taman-1", "taman-2")),
                     20, "last will")
            time.sleep(0.3)
            t2 = time.time()
            wait_for(lambda: len(sub.since(t2, tel["pasar-1"])) >= 2, 20, "pasar keeps publishing")
            assert sub.since(t2, tel["taman-1"]) == [] and sub.since(t2, tel["taman-2"]) == []
            # Power back: the APs reconnect, say online, and report a fresh uptime.
            t3 = time.time()
            sim.power_restore("taman")
            wait_for(lambda: all(b"online" in sub.since(t3, st[a]) and sub.since(t3, tel[a])
                                 for a in ("taman-1", "taman-2")), 30, "back online")
            m = decode_telemetry(sub.since(t3, tel["taman-1"])[0])
            assert m.uptime_s is not None and m.uptime_s < 10
        # A clean stop publishes "offline" too (retained).
        wait_for(lambda: sub.since(t3, st["pasar-1"])[-1:] == [b"offline"], 20, "offline on stop")
    finally:
        sub.close()
