"""`hotspot-monitor poll FILE --once [--ap ID] [--json]` against snmpsim."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from hotspot_monitor.sample import Sample
from services.ports import free_port
from snmp_engines import engine  # noqa: F401 (fixture: every test runs on each engine)

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(ROOT / ".venv" / "bin" / "hotspot-monitor")]


def write_config(tmp: Path, port: int, dead_port: int, engine: str) -> Path:
    p = tmp / "poll.yaml"
    p.write_text(f"""
collector:
  engine: {engine}
  timeout_s: 1
  retries: 0
  snmp:
    version: 2c
    community: ${{UNIFI_COMMUNITY}}
sites:
  - {{id: park, name: Park, lat: -7.55, lon: 110.80}}
aps:
  - {{id: park-1, site: park, host: 127.0.0.1, port: {port}}}
  - {{id: park-dead, site: park, host: 127.0.0.1, port: {dead_port}}}
  - {{id: ap2, name: ap2, site: park, controller: wlc, mac: "a0:0f:37:1a:08:80"}}
controllers:
  - id: wlc
    host: 127.0.0.1
    port: {port}
    site: park
    snmp: {{version: 2c, community: ciscowlc_cbw240ac}}
""")
    return p


def poll(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, UNIFI_COMMUNITY="unifi_nanohd")
    return subprocess.run(CLI + ["poll", *args], capture_output=True, text=True, env=env, timeout=60)


def test_poll_json_one_round(snmpsim, tmp_path, engine):
    cfg = write_config(tmp_path, snmpsim.port, free_port(socket.SOCK_DGRAM), engine)
    r = poll(str(cfg), "--once", "--json")
    assert r.returncode == 0, r.stderr
    samples = [Sample.from_json(line) for line in r.stdout.splitlines()]
    assert all(line.startswith("{") for line in r.stdout.splitlines())
    by = {(s.measurement, s.tags["ap"], s.tags.get("radio")): s.fields for s in samples}
    assert by[("ap_clients", "park-1", "all")] == {"clients": 18}  # unifi_nanohd VAPs 4+0+14+0
    assert by[("ap_status", "park-dead", None)] == {"up": 0, "reason": "snmp_timeout"}
    # ap2's MAC a0:0f:37:1a:08:80 is in the WLC's table: mapped to the inventory AP and site
    assert by[("ap_clients", "ap2", "all")] == {"clients": 8}
    assert [s.tags["site"] for s in samples if s.tags["ap"] == "ap2"] == ["park"] * 4
    assert by[("controller_aps", "wlc", None)] == {"aps_total": 4, "aps_up": 4, "aps_down": 0}
    for secret in ("unifi_nanohd", "ciscowlc_cbw240ac"):
        assert secret not in r.stdout and secret not in r.stderr
    assert "park-dead" in r.stderr  # the failure is explained, by device


def test_poll_single_ap_and_managed_ap(snmpsim, tmp_path, engine):
    cfg = write_config(tmp_path, snmpsim.port, free_port(socket.SOCK_DGRAM), engine)
    r = poll(str(cfg), "--once", "--json", "--ap", "park-1")
    assert r.returncode == 0, r.stderr
    assert {Sample.from_json(x).tags["ap"] for x in r.stdout.splitlines()} == {"park-1"}
    r = poll(str(cfg), "--once", "--json", "--ap", "ap2")  # through its controller
    assert r.returncode == 0, r.stderr
    got = [Sample.from_json(x) for x in r.stdout.splitlines()]
    assert {s.tags["ap"] for s in got} == {"ap2"}
    assert {s.tags.get("radio"): s.fields for s in got if s.measurement == "ap_clients"} == {
        "2.4GHz": {"clients": 3}, "5GHz": {"clients": 5}, "all": {"clients": 8}}


def test_poll_exit_codes_and_table(snmpsim, tmp_path, engine):
    cfg = write_config(tmp_path, snmpsim.port, free_port(socket.SOCK_DGRAM), engine)
    r = poll(str(cfg), "--once", "--ap", "park-dead")
    assert r.returncode == 1 and "DOWN (snmp_timeout)" in r.stdout
    r = poll(str(cfg), "--once", "--ap", "nope")
    assert r.returncode == 2 and "nope" in r.stderr
    r = poll(str(cfg), "--once", "--ap", "park-1")
    assert r.returncode == 0 and "park-1: up, profile unifi" in r.stdout
    assert "ap_clients" in r.stdout and "radio=5GHz" in r.stdout
