"""`hotspot-monitor simulate` end to end: plan, serve + inventory + control, backfill."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from hotspot_monitor.config import load_config
from hotspot_monitor.simulator import Clock, Simulator
from hotspot_monitor.simulator.backfill import backfill
from hotspot_monitor.stores.factory import open_store
from services.ports import free_port, stop, wait_for

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "deploy" / "examples" / "surakarta.yaml"
COMMUNITY = "c0mmunity-Sec-7731"  # must never be printed or written by the simulator


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hotspot_monitor", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env={**os.environ, **(env or {})})


def test_example_inventory_is_valid() -> None:
    r = cli("check-config", str(EXAMPLE))
    assert r.returncode == 0, r.stderr
    assert "31 sites, 65 APs" in r.stdout
    cfg = load_config(EXAMPLE, env={})
    assert cfg.timezone == "Asia/Jakarta" and cfg.mqtt.enabled and cfg.store.kind == "sqlite"
    for s in cfg.sites:
        assert -7.60 < s.lat < -7.53 and 110.79 < s.lon < 110.87, s.id
        assert s.district in ("Banjarsari", "Jebres", "Laweyan", "Pasar Kliwon", "Serengan")
    per_site = {s.id: sum(1 for a in cfg.aps if a.site == s.id) for s in cfg.sites}
    assert all(1 <= n <= 4 for n in per_site.values())
    assert {a.profile for a in cfg.aps} == {"unifi", "mikrotik", "generic", "openwrt"}
    assert sum(1 for a in cfg.aps if a.mqtt_id) >= 5
    assert len({(a.host, a.port) for a in cfg.aps}) == len(cfg.aps)


def test_plan_is_deterministic_per_seed() -> None:
    args = ("simulate", str(EXAMPLE), "--plan", "--json", "--from", "2026-10-01", "--to", "2026-10-15")
    a, b, c = cli(*args), cli(*args), cli(*args, "--seed", "2")
    assert a.returncode == 0, a.stderr
    pa = json.loads(a.stdout)
    assert pa == json.loads(b.stdout)
    assert pa["events"] != json.loads(c.stdout)["events"]
    kinds = {e["kind"] for e in pa["events"]}
    assert {"reboot", "outage", "power_cut"} <= kinds
    t0 = datetime(2026, 10, 1, tzinfo=timezone.utc).timestamp()
    assert all(t0 <= e["start"] < t0 + 14 * 86400 for e in pa["events"])
    # Power cuts are listed once per site, for all of its APs.
    assert all(e["ap"] is None for e in pa["events"] if e["kind"] == "power_cut")
    text = cli("simulate", str(EXAMPLE), "--plan", "--from", "2026-10-01", "--to", "2026-10-15")
    assert f"{len(pa['events'])} events, times in Asia/Jakarta" in text.stdout


def snmpget(host: str, port: int, oid: str, community: str, timeout: float = 1.0) -> subprocess.CompletedProcess:
    return subprocess.run(["snmpget", "-On", "-v2c", "-c", community, "-t", str(timeout), "-r", "0",
                           f"udp:{host}:{port}", oid], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "MIBS": ""})


def test_serve_with_inventory_and_control(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    ctl = free_port()
    log = tmp_path / "sim.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hotspot_monitor", "simulate", str(EXAMPLE),
                                 "--addressing", "ports", "--no-mqtt", "--inventory", str(inv),
                                 "--control-port", str(ctl), "--duration", "120"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "SNMP_COMMUNITY": COMMUNITY})
    try:
        wait_for(lambda: inv.exists() and "inventory written" in log.read_text(), 60, "simulate", proc, str(log))
        raw = inv.read_text()
        assert COMMUNITY not in raw and "${SNMP_COMMUNITY:-public}" in raw  # references stay unexpanded
        cfg = load_config(inv, env={"SNMP_COMMUNITY": COMMUNITY})
        ap = next(a for a in cfg.aps if a.site == "manahan")
        assert ap.port != 16101 or ap.id == "balekambang-1"
        r = snmpget(ap.host, ap.port, ".1.3.6.1.2.1.1.5.0", COMMUNITY)
        assert r.returncode == 0 and f'"{ap.id}"' in r.stdout, r.stderr
        base = f"http://127.0.0.1:{ctl}"

        def post(path: str) -> dict:
            req = urllib.request.Request(base + path, method="POST")
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read())

        # "Stop AP x now, revive it later", then "site power cut now".
        assert post(f"/down?ap={ap.id}")["ok"]
        assert snmpget(ap.host, ap.port, ".1.3.6.1.2.1.1.5.0", COMMUNITY, 0.5).returncode != 0
        assert post(f"/up?ap={ap.id}")["ok"]
        assert snmpget(ap.host, ap.port, ".1.3.6.1.2.1.1.5.0", COMMUNITY).returncode == 0
        assert post("/cut?site=manahan&for=600")["ok"]
        for a in (a for a in cfg.aps if a.site == "manahan"):
            assert snmpget(a.host, a.port, ".1.3.6.1.2.1.1.5.0", COMMUNITY, 0.3).returncode != 0
        assert post("/restore?site=manahan")["ok"]
        assert snmpget(ap.host, ap.port, ".1.3.6.1.2.1.1.5.0", COMMUNITY).returncode == 0
        stats = json.loads(urllib.request.urlopen(base + "/stats", timeout=10).read())
        assert stats["dropped_down"] >= 5 and stats["answered"] >= 3
    finally:
        proc.send_signal(2)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            stop(proc)
    text = log.read_text()
    assert "simulate: stopped" in text and COMMUNITY not in text


def test_backfill_equals_live_values(tmp_path: Path) -> None:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["store"]["sqlite"]["path"] = str(tmp_path / "m.sqlite")
    raw["sites"] = [s for s in raw["sites"] if s["id"] in ("balekambang", "pasar-gede", "uns")]
    raw["aps"] = [a for a in raw["aps"] if a["site"] in ("balekambang", "pasar-gede", "uns")]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    # The day of a planned power cut at Balekambang (seed 1): 2026-11-07 08:17 WIB.
    end = datetime(2026, 11, 8, 0, 0, tzinfo=timezone.utc).timestamp()
    r = cli("simulate", str(path), "--backfill", "1d", "--start", str(end))
    assert r.returncode == 0, r.stderr
    assert "backfilled 1 days of SIMULATED data at 300 s" in r.stdout
    cfg = load_config(path, env={})
    sim = Simulator(cfg, seed=1, clock=Clock(end, 0), mqtt=False)
    store = open_store(cfg.store, tmp_path)
    try:
        ap = "pasar-gede-2"
        t = datetime(2026, 11, 7, 2, 0, tzinfo=timezone.utc)  # Saturday 09:00 in Solo, market busy
        got = store.aggregate("ap_clients", "clients", start=t, end=t + timedelta(minutes=30),
                              every=timedelta(minutes=5), agg="last", tags={"ap": ap, "radio": "all"})
        exp = [sum(sim.model.clients(ap, t.timestamp() + 300 * i)) for i in range(6)]
        assert [b.value for b in got[0].buckets] == exp and sum(exp) > 0
        # Interval bytes of the uplink = counter difference of the live agent.
        tr = store.aggregate("ap_traffic", "rx_bytes", start=t, end=t + timedelta(minutes=10),
                             every=timedelta(minutes=5), agg="sum", tags={"ap": ap, "iface": "ether1"})
        s0, s1 = sim.state(ap, t.timestamp() - 300), sim.state(ap, t.timestamp())
        if sim.plan.last_boot(ap, t.timestamp() - 300) == sim.plan.last_boot(ap, t.timestamp()):
            assert tr[0].buckets[0].value == s1.counters["ether1"][0] - s0.counters["ether1"][0]
        # Planned outages and power cuts appear as ap_event down/up pairs.
        t_start = end - 86400
        exp_ev: dict = {}
        for e in sim.plan.events(t_start - 86400, end):
            if e.kind not in ("outage", "power_cut"):
                continue
            n = (t_start <= e.start < end) + (t_start <= e.end < end)
            for a in ([e.ap] if e.ap else sim.model.site_aps[e.site]):
                if n:
                    exp_ev[(a,)] = exp_ev.get((a,), 0) + n
        got_ev = store.totals("ap_event", "state", start=datetime.fromtimestamp(t_start, timezone.utc),
                              end=datetime.fromtimestamp(end, timezone.utc), group_by=("ap",), agg="count")
        assert got_ev == exp_ev and len(exp_ev) >= 3  # the power cut: every Balekambang AP
    finally:
        store.close()


def test_backfill_in_process_counts(tmp_path: Path) -> None:
    cfg = load_config(EXAMPLE, env={})
    sim = Simulator(cfg, seed=1, mqtt=False)
    end = datetime(2026, 11, 20, tzinfo=timezone.utc).timestamp()

    class Memory:
        def __init__(self) -> None:
            self.samples: list = []

        def write(self, s) -> None:  # noqa: ANN001
            self.samples += list(s)

        def flush(self) -> None:
            pass

        def refresh_rollups(self) -> None:
            pass

    mem = Memory()
    t0 = time.monotonic()
    counts = backfill(sim, mem, end - 3600, end)  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 30
    up = sum(1 for s in mem.samples if s.measurement == "ap_status" and s.fields["up"] == 1)
    down = sum(1 for s in mem.samples if s.measurement == "ap_status" and s.fields["up"] == 0)
    assert up + down == 65 * 12 and counts["ap_status"] == 65 * 12
    assert counts["ap_clients"] == 3 * up


def test_shards_split_the_fleet_without_overlap() -> None:
    cfg = load_config(EXAMPLE, env={})
    shards = [Simulator(cfg, seed=1, shard=(i, 3), mqtt=False) for i in range(3)]
    served = [set(s.agents) for s in shards]
    assert sum(len(x) for x in served) == 65 and set().union(*served) == {a.id for a in cfg.aps}
    assert not served[0] & served[1] and not served[1] & served[2]
    # Every shard computes the same values for any AP (same model and seed).
    t = datetime(2026, 11, 22, 0, 30, tzinfo=timezone.utc).timestamp()
    assert shards[0].state("uns-1", t) == shards[2].state("uns-1", t)
