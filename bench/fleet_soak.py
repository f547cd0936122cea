"""Soak: N simulated APs polled by ``hotspot-monitor run`` for a while; is it steady?

The fleet simulator (``hotspot-monitor simulate --addressing ips``: AP k answers
on 127.1.x.y, one UDP port) is sharded over ``--shards`` processes. ``run``
polls every AP (``profile: auto``: detection at first contact) every
``--interval`` seconds and writes to SQLite (or InfluxDB with ``--influx-url``).
Every 10 s this script samples the ``run`` process: CPU (from /proc), RSS,
and the last SNMP round from its ``runtime.json``. At the end it prints:

* poll rounds: p95 of one poll's duration, p95 of a poll's start after its
  slot, polls per round, failures by reason;
* false downs: outages in the state store for APs the simulator never took
  down (its own plan, same seed: ``simulate --plan``);
* collector CPU (cores, whole ``run`` process) and RSS over time, and RSS
  growth over the last two thirds of the soak.

Bounded: ``--aps`` <= 20000, ``--minutes`` <= 60; every process is stopped.

Rerun:  .venv/bin/python bench/fleet_soak.py --aps 2000 --minutes 10 [--shards 4] [--engine gufo] [--influxd]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspot_monitor.simulator.fleet import ip_address_for  # noqa: E402

CLI = str(ROOT / ".venv" / "bin" / "hotspot-monitor")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def fleet(n: int, port: int | None, interval: float, engine: str, store: dict) -> dict:
    sites = max(1, n // 8)
    cfg: dict = {
        "timezone": "Asia/Jakarta",
        "collector": {"interval_s": interval, "engine": engine, "timeout_s": 2, "retries": 1,
                      "concurrency": 200, "snmp": {"version": "2c", "community": "public"}},
        "store": store,
        "state": {"dir": "state", "url": "sqlite:///state/state.sqlite"},
        "sites": [{"id": f"s{s}", "name": f"Site {s}", "kind": "park",
                   "lat": round(-7.55 - (s % 100) * 0.0003, 4), "lon": round(110.80 + (s // 100) * 0.0003, 4)}
                  for s in range(sites)],
        "aps": [],
    }
    for k in range(n):
        ap = {"id": f"ap{k:05d}", "site": f"s{k % sites}", "profile": "auto"}
        if port is not None:
            ap.update(host=ip_address_for(k), port=port)
        else:
            ap.update(host="127.0.0.1", port=1)  # the simulator's copy: --addressing ips decides
        cfg["aps"].append(ap)
    return cfg


def proc_stat(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of a process."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / CLK_TCK, int(f[21]) * PAGE


def wait_line(proc: subprocess.Popen, needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if needle in line:
            return
        if not line and proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}) before '{needle}'")
    raise RuntimeError(f"no '{needle}' within {timeout} s")


def planned_downs(cfg_path: Path, t0: float, t1: float, cli: Optional[list[str]] = None,
                  env: Optional[dict[str, str]] = None) -> dict[str, list[tuple[float, float]]]:
    """The simulator's own outages/reboots/power cuts (from two days before t0: long ones
    started before the soak) up to t1, per AP (same seed)."""
    r = subprocess.run([*(cli or [CLI]), "simulate", str(cfg_path), "--plan", "--json", "--from",
                        str(int(t0) - 2 * 86400), "--to", str(int(t1) + 60)],
                       capture_output=True, text=True, timeout=300, env=env)
    r.check_returncode()
    cfg = json.loads(json.dumps(__import__("yaml").safe_load(cfg_path.read_text())))
    site_aps: dict[str, list[str]] = {}
    for ap in cfg["aps"]:
        site_aps.setdefault(ap["site"], []).append(ap["id"])
    out: dict[str, list[tuple[float, float]]] = {}
    for e in json.loads(r.stdout)["events"]:
        end = e["end"] if e["end"] is not None else float("inf")
        for ap in ([e["ap"]] if e["ap"] else site_aps.get(e["site"], [])):
            out.setdefault(ap, []).append((e["start"], end))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aps", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--interval", type=float, default=60)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--port", type=int, default=16161)
    ap.add_argument("--engine", default="gufo", choices=("gufo", "pysnmp"))
    ap.add_argument("--influx-url", help="write to this InfluxDB (1.x API) instead of SQLite")
    ap.add_argument("--influxd", action="store_true",
                    help="start a private influxd (Debian influxdb) on loopback and write there")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, stores)")
    a = ap.parse_args()
    a.aps, a.minutes = max(1, min(a.aps, 20000)), max(1.0, min(a.minutes, 60.0))
    tmp = Path(tempfile.mkdtemp(prefix="fleet-soak-"))
    influxd = None
    if a.influxd:
        sys.path.insert(0, str(ROOT / "tests"))
        from services.influxd import start_influxd

        influxd = start_influxd()
        a.influx_url = influxd.url
        influxd.query("CREATE DATABASE soak")
    store = ({"kind": "influxdb", "influxdb": {"url": a.influx_url, "database": "soak"}} if a.influx_url
             else {"kind": "sqlite", "sqlite": {"path": "metrics.sqlite"}})
    import yaml

    sim_cfg, run_cfg = tmp / "sim.yaml", tmp / "run.yaml"
    sim_cfg.write_text(yaml.safe_dump(fleet(a.aps, None, a.interval, a.engine, store), sort_keys=False))
    run_cfg.write_text(yaml.safe_dump(fleet(a.aps, a.port, a.interval, a.engine, store), sort_keys=False))
    procs: list[subprocess.Popen] = []
    samples: list[dict] = []
    try:
        t_sim = time.monotonic()
        for i in range(a.shards):
            procs.append(subprocess.Popen(
                [CLI, "simulate", str(sim_cfg), "--addressing", "ips", "--port", str(a.port),
                 "--shard", f"{i}/{a.shards}", "--no-mqtt", "--duration", str(int(a.minutes * 60 + 300))],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp))
        for p in procs:
            wait_line(p, "SNMP agents up", 300)
        print(f"simulator: {a.aps} APs in {a.shards} processes, up in {time.monotonic() - t_sim:.0f} s",
              flush=True)
        run_log = open(tmp / "run.log", "w")
        t_start = time.time()
        run = subprocess.Popen([CLI, "run", str(run_cfg)], stdout=run_log, stderr=subprocess.STDOUT, cwd=tmp)
        procs.append(run)
        runtime = tmp / "state" / "runtime.json"
        deadline = time.monotonic() + a.minutes * 60
        last_round = None
        while time.monotonic() < deadline and run.poll() is None:
            time.sleep(10)
            cpu, rss = proc_stat(run.pid)
            rt = json.loads(runtime.read_text()) if runtime.exists() else {}
            rnd = rt.get("snmp_round")
            samples.append({"t": time.time() - t_start, "cpu_s": cpu, "rss": rss, "round": rnd,
                            "snmp": rt.get("snmp", {})})
            if rnd and rnd != last_round:
                last_round = rnd
                print(f"  t={samples[-1]['t']:5.0f}s rss={rss / 2**20:6.1f} MB  round: {rnd['devices']} polls,"
                      f" poll p95 {rnd.get('poll_p95_s')} s, late p95 {rnd.get('late_p95_s')} s,"
                      f" cpu {rnd['cpu_s'] / rnd['seconds']:.2f} core, failures {rnd['failures']}", flush=True)
        t_end = time.time()
        if run.poll() is not None:
            print(f"run exited early ({run.returncode}); see {tmp / 'run.log'}")
            a.keep = True
        run.send_signal(signal.SIGTERM)
        run.wait(60)
        rounds = [s["round"] for s in samples if s["round"]]
        uniq = list({r["finished"]: r for r in rounds}.values())
        steady = uniq[1:] or uniq  # the first round holds detection
        plan = planned_downs(sim_cfg, t_start, t_end)
        con = sqlite3.connect(tmp / "state" / "state.sqlite")
        outages = con.execute("SELECT ap, start, reason FROM outages").fetchall()
        con.close()

        def planned(apid: str, start: str) -> bool:
            t = datetime.fromisoformat(start.replace(" ", "T"))
            ts = (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()
            return any(s - 600 <= ts <= e + 600 for s, e in plan.get(apid, []))
        false_downs = [(apid, start, why) for apid, start, why in outages if not planned(apid, start)]
        third = samples[len(samples) // 3:]
        rss_growth = (third[-1]["rss"] - third[0]["rss"]) / third[0]["rss"] if len(third) > 1 else 0.0
        cores = (samples[-1]["cpu_s"] - samples[len(samples) // 3]["cpu_s"]) / (
            samples[-1]["t"] - samples[len(samples) // 3]["t"]) if len(samples) > 3 else float("nan")
        print(f"\n{a.aps} APs, {a.minutes:g} min at {a.interval:g} s, engine {a.engine}, "
              f"store {'influxdb' if a.influx_url else 'sqlite'}, {a.shards} simulator processes")
        if uniq:
            first = uniq[0]
            print(f"first round (detection): {first['devices']} polls, poll p95 {first['poll_p95_s']} s, "
                  f"late p95 {first['late_p95_s']} s, {first['cpu_s'] / first['seconds']:.2f} core")
        if steady:
            print(f"steady rounds ({len(steady)}): poll p95 max {max(r['poll_p95_s'] for r in steady)} s, "
                  f"late p95 max {max(r['late_p95_s'] for r in steady)} s, polls/round "
                  f"{min(r['devices'] for r in steady)}-{max(r['devices'] for r in steady)}, "
                  f"CPU {min(r['cpu_s'] / r['seconds'] for r in steady):.2f}-"
                  f"{max(r['cpu_s'] / r['seconds'] for r in steady):.2f} core, "
                  f"failures {[r['failures'] for r in steady if r['failures']]}")
        print(f"run process CPU over the last two thirds: {cores:.2f} core")
        trace = ", ".join(f"{x['t']:.0f}s {x['rss'] / 2**20:.0f}" for x in samples[::max(1, len(samples) // 12)])
        peak = max(x["rss"] for x in samples) / 2**20
        print(f"RSS (MB): {trace}; last two thirds growth {100 * rss_growth:+.1f} %, peak {peak:.0f} MB")
        print(f"outages: {len(outages)}, false downs (no planned event for the AP): {len(false_downs)}"
              + (f" e.g. {false_downs[:3]}" if false_downs else ""))
        print(f"snmp stats: { {k: v for k, v in samples[-1]['snmp'].items() if not k.startswith('missing.')} }")
        print(f"rerun: .venv/bin/python bench/fleet_soak.py --aps {a.aps} --minutes {a.minutes:g} "
              f"--interval {a.interval:g} --shards {a.shards} --engine {a.engine}"
              + (" --influxd" if influxd else f" --influx-url {a.influx_url}" if a.influx_url else ""))
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        if influxd is not None:
            influxd.stop()
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
