"""Shards soak: N simulated APs polled by K ``run --shard i/K`` processes on one
PostgreSQL state store and one influxd; then the leader is killed.

Everything on loopback: a private PostgreSQL and influxd (tests/services), the
fleet simulator (``simulate --addressing ips``, ``--sim-procs`` processes) and
the K shards, each polling its own APs every ``--interval`` seconds. Every 10 s
this script samples each shard (CPU from /proc, RSS, its ``runtime.json``) and
PostgreSQL's processes (CPU). At the end it kills the leader with SIGKILL and
measures how long until another shard leads and has marked the dead shard's
APs unmonitored. It prints, per shard: APs owned, polls per round, CPU (cores),
RSS; PostgreSQL's CPU; outages against the simulator's plan (false downs); the
failover time.

Bounded: ``--aps`` <= 20000, ``--minutes`` <= 30, ``--run-shards`` <= 8; every
process is stopped.

Rerun:  .venv/bin/python bench/shard_soak.py --aps 4000 --minutes 4 --run-shards 2
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from fleet_soak import fleet, planned_downs, proc_stat, wait_line  # noqa: E402

# this checkout's code, whatever the venv's editable install points at
CLI = [sys.executable, "-m", "hotspot_monitor"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its descendants (PostgreSQL: runuser ->
    postmaster -> one backend per connection)."""
    parent: dict[int, int] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parent[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree, grew = {pid}, True
    while grew:
        more = {c for c, pp in parent.items() if pp in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0.0
    for p in tree:
        try:
            total += proc_stat(p)[0]
        except OSError:
            continue
    return total


def runtime(tmp: Path, i: int, k: int) -> dict:
    p = tmp / "state" / f"shard-{i}-of-{k}" / "runtime.json"
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aps", type=int, default=4000)
    ap.add_argument("--minutes", type=float, default=4)
    ap.add_argument("--interval", type=float, default=60)
    ap.add_argument("--run-shards", type=int, default=2)
    ap.add_argument("--sim-procs", type=int, default=2)
    ap.add_argument("--port", type=int, default=17161)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    a = ap.parse_args()
    a.aps, a.minutes = max(1, min(a.aps, 20000)), max(1.0, min(a.minutes, 30.0))
    k = max(2, min(a.run_shards, 8))
    from services.influxd import start_influxd
    from services.postgres import start_postgres, stop_postgres
    import psycopg
    import yaml

    tmp = Path(tempfile.mkdtemp(prefix="shard-soak-"))
    pg = start_postgres()
    influxd = start_influxd()
    influxd.query("CREATE DATABASE soak")
    url = pg.new_database()
    store = {"kind": "influxdb", "influxdb": {"url": influxd.url, "database": "soak"}}
    sim_cfg, run_cfg = tmp / "sim.yaml", tmp / "run.yaml"
    sim_cfg.write_text(yaml.safe_dump(fleet(a.aps, None, a.interval, "gufo", store), sort_keys=False))
    cfg = fleet(a.aps, a.port, a.interval, "gufo", store)
    cfg["state"] = {"dir": "state", "url": url}
    cfg["collector"]["shard_timeout_s"] = 30
    run_cfg.write_text(yaml.safe_dump(cfg, sort_keys=False))
    procs: list[subprocess.Popen] = []
    shards: list[subprocess.Popen] = []
    samples: list[dict] = []
    try:
        for i in range(a.sim_procs):
            procs.append(subprocess.Popen(
                [*CLI, "simulate", str(sim_cfg), "--addressing", "ips", "--port", str(a.port),
                 "--shard", f"{i}/{a.sim_procs}", "--no-mqtt", "--duration", str(int(a.minutes * 60 + 300))],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp, env=ENV))
        for p in procs:
            wait_line(p, "SNMP agents up", 300)
        t_start = time.time()
        for i in range(k):
            shards.append(subprocess.Popen([*CLI, "run", str(run_cfg), "--shard", f"{i}/{k}"],
                                           stdout=open(tmp / f"run-{i}.log", "w"), stderr=subprocess.STDOUT,
                                           cwd=tmp, env=ENV))
        procs += shards
        deadline = time.monotonic() + a.minutes * 60
        while time.monotonic() < deadline and all(s.poll() is None for s in shards):
            time.sleep(10)
            row = {"t": time.time() - t_start, "pg_cpu": tree_cpu(pg.proc.pid), "shards": []}
            for i, s in enumerate(shards):
                cpu, rss = proc_stat(s.pid)
                row["shards"].append({"cpu_s": cpu, "rss": rss, "rt": runtime(tmp, i, k)})
            samples.append(row)
            print(f"  t={row['t']:4.0f}s " + "  ".join(
                f"[{i}/{k}] {x['rss'] / 2**20:4.0f} MB, round "
                f"{(x['rt'].get('snmp_round') or {}).get('devices')}, leader {x['rt'].get('leader')}"
                for i, x in enumerate(row["shards"])), flush=True)
        t_end = time.time()
        if any(s.poll() is not None for s in shards):
            print("a shard exited early; see the logs")
            a.keep = True
            return 1
        # failover: kill the leader, time until another shard leads and has blinded its APs
        lead = next(i for i in range(k) if runtime(tmp, i, k).get("leader"))
        shards[lead].send_signal(signal.SIGKILL)
        shards[lead].wait(10)
        t_kill = time.monotonic()
        t_lead = t_down = None
        key = f"{lead}/{k}"
        while time.monotonic() - t_kill < 120 and t_down is None:
            for i in range(k):
                if i == lead:
                    continue
                rt = runtime(tmp, i, k)
                if rt.get("leader") and t_lead is None:
                    t_lead = time.monotonic() - t_kill
                if rt.get("leader") and key in rt.get("shards_down", {}):
                    t_down = time.monotonic() - t_kill
            time.sleep(0.2)

        # report
        third = len(samples) // 3
        span = samples[-1]["t"] - samples[third]["t"]
        print(f"\n{a.aps} APs, {a.minutes:g} min at {a.interval:g} s, {k} run shards on PostgreSQL "
              f"+ influxd, {a.sim_procs} simulator processes")
        for i in range(k):
            xs = [r["shards"][i] for r in samples]
            rounds = list({x["rt"]["snmp_round"]["finished"]: x["rt"]["snmp_round"]
                           for x in xs if x["rt"].get("snmp_round")}.values())
            steady = rounds[1:] or rounds
            cores = (xs[-1]["cpu_s"] - xs[third]["cpu_s"]) / span if span > 0 else float("nan")
            print(f"shard {i}/{k}: {xs[-1]['rt'].get('aps_owned')} APs owned; "
                  f"polls/round {min((r['devices'] for r in steady), default=0)}-"
                  f"{max((r['devices'] for r in steady), default=0)}; poll p95 max "
                  f"{max((r['poll_p95_s'] for r in steady), default=None)} s; "
                  f"CPU {cores:.2f} core over the last two thirds; RSS "
                  f"{xs[third]['rss'] / 2**20:.0f} -> {xs[-1]['rss'] / 2**20:.0f} MB")
        pg_cores = (samples[-1]["pg_cpu"] - samples[third]["pg_cpu"]) / span if span > 0 else float("nan")
        print(f"PostgreSQL (all its processes): {pg_cores:.3f} core over the last two thirds")
        plan = planned_downs(sim_cfg, t_start, t_end, CLI, ENV)
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as c:
            outages = c.execute("SELECT ap, start FROM outages").fetchall()
        false_downs = [(apid, st) for apid, st in outages
                       if not any(s - 600 <= st.timestamp() <= e + 600 for s, e in plan.get(apid, []))]
        print(f"outages: {len(outages)}, false downs (no planned event): {len(false_downs)}")
        print(f"failover after SIGKILL of leader {key}: new leader in "
              f"{'-' if t_lead is None else f'{t_lead:.1f}'} s, its APs unmonitored after "
              f"{'-' if t_down is None else f'{t_down:.1f}'} s (shard_timeout_s 30, heartbeat 5 s)")
        print(f"rerun: .venv/bin/python bench/shard_soak.py --aps {a.aps} --minutes {a.minutes:g} "
              f"--interval {a.interval:g} --run-shards {k} --sim-procs {a.sim_procs}")
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
        influxd.stop()
        stop_postgres(pg)
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
