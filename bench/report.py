"""Monthly report: time to produce the CSV and the PDF of a month at city scale, on each store.

    .venv/bin/python bench/report.py [--aps 1000] [--step 900] [--store sqlite|influxdb|both] [--runs 3]

Builds ``--aps`` simulated APs (20 per site, 5 kecamatan, a quarter of the sites
with service hours) and writes September 2026 (30 days, plus an hour either
side so intervals cross both month edges) with the simulator's backfill: the
measurements the report reads (``ap_traffic`` per interface, ``ap_clients`` per
radio), one sample per AP and measurement every ``--step`` seconds, rollups
brought up to date; the simulator's planned outages and power cuts, a
monitoring session and every AP's coverage go into the state store. Then runs
``hotspot-monitor report FILE --month 2026-09 --partner telkom --format csv``
and ``--format pdf`` as a subprocess (what an operator waits for: Python
start-up, imports, every store read, rendering), ``--runs`` times each, and
prints the times. August (the comparison month) holds no data here. With
``--store both`` InfluxDB gets the SQLite run's points copied (the same
history, without simulating it twice; ``--copy-from DIR`` reuses an earlier run).

1-minute history (``--step 60``) takes ~15x longer to write than the default
15 minutes; the report's reads come from the stores' hourly and daily rollups
(plus the raw points at the two month edges), whose size does not depend on the
step as long as it is at most an hour, so the report's time barely does either.
"""
from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hotspot_monitor.config.models import Config  # noqa: E402
from hotspot_monitor.simulator import Rates, Simulator  # noqa: E402

KECAMATAN = ["Laweyan", "Serengan", "Pasar Kliwon", "Jebres", "Banjarsari"]
JKT = ZoneInfo("Asia/Jakarta")
MONTH = "2026-09"
START = datetime(2026, 9, 1, tzinfo=JKT) - timedelta(hours=1)
END = datetime(2026, 10, 1, tzinfo=JKT) + timedelta(hours=1)
READ = ("ap_traffic", "ap_clients")


def fleet(aps: int, base: Path, store: dict) -> Config:
    rnd = random.Random(7)
    n_sites = max(1, aps // 20)
    sites = [{"id": f"site{j:03d}", "name": f"Lokasi {j}", "district": KECAMATAN[j % 5],
              "lat": round(rnd.uniform(-7.585, -7.535), 5), "lon": round(rnd.uniform(110.785, 110.855), 5),
              "backhaul_mbps": 100, **({"service_hours": "06:00-22:00"} if j % 4 == 0 else {})}
             for j in range(n_sites)]
    return Config.model_validate({
        "city": "Surakarta", "timezone": "Asia/Jakarta", "store": store,
        "state": {"url": f"sqlite:///{base}/state.sqlite", "dir": str(base / "var")},
        "collector": {"interval_s": 60, "snmp": {"version": "2c", "community": "public"}},
        "sites": sites,
        "aps": [{"id": f"ap{i:05d}", "site": f"site{i % n_sites:03d}", "host": "127.0.0.1", "port": 16100}
                for i in range(aps)],
        "partners": [{"id": "telkom", "name": "PT Telkom Indonesia", "sites": "all",
                      "contacts": ["noc@telkom.example"],
                      "report": {"exclude": ["maintenance", "outside_service_hours", "power_cut"]}}]})


def write_config(cfg: Config, path: Path) -> None:
    import yaml

    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", by_alias=True, exclude_none=True),
                                   sort_keys=False))


def build(cfg: Config, base: Path, step: float) -> dict:
    from hotspot_monitor.commands.demo import record_history_outages
    from hotspot_monitor.simulator.backfill import backfill_samples
    from hotspot_monitor.stores.factory import open_store

    sim = Simulator(cfg, seed=3, rates=Rates())
    start, end = START.timestamp(), END.timestamp()
    t0 = time.monotonic()
    store = open_store(cfg.store, base)
    n, batch = 0, []
    for s in backfill_samples(sim, start, end, step_s=step):
        if s.measurement in READ:
            batch.append(s)
            if len(batch) >= 20_000:
                store.write(batch)
                n += len(batch)
                batch = []
    store.write(batch)
    n += len(batch)
    store.flush()
    store.refresh_rollups()
    store.close()
    written = time.monotonic() - t0
    outages = record_history_outages(sim, cfg, base, start, end)
    return {"samples": n, "write_s": written, "outages": outages}


def copy_history(cfg: Config, base: Path, source: Path) -> dict:
    """The same history as a SQLite store of an earlier run, copied point by point (a day
    at a time), instead of running the simulator again; and that run's state store."""
    import shutil

    from hotspot_monitor.stores.factory import open_store
    from hotspot_monitor.stores.sqlite import SqliteStore

    t0 = time.monotonic()
    src = SqliteStore(source / "metrics.sqlite")
    dst = open_store(cfg.store, base)
    n = 0
    day = START
    while day < END:
        for m in READ:
            batch = src.points(m, start=day, end=min(END, day + timedelta(days=1)))
            dst.write(batch)
            n += len(batch)
        day += timedelta(days=1)
    dst.flush()
    dst.refresh_rollups()
    dst.close()
    src.close()
    written = time.monotonic() - t0
    shutil.copy(source / "state.sqlite", base / "state.sqlite")
    return {"samples": n, "write_s": written, "outages": "the same"}


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, timeout=600)
        out.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr.decode()[-2000:]}")
    return out


def one(kind: str, args: argparse.Namespace) -> dict:
    if kind == "sqlite" and args.reuse is not None:
        base = args.reuse  # an earlier run's directory: its config, history and state as they are
    else:
        base = Path(tempfile.mkdtemp(prefix=f"bench-report-{kind}-"))
    influxd = None
    if kind == "influxdb":
        from services.influxd import start_influxd

        influxd = start_influxd()
        store = {"kind": "influxdb", "influxdb": {"url": influxd.url, "database": "bench"}}
    else:
        store = {"kind": "sqlite", "sqlite": {"path": str(base / "metrics.sqlite")}}
    try:
        cfg = fleet(args.aps, base, store)
        path = base / "config.yaml"
        if not (kind == "sqlite" and args.reuse is not None):
            write_config(cfg, path)
        print(f"{kind}: {args.aps} APs in {len(cfg.sites)} sites, {MONTH} every {args.step:g}s ...", flush=True)
        if kind == "sqlite" and args.reuse is not None:
            built = {"samples": "(reused)", "write_s": 0.0, "outages": "the same"}
        elif kind == "influxdb" and args.copy_from is not None:
            built = copy_history(cfg, base, args.copy_from)
        else:
            built = build(cfg, base, args.step)
        if kind == "sqlite":
            args.copy_from = base  # InfluxDB gets the same points, copied (much faster than simulating)
        print(f"  {built['samples']} samples written in {built['write_s']:.0f}s (rollups included), "
              f"{built['outages']} outages", flush=True)
        res = {}
        for fmt in ("csv", "pdf"):
            out = base / f"report.{fmt}"
            cmd = [sys.executable, "-m", "hotspot_monitor", "report", str(path), "--month", MONTH, "--partner",
                   "telkom", "--format", fmt, "--out", str(out), "--base-dir", str(base)]
            times = timed(cmd, args.runs)
            res[fmt] = times
            size = out.stat().st_size
            pages = ""
            if fmt == "pdf":
                from pypdf import PdfReader
                pages = f", {len(PdfReader(str(out)).pages)} pages"
            print(f"  {fmt}: best {min(times):.2f}s, median {statistics.median(times):.2f}s "
                  f"({', '.join(f'{t:.2f}' for t in times)}), {size:,} bytes{pages}", flush=True)
        return res
    finally:
        if influxd is not None:
            influxd.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aps", type=int, default=1000)
    ap.add_argument("--step", type=float, default=900.0, help="seconds between history samples")
    ap.add_argument("--store", choices=["sqlite", "influxdb", "both"], default="both")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--copy-from", type=Path, default=None,
                    help="a SQLite run's directory (bench-report-sqlite-*): copy its history into InfluxDB")
    ap.add_argument("--reuse", type=Path, default=None,
                    help="a SQLite run's directory (bench-report-sqlite-*): time the report on it, write nothing")
    args = ap.parse_args()
    kinds = ["sqlite", "influxdb"] if args.store == "both" else [args.store]
    results = {k: one(k, args) for k in kinds}
    print(f"\nreport of {MONTH}, {args.aps} APs, history every {args.step:g}s "
          f"({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC); target < 10 s each")
    print(f"{'store':<10} {'CSV best/median':>18} {'PDF best/median':>18}")
    for k, r in results.items():
        print(f"{k:<10} {min(r['csv']):>8.2f}/{statistics.median(r['csv']):<8.2f} "
              f"{min(r['pdf']):>8.2f}/{statistics.median(r['pdf']):<8.2f}")
    print(f"rerun: .venv/bin/python bench/report.py --aps {args.aps} --step {args.step:g} --store {args.store}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
