"""Benchmark: devices/s one SnmpCollector process polls against net-snmp snmpd.

Each "device" is a full generic-profile poll (detection once, then a GET of
the scalars and GETBULK walks of ifTable/ifXTable, hrProcessorLoad and
hrStorage) of one snmpd listening on several loopback ports. The peer, in
the same run and on the same agent, is net-snmp's own tools: per device one
``snmpget`` of the same scalars plus one ``snmpbulkget`` of the same table
columns, run as parallel subprocesses (what a shell-script poller does).

Bounded: ``--devices`` (default 300), ``--rounds`` (default 3) and
``--time-limit`` seconds per side.

Rerun:  .venv/bin/python bench/snmp_poll.py [--devices 300] [--ports 4] [--rounds 3]
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from collectors.snmp import SnmpCollector  # noqa: E402
from collectors.snmp.profile import builtin_profiles  # noqa: E402
from hotspot_monitor.config.models import Config  # noqa: E402
from services.ports import stop  # noqa: E402
from services.snmpd import start_snmpd  # noqa: E402


def make_config(ports: list[int], community: str, n: int, concurrency: int, timeout: float) -> Config:
    return Config.model_validate({
        "collector": {"timeout_s": timeout, "retries": 1, "concurrency": concurrency,
                      "snmp": {"version": "2c", "community": community}},
        "sites": [{"id": "bench", "name": "Bench", "lat": 0, "lon": 0}],
        "aps": [{"id": f"ap-{i:05d}", "site": "bench", "host": "127.0.0.1",
                 "port": ports[i % len(ports)], "profile": "generic"} for i in range(n)],
    })


async def ours(cfg: Config, rounds: int, limit: float) -> dict:
    coll = SnmpCollector(cfg)
    try:
        t0 = time.perf_counter()
        await coll.poll_once()  # warm-up: first contact per target, engines built
        warm = time.perf_counter() - t0
        times, cpu, polled, failed = [], [], 0, 0
        deadline = time.monotonic() + limit
        for _ in range(rounds):
            if time.monotonic() > deadline:
                break
            c0, t0 = time.process_time(), time.perf_counter()
            res = await coll.poll_results()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            polled += len(res)
            failed += sum(not r.ok for r in res)
        n = len(cfg.aps)
        return {"warmup_s": warm, "round_s": min(times), "devices_per_s": n / min(times),
                "cpu_ms_per_device": 1000 * min(cpu) / n, "failed": failed, "polls": polled}
    finally:
        await coll.close()


def peer(ports: list[int], community: str, n: int, workers: int, limit: float) -> dict:
    generic = builtin_profiles()["generic"]
    scalars = [c.oid for c in generic.scalars.values()]
    columns = [c.oid for t in generic.tables.values() for c in t.columns.values()]

    def one(i: int) -> bool:
        addr = f"127.0.0.1:{ports[i % len(ports)]}"
        a = subprocess.run(["snmpget", "-v2c", "-c", community, "-t", "2", "-r", "1", "-Oqn", addr,
                            *scalars], capture_output=True)
        b = subprocess.run(["snmpbulkget", "-v2c", "-c", community, "-t", "2", "-r", "1", "-Cn0",
                            "-Cr8", "-Oqn", addr, *columns], capture_output=True)
        return a.returncode == 0 and b.returncode == 0

    t0 = time.perf_counter()
    deadline = time.monotonic() + limit
    ok = done = 0
    with ThreadPoolExecutor(workers) as pool:
        for start in range(0, n, workers * 4):
            if time.monotonic() > deadline:
                break
            batch = range(start, min(n, start + workers * 4))
            for r in pool.map(one, batch):
                ok += r
                done += 1
    dt = time.perf_counter() - t0
    return {"devices": done, "ok": ok, "round_s": dt, "devices_per_s": done / dt}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=300)
    ap.add_argument("--ports", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=40)
    ap.add_argument("--peer-workers", type=int, default=8)
    ap.add_argument("--time-limit", type=float, default=60.0)
    a = ap.parse_args()
    a.devices = max(1, min(a.devices, 5000))
    tmp = Path(tempfile.mkdtemp(prefix="bench-snmpd-"))
    proc, info = start_snmpd(tmp, n_ports=max(1, min(a.ports, 16)))
    try:
        cfg = make_config(info.ports, info.community, a.devices, a.concurrency, 2.0)
        r = asyncio.run(ours(cfg, a.rounds, a.time_limit))
        p = peer(info.ports, info.community, a.devices, a.peer_workers, a.time_limit)
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"snmpd 5.9 on {len(info.ports)} loopback ports, {a.devices} devices, generic profile, v2c")
    print(f"hotspot-monitor SnmpCollector (concurrency {a.concurrency}): "
          f"{r['devices_per_s']:.0f} devices/s (best of {a.rounds} rounds: {r['round_s']:.2f} s), "
          f"{r['cpu_ms_per_device']:.2f} ms CPU/device, warm-up round {r['warmup_s']:.2f} s, "
          f"failed polls {r['failed']}/{r['polls']}")
    print(f"net-snmp snmpget+snmpbulkget ({a.peer_workers} parallel workers): "
          f"{p['devices_per_s']:.0f} devices/s ({p['devices']} devices in {p['round_s']:.2f} s, "
          f"{p['ok']} ok)")
    print(f"rerun: .venv/bin/python bench/snmp_poll.py --devices {a.devices} --ports {a.ports} "
          f"--rounds {a.rounds} --concurrency {a.concurrency}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
