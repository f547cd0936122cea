"""Interoperability with a real publisher: Debian's collectd (mqtt plugin)
publishing this machine's loopback, load, memory, cpu and uptime metrics to a
real Mosquitto; the collector's Samples are checked against collectd's raw
messages (seen by an independent subscriber) and against /proc."""
from __future__ import annotations

import math
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from collectors.mqtt import MqttCollector
from services.mosquitto import SampleSink, mqtt_config, publisher
from services.ports import stop

COLLECTD = "/usr/sbin/collectd"
HOST = "pg1-host"  # the inventory's mqtt_id of AP pg-1 (site pasar-gede)

CONF = """\
Hostname "{host}"
FQDNLookup false
Interval 1
BaseDir "{d}"
PIDFile "{d}/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{d}/collectd.log"
</Plugin>
LoadPlugin interface
<Plugin interface>
  Interface "lo"
  IgnoreSelected false
</Plugin>
LoadPlugin load
LoadPlugin memory
LoadPlugin uptime
LoadPlugin cpu
<Plugin cpu>
  ReportByCpu false
  ReportByState false
  ValuesPercentage true
</Plugin>
LoadPlugin mqtt
<Plugin mqtt>
  <Publish "test">
    Host "127.0.0.1"
    Port "{port}"
    ClientId "collectd-{prefix}"
    Prefix "{prefix}"
    StoreRates {rates}
  </Publish>
</Plugin>
"""


def lo_bytes() -> tuple[int, int]:
    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name.strip() == "lo":
            f = rest.split()
            return int(f[0]), int(f[8])
    raise AssertionError("no lo in /proc/net/dev")


def loopback_traffic(nbytes: int) -> None:
    """Send ``nbytes`` through a loopback TCP connection (bounded: one transfer)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = []

    def sink():
        conn, _ = srv.accept()
        n = 0
        while n < nbytes:
            b = conn.recv(1 << 16)
            if not b:
                break
            n += len(b)
        got.append(n)
        conn.close()

    t = threading.Thread(target=sink)
    t.start()
    with socket.create_connection(srv.getsockname()) as c:
        c.sendall(b"x" * nbytes)
    t.join(30)
    srv.close()
    assert got == [nbytes]


class Raw:
    """An independent subscriber recording collectd's raw messages."""

    def __init__(self, port: int, prefix: str):
        self.msgs: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        self.c = publisher(port)
        self.c.on_message = lambda cl, ud, m: self._add(m.topic, bytes(m.payload))
        self.c.on_subscribe = lambda *a: ready.set()
        self.c.subscribe(f"{prefix}/#", qos=0)
        assert ready.wait(10)

    def _add(self, t, p):
        with self.lock:
            self.msgs.append((t, p))

    def series(self, suffix: str) -> list[tuple[float, list[float]]]:
        with self.lock:
            out = []
            for t, p in self.msgs:
                if t.endswith(suffix):
                    parts = p.rstrip(b"\0").decode().split(":")
                    out.append((float(parts[0]), [float(x) for x in parts[1:]]))
            return out


@pytest.mark.parametrize("store_rates", [True, False])
def test_collectd_publisher_round_trip(mosquitto, mqtt_prefix, tmp_path, store_rates):
    assert Path("/usr/lib/collectd/mqtt.so").exists(), "collectd-core with mqtt.so is required"
    cfg = mqtt_config(mosquitto.port, mqtt_prefix, subscriptions=[
        {"topic": f"{mqtt_prefix}/#", "format": "collectd", "store_rates": store_rates}])
    sink = SampleSink()
    c = MqttCollector(cfg, on_samples=sink, dead_letter_path=tmp_path / "dl.jsonl")
    c.start()
    assert c.wait_connected(10)
    raw = Raw(mosquitto.port, mqtt_prefix)
    d = tmp_path / "collectd"
    d.mkdir()
    (d / "collectd.conf").write_text(CONF.format(host=HOST, d=d, port=mosquitto.port, prefix=mqtt_prefix,
                                                 rates="true" if store_rates else "false"))
    p0 = lo_bytes()
    proc = subprocess.Popen([COLLECTD, "-f", "-C", str(d / "collectd.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    traffic = 3_000_000
    try:
        tr = lambda: sink.of("ap_traffic", ap="pg-1", iface="lo")  # noqa: E731
        sink.wait(lambda: len(tr()) >= 1, timeout=30, what="first ap_traffic from collectd")
        loopback_traffic(traffic)
        n = len(tr())
        sink.wait(lambda: len(tr()) >= n + 2, timeout=30, what="ap_traffic after the transfer")
        sink.wait(lambda: sink.of("ap_system", ap="pg-1") and sink.of("ap_status", ap="pg-1"), timeout=30)
        sink.wait(lambda: any("mem_pct" in s.fields for s in sink.of("ap_system", ap="pg-1"))
                  and any("cpu_pct" in s.fields for s in sink.of("ap_system", ap="pg-1")), timeout=30)
    finally:
        stop(proc)
        log = (d / "collectd.log").read_text(errors="replace") if (d / "collectd.log").exists() else ""
    p1 = lo_bytes()
    time.sleep(0)  # the collector may still be draining; take a consistent copy below
    try:
        samples = tr()
        assert samples, log
        for s in samples:
            assert s.tags == {"site": "pasar-gede", "ap": "pg-1", "iface": "lo"}
            assert s.fields["rx_bytes"] == s.fields["tx_bytes"]  # loopback: every byte is both
        # exact against collectd's own messages
        octets = raw.series("/interface-lo/if_octets")
        want = {}
        for (t1, v1), (t2, v2) in zip(octets, octets[1:]):
            if store_rates:
                if math.isnan(v2[0]):
                    continue
                want[t2] = (round(v2[0] * (t2 - t1)), round(v2[1] * (t2 - t1)), v2[0] * 8, v2[1] * 8)
            else:
                want[t2] = (int(v2[0]) - int(v1[0]), int(v2[1]) - int(v1[1]),
                            (int(v2[0]) - int(v1[0])) * 8 / (t2 - t1), (int(v2[1]) - int(v1[1])) * 8 / (t2 - t1))
        got = {s.time.timestamp(): (s.fields["rx_bytes"], s.fields["tx_bytes"], s.fields["rx_bps"],
                                    s.fields["tx_bps"]) for s in samples}
        for t, g in got.items():
            w = next(v for k, v in want.items() if abs(k - t) < 1e-5)
            assert g[:2] == w[:2]
            assert g[2] == pytest.approx(w[2], rel=1e-9) and g[3] == pytest.approx(w[3], rel=1e-9)
        # consistent with /proc/net/dev: all of the transfer, no more than the kernel counted
        total = sum(s.fields["rx_bytes"] for s in samples)
        # (with StoreRates, collectd prints times to the millisecond: the rate * dt
        # products can be off by ~0.1% of an interval's bytes)
        assert total <= (p1[0] - p0[0]) * (1.002 if store_rates else 1.0)
        assert total >= traffic * (0.999 if store_rates else 1.0)

        up = sink.of("ap_status", ap="pg-1")[-1]
        proc_up = float(Path("/proc/uptime").read_text().split()[0])
        age = (datetime.now(timezone.utc) - up.time).total_seconds()
        assert up.fields["up"] == 1
        assert abs(up.fields["uptime_s"] - (proc_up - age)) <= 2.0
        assert up.tags == {"site": "pasar-gede", "ap": "pg-1", "source": "mqtt"}

        system = sink.of("ap_system", ap="pg-1")
        loads = [s.fields["load1"] for s in system if "load1" in s.fields]
        raw_loads = [v[0] for _, v in raw.series("/load/load")]
        assert loads and loads == raw_loads[:len(loads)]
        mem = [s for s in system if "mem_pct" in s.fields]
        kinds: dict[float, dict[str, float]] = {}
        with raw.lock:
            for t, p in raw.msgs:
                if "/memory/memory-" in t:
                    ts, v = p.rstrip(b"\0").decode().split(":")
                    kinds.setdefault(float(ts), {})[t.rsplit("-", 1)[1]] = float(v)
        for s in mem:
            k = next(v for ts, v in kinds.items() if abs(ts - s.time.timestamp()) < 1e-5)
            assert s.fields["mem_pct"] == pytest.approx(100 * k["used"] / sum(k.values()), rel=1e-12)
            assert 0 < s.fields["mem_pct"] < 100
        assert all(0 <= s.fields["cpu_pct"] <= 100 for s in system if "cpu_pct" in s.fields)
        st = c.stats
        assert st["rejected"] == 0, (st, (tmp_path / "dl.jsonl").read_text())
        assert st["ignored"] > 0  # if_packets, if_errors, if_dropped
    finally:
        c.stop()
        raw.c.loop_stop()
