"""The collector's last SNMP round: poll_once, run's interval windows, runtime.json and `status --json`."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from collectors.snmp import SnmpCollector
from hotspot_monitor.config import load_config
from hotspot_monitor.config.models import Config
from hotspot_monitor.runner import Service, ServicePaths
from snmp_engines import engine  # noqa: F401 (fixture: every test runs on each engine)

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"devices", "seconds", "cpu_s", "failures", "finished", "poll_p95_s", "late_p95_s"}


def make_config(port: int, sink_port: int, **collector) -> Config:
    return Config.model_validate({
        "collector": collector,
        "sites": [{"id": "s", "name": "S", "lat": -7.5, "lon": 110.8}],
        "aps": [{"id": "unifi_nanohd", "site": "s", "host": "127.0.0.1", "port": port,
                 "snmp": {"version": "2c", "community": "unifi_nanohd"}},
                {"id": "black-hole", "site": "s", "host": "127.0.0.1", "port": sink_port,
                 "timeout_s": 0.5, "retries": 0, "snmp": {"version": "2c", "community": "x"}}],
    })


def sink() -> socket.socket:
    """A UDP port that swallows every request: the device never answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def recent(iso: str) -> bool:
    t = datetime.fromisoformat(iso)
    return t.tzinfo is not None and abs(datetime.now(timezone.utc) - t) < timedelta(minutes=1)


def test_poll_once_is_a_round(snmpsim, engine):
    with sink() as hole:
        coll = SnmpCollector(make_config(snmpsim.port, hole.getsockname()[1], engine=engine))
        assert coll.last_round is None

        async def go():
            try:
                return await coll.poll_once()
            finally:
                await coll.close()
        t0 = time.monotonic()
        asyncio.run(go())
        wall = time.monotonic() - t0
    rnd = coll.last_round
    assert set(rnd) == KEYS
    assert rnd["devices"] == 2 and rnd["failures"] == {"snmp_timeout": 1}
    assert 0.5 <= rnd["seconds"] <= wall  # the black hole's 0.5 s timeout is in it
    assert 0.5 <= rnd["poll_p95_s"] <= rnd["seconds"]  # of 2 polls, the 95th percentile is the slower
    assert rnd["late_p95_s"] == 0  # no schedule: nothing is late
    assert 0 < rnd["cpu_s"] < 10
    assert recent(rnd["finished"])


def test_run_reports_the_polls_of_the_last_full_interval_window(snmpsim, engine):
    with sink() as hole:
        coll = SnmpCollector(make_config(snmpsim.port, hole.getsockname()[1], interval_s=0.6, engine=engine))

        async def go():
            stop = asyncio.Event()
            task = asyncio.create_task(coll.run(stop))
            rounds = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and len(rounds) < 4:
                if coll.last_round is not None and (not rounds or coll.last_round != rounds[-1]):
                    rounds.append(coll.last_round)
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(task, 5)
            await coll.close()
            return rounds
        rounds = asyncio.run(go())
    assert len(rounds) == 4, rounds
    for rnd in rounds:
        assert set(rnd) == KEYS
        assert 0.5 <= rnd["seconds"] < 2.0  # one collector.interval_s window (0.6 s), loaded machine
    # both devices poll every 0.6 s: over the 4 windows, about 4 polls each (first ones staggered)
    assert 5 <= sum(r["devices"] for r in rounds) <= 10
    assert sum(r["failures"].get("snmp_timeout", 0) for r in rounds) >= 2
    assert all(set(r["failures"]) <= {"snmp_timeout"} for r in rounds)


def test_runtime_and_status_json_carry_the_last_round(snmpsim, tmp_path, engine):
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(
        f"collector: {{interval_s: 0.5, engine: {engine}}}\n"
        "sites:\n  - {id: s, name: S, lat: -7.5, lon: 110.8}\n"
        f"aps:\n  - {{id: unifi_nanohd, site: s, host: 127.0.0.1, port: {snmpsim.port},"
        " snmp: {version: 2c, community: unifi_nanohd}}\n")
    cfg = load_config(cfg_path)
    runtime = ServicePaths(tmp_path).runtime_file(cfg)
    service = Service(cfg, base_dir=tmp_path, housekeeping_s=0.2)

    async def go():
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if runtime.exists() and (json.loads(runtime.read_text()).get("snmp_round") or {}).get("devices"):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 30)
    asyncio.run(go())
    rnd = json.loads(runtime.read_text())["snmp_round"]
    assert set(rnd) == KEYS and rnd["devices"] >= 1 and rnd["failures"] == {}

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "status", str(cfg_path), "--json",
                        "--base-dir", str(tmp_path)], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)["service"]["snmp_round"]
    assert shown == rnd
    r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "status", str(cfg_path),
                        "--base-dir", str(tmp_path)], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert f"last SNMP round: {rnd['devices']} devices in {rnd['seconds']} s" in r.stdout
