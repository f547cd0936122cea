"""Dashboard reads at city scale: rollups vs raw points, SQLite and InfluxDB.

    .venv/bin/python bench/store_read.py                          # 1,000 APs x 30 days, both stores
    .venv/bin/python bench/store_read.py --aps 5000 --days 2      # the latest / 24 h reads at 5,000 APs
    .venv/bin/python bench/store_read.py --aps 100 --days 3 --stores influxdb   # a quick look

Per store: 1-minute ap_clients and ap_traffic for every AP (20 APs per site)
are written by a raw-only store instance; ``refresh_rollups()`` then builds the
rollups from them (timed: that is the backfill of an existing database); the
last minutes are written live through a rollup store with a flush each minute,
so reads see a frontier that lags as in service (raw tail included). Each read
runs on a fresh rollup instance and on a raw-only one; both answers must be
equal (checked once per read), then p50/p95 are measured. Raw reads stop
repeating after --raw-budget-s. It starts its own influxd (loopback, temp dir)
and a temp SQLite file, removes both afterwards, and bounds loading by
--max-load-s (then fewer days are read; the table says how many).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from hotspot_monitor.config.models import InfluxSettings  # noqa: E402
from hotspot_monitor.sample import Sample  # noqa: E402
from hotspot_monitor.stores.base import MetricStore  # noqa: E402
from hotspot_monitor.stores.influxdb import InfluxStore  # noqa: E402
from hotspot_monitor.stores.sqlite import SqliteStore  # noqa: E402
from services.influxd import start_influxd  # noqa: E402

UTC = timezone.utc
T0 = datetime(2026, 9, 1, tzinfo=UTC)
APS_PER_SITE = 20
TAIL_MINUTES = 7  # written live at the end: the frontier lags as in service
TZ = "Asia/Jakarta"


def round_of(aps: int, minute: int) -> list[Sample]:
    t = T0 + timedelta(minutes=minute)
    out = []
    for i in range(aps):
        site, ap = f"site{i // APS_PER_SITE:03d}", f"ap{i:04d}"
        out.append(Sample("ap_clients", {"site": site, "ap": ap, "radio": "all"},
                          {"clients": (i * 7 + minute) % 41}, t))
        out.append(Sample("ap_traffic", {"site": site, "ap": ap, "iface": "wlan0"},
                          {"rx_bytes": 10_000 + (i * 131 + minute * 17) % 90_000,
                           "tx_bytes": 5_000 + (i * 71 + minute * 13) % 40_000}, t))
    return out


@dataclass
class Read:
    name: str
    call: Callable[[MetricStore], object]


def dashboard_reads(aps: int, days: int, end: datetime) -> list[Read]:
    site, ap = f"site{min(7, (aps - 1) // APS_PER_SITE):03d}", f"ap{min(42, aps - 1):04d}"
    d24 = end - timedelta(hours=24)
    week = max(T0, end - timedelta(days=7))
    month = T0
    five, hour, day = timedelta(minutes=5), timedelta(hours=1), timedelta(days=1)
    n = (end - T0).days
    return [
        Read(f"latest per AP, ap_clients ({aps} series)",
             lambda s: s.latest("ap_clients", tags={"radio": "all"})),
        Read("latest per AP, since 10 min ago",
             lambda s: s.latest("ap_clients", tags={"radio": "all"},
                                since=end - timedelta(minutes=10))),
        Read(f"one site ({APS_PER_SITE} APs), 24 h of 5-min mean clients",
             lambda s: s.aggregate("ap_clients", "clients", start=d24, end=end, every=five,
                                   agg="mean", tags={"site": site})),
        Read("fleet, 24 h of 5-min summed clients",
             lambda s: s.aggregate("ap_clients", "clients", start=d24, end=end, every=five,
                                   agg="sum")),
        Read(f"one AP, {min(7, n)} d of hourly rx_bytes",
             lambda s: s.aggregate("ap_traffic", "rx_bytes", start=week, end=end, every=hour,
                                   agg="sum", tags={"ap": ap})),
        Read(f"fleet, {n} d of daily rx_bytes ({TZ} days)",
             lambda s: s.aggregate("ap_traffic", "rx_bytes", start=month, end=end, every=day,
                                   agg="sum", tz=TZ)),
        Read(f"per site, {n} d of daily rx_bytes ({TZ} days)",
             lambda s: s.aggregate("ap_traffic", "rx_bytes", start=month, end=end, every=day,
                                   agg="sum", tz=TZ, group_by=["site"])),
        Read(f"totals per AP over {days} d (UTC days)",
             lambda s: s.totals("ap_traffic", "rx_bytes", start=T0, end=T0 + timedelta(days=days),
                                group_by=["ap"])),
        Read(f"totals per AP over {days} d from 17:00 UTC (local month)",
             lambda s: s.totals("ap_traffic", "rx_bytes", start=T0 + timedelta(hours=17),
                                end=T0 + timedelta(days=days, hours=-7), group_by=["ap"])),
    ]


def timed(fn: Callable[[], object], n: int, budget_s: float = 1e9) -> tuple[float, float, int]:
    """p50 and p95 in ms over up to n calls (after one warm-up call), stopping
    once ``budget_s`` is spent."""
    fn()
    ts: list[float] = []
    start = time.perf_counter()
    while len(ts) < n and (not ts or time.perf_counter() - start < budget_s):
        a = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - a) * 1000)
    ts.sort()
    return statistics.median(ts), ts[min(len(ts) - 1, int(round(0.95 * (len(ts) - 1))))], len(ts)


def load(writer: MetricStore, aps: int, minutes: int, max_s: float) -> tuple[int, float]:
    """Rounds 0..minutes-1 through a raw-only store; returns (minutes written, seconds)."""
    a = time.perf_counter()
    for m in range(minutes):
        writer.write(round_of(aps, m))
        if m % 60 == 59:
            writer.flush()
        if m % 1440 == 1439:
            el = time.perf_counter() - a
            print(f"  day {m // 1440 + 1}: {2 * aps * (m + 1):,} samples, "
                  f"{2 * aps * (m + 1) / el:,.0f}/s", flush=True)
            if el > max_s:
                print("  time bound reached: stopping the load early", flush=True)
                minutes = m + 1
                break
    writer.flush()
    return minutes, time.perf_counter() - a


def bench_store(kind: str, make: Callable[[bool], MetricStore], args: argparse.Namespace,
                rows: list[tuple[str, str]]) -> None:
    aps = args.aps
    want = args.days * 1440
    print(f"{kind}: loading {aps} APs x {args.days} days x 2 measurements (1-minute points)",
          flush=True)
    raw_writer = make(False)
    minutes, load_s = load(raw_writer, aps, want - TAIL_MINUTES, args.max_load_s)
    raw_writer.close()
    days = (minutes + TAIL_MINUTES) // 1440
    rows.append((f"{kind}: load {2 * aps * minutes:,} raw samples",
                 f"{load_s:.0f} s = {2 * aps * minutes / load_s:,.0f} samples/s"))
    live = make(True)
    a = time.perf_counter()
    live.refresh_rollups()
    rows.append((f"{kind}: build rollups from raw (refresh_rollups)", f"{time.perf_counter() - a:.0f} s"))
    a = time.perf_counter()
    for m in range(minutes, minutes + TAIL_MINUTES):  # live: a flush each minute
        live.write(round_of(aps, m))
        live.flush()
    rows.append((f"{kind}: live minute write+flush with rollups ({2 * aps} samples)",
                 f"{(time.perf_counter() - a) / TAIL_MINUTES * 1000:.0f} ms"))
    live.close()
    end = T0 + timedelta(minutes=minutes + TAIL_MINUTES)
    reader, raw = make(True), make(False)
    for r in dashboard_reads(aps, days, end):
        got, ref = r.call(reader), r.call(raw)
        if isinstance(got, list) and got and isinstance(got[0], Sample):
            got = sorted((s.tags["ap"], s.time, s.fields["clients"]) for s in got)
            ref = sorted((s.tags["ap"], s.time, s.fields["clients"]) for s in ref)
        if got != ref:
            raise SystemExit(f"{kind}: {r.name}: rollup and raw answers differ")
        if not got:
            raise SystemExit(f"{kind}: {r.name}: empty answer")
        p50, p95, _ = timed(lambda: r.call(reader), args.reads)
        q50, q95, k = timed(lambda: r.call(raw), args.reads, args.raw_budget_s)
        rows.append((f"{kind}: {r.name}",
                     f"rollups p50 {p50:7.1f} / p95 {p95:7.1f} ms | raw p50 {q50:8.1f} / "
                     f"p95 {q95:8.1f} ms ({k}x) | raw/rollups {q50 / p50:6.1f}x"))
        print(rows[-1][0], rows[-1][1], flush=True)
    reader.close()
    raw.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aps", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--stores", default="sqlite,influxdb")
    ap.add_argument("--reads", type=int, default=20, help="repetitions of each read")
    ap.add_argument("--raw-budget-s", type=float, default=15.0,
                    help="stop repeating a raw read after this long")
    ap.add_argument("--max-load-s", type=float, default=3600.0,
                    help="stop loading after this many seconds (per store)")
    args = ap.parse_args()
    args.days = max(1, args.days)
    tmp = Path(tempfile.mkdtemp(prefix="store-read-"))
    rows: list[tuple[str, str]] = []
    try:
        if "sqlite" in args.stores:
            path = tmp / "read.sqlite"
            bench_store("sqlite", lambda roll: SqliteStore(path, rollups=roll), args, rows)
            size = sum(f.stat().st_size for f in tmp.glob("read.sqlite*")) / 1e6
            rows.append(("sqlite: file size", f"{size:,.0f} MB"))
        if "influxdb" in args.stores:
            server = start_influxd()
            try:
                settings = InfluxSettings(url=server.url, database="bench", batch_size=5000)
                bench_store("influxdb", lambda roll: InfluxStore(settings, rollups=roll), args,
                            rows)
                size = sum(f.stat().st_size for f in server.root.rglob("*") if f.is_file())
                rows.append(("influxdb: data directory", f"{size / 1e6:,.0f} MB"))
            finally:
                server.stop()
    finally:
        for f in sorted(tmp.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
        tmp.rmdir()
    width = max(len(k) for k, _ in rows)
    print("\n" + "-" * (width + 100))
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print("-" * (width + 100))
    print("rerun: .venv/bin/python bench/store_read.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
