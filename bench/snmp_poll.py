"""Benchmark: devices/s and CPU per device, each SNMP engine beside snmp_exporter.

One run, one net-snmp ``snmpd`` listening on several loopback ports, the
same work per device for every poller:

* ``SnmpCollector`` with ``collector.engine: gufo`` and with ``pysnmp``: a
  full generic-profile poll (GET of the profile's scalars, walks of the
  table columns it needs, readings, counters, Samples), steady state;
* Prometheus ``snmp_exporter`` (Debian ``prometheus-snmp-exporter`` 0.21):
  a module that GETs the same scalars and walks the same columns (what our
  poller asks in steady state), community inside the module, scraped over
  HTTP by a thread pool. Its CPU is the exporter's plus the scraper's.

Each side: one warm-up round (first contact, detection), then ``--rounds``
timed rounds of all devices; the best round counts. Prints the figures and
the ratios ours / exporter. Bounded by ``--devices`` (<= 5000), ``--rounds``
and ``--time-limit`` seconds per side.

Rerun:  .venv/bin/python bench/snmp_poll.py [--devices 1000] [--ports 4] [--rounds 3]
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from collectors.snmp import SnmpCollector  # noqa: E402
from collectors.snmp.plan import Plan  # noqa: E402
from collectors.snmp.profile import builtin_profiles  # noqa: E402
from hotspot_monitor.config.models import Config  # noqa: E402
from services.ports import free_port, stop, wait_for  # noqa: E402
from services.snmpd import start_snmpd  # noqa: E402

EXPORTER = "/usr/bin/prometheus-snmp-exporter"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def make_config(ports: list[int], community: str, n: int, concurrency: int, engine: str) -> Config:
    return Config.model_validate({
        "collector": {"timeout_s": 2.0, "retries": 1, "concurrency": concurrency, "engine": engine,
                      "snmp": {"version": "2c", "community": community}},
        "sites": [{"id": "bench", "name": "Bench", "lat": 0, "lon": 0}],
        "aps": [{"id": f"ap-{i:05d}", "site": "bench", "host": "127.0.0.1",
                 "port": ports[i % len(ports)], "profile": "generic"} for i in range(n)],
    })


def steady_work() -> tuple[list[str], list[str]]:
    """(scalar OIDs, column OIDs) the generic profile asks in steady state on net-snmp:
    no fallback columns (ifDescr, 32-bit octets), no slow ones (speeds, every 10th poll),
    no hrStorage (UCD memory answers)."""
    plan = Plan(builtin_profiles()["generic"])
    cols = [c for t in plan.tables if t.name != "hrStorage" for c in t.columns
            if c not in plan.fallback and c not in t.slow]
    return plan.scalar_oids, cols


async def ours(cfg: Config, rounds: int, limit: float) -> dict:
    coll = SnmpCollector(cfg)
    try:
        t0 = time.perf_counter()
        await coll.poll_once()  # warm-up: first contact, detection, baselines
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


def exporter_module(community: str, scalars: list[str], columns: list[str]) -> dict:
    kinds = builtin_profiles()["generic"]
    col_type = {c.oid: c for t in kinds.tables.values() for c in t.columns.values()}
    metrics = []
    for i, o in enumerate(scalars):
        metrics.append({"name": f"s{i}", "oid": o.rsplit(".", 1)[0], "type": "gauge", "help": o})
    for i, o in enumerate(columns):
        c = col_type[o]
        typ = "DisplayString" if c.type == "string" else ("counter" if c.type == "counter" else "gauge")
        metrics.append({"name": f"c{i}", "oid": o, "type": typ, "help": o,
                        "indexes": [{"labelname": "idx", "type": "gauge"}]})
    return {"bench": {"walk": columns, "get": scalars, "metrics": metrics, "version": 2,
                      "max_repetitions": 25, "retries": 1, "timeout": "2s",
                      "auth": {"community": community}}}


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def exporter(tmp: Path, ports: list[int], community: str, n: int, workers: int, rounds: int,
             limit: float) -> dict:
    scalars, columns = steady_work()
    conf = tmp / "snmp.yml"
    conf.write_text(yaml.safe_dump(exporter_module(community, scalars, columns)))
    port = free_port()
    log = str(tmp / "exporter.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen([EXPORTER, f"--config.file={conf}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                stdout=out, stderr=subprocess.STDOUT)
    local = threading.local()

    def scrape(i: int) -> bool:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/snmp?module=bench&target=127.0.0.1:{ports[i % len(ports)]}")
        r = conn.getresponse()
        body = r.read()
        return r.status == 200 and b"c3{" in body and b"snmp_scrape_walk_duration" in body

    try:
        def ready() -> bool:
            try:
                return scrape(0)
            except OSError:
                local.conn = None
                return False
        wait_for(ready, 20, "snmp_exporter", proc, log)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(scrape, range(n)))  # warm-up round
            best: dict = {}
            deadline = time.monotonic() + limit
            for _ in range(rounds):
                if time.monotonic() > deadline:
                    break
                e0, c0, t0 = proc_cpu_s(proc.pid), time.process_time(), time.perf_counter()
                ok = sum(pool.map(scrape, range(n)))
                dt = time.perf_counter() - t0
                exp_cpu, scr_cpu = proc_cpu_s(proc.pid) - e0, time.process_time() - c0
                if not best or dt < best["round_s"]:
                    best = {"round_s": dt, "ok": ok, "devices_per_s": n / dt,
                            "cpu_ms_per_device": 1000 * (exp_cpu + scr_cpu) / n,
                            "exporter_ms": 1000 * exp_cpu / n, "scraper_ms": 1000 * scr_cpu / n}
        return best
    finally:
        stop(proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--ports", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=40, help="polls in flight (ours)")
    ap.add_argument("--workers", type=int, default=40, help="scraper threads (snmp_exporter)")
    ap.add_argument("--engines", default="gufo,pysnmp")
    ap.add_argument("--time-limit", type=float, default=120.0)
    a = ap.parse_args()
    a.devices = max(1, min(a.devices, 5000))
    if not os.path.exists(EXPORTER):
        print(f"{EXPORTER} missing: apt-get install prometheus-snmp-exporter", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-snmp-"))
    proc, info = start_snmpd(tmp, n_ports=max(1, min(a.ports, 16)))
    results: dict[str, dict] = {}
    try:
        for engine in a.engines.split(","):
            cfg = make_config(info.ports, info.community, a.devices, a.concurrency, engine)
            results[engine] = asyncio.run(ours(cfg, a.rounds, a.time_limit))
        exp = exporter(tmp, info.ports, info.community, a.devices, a.workers, a.rounds, a.time_limit)
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    scalars, columns = steady_work()
    print(f"snmpd 5.9 on {len(info.ports)} loopback ports, {a.devices} devices, v2c; per device a GET "
          f"of {len(scalars)} scalars and walks of {len(columns)} columns (generic profile, steady state)")
    print(f"{'poller':44} {'devices/s':>10} {'CPU ms/device':>14} {'vs exporter':>22}")
    for engine, r in results.items():
        print(f"{'SnmpCollector engine=' + engine + f' ({a.concurrency} in flight)':44} "
              f"{r['devices_per_s']:10.0f} {r['cpu_ms_per_device']:14.2f} "
              f"{r['devices_per_s'] / exp['devices_per_s']:8.2f}x speed "
              f"{r['cpu_ms_per_device'] / exp['cpu_ms_per_device']:5.2f}x CPU"
              f"   (warm-up round {r['warmup_s']:.2f} s, failed polls {r['failed']}/{r['polls']})")
    print(f"{'snmp_exporter 0.21 (' + str(a.workers) + ' scraper threads)':44} "
          f"{exp['devices_per_s']:10.0f} {exp['cpu_ms_per_device']:14.2f} {'1.00x':>14}"
          f"          (exporter {exp['exporter_ms']:.2f} + scraper {exp['scraper_ms']:.2f} ms; "
          f"{exp['ok']}/{a.devices} scrapes ok)")
    print(f"rerun: .venv/bin/python bench/snmp_poll.py --devices {a.devices} --ports {a.ports} "
          f"--rounds {a.rounds} --concurrency {a.concurrency} --workers {a.workers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
