"""Fault bench: InfluxDB killed (SIGKILL) for a long while under `hotspot-monitor run`.

N simulated APs (in this process, loopback ports) are polled by `run` (a child
process) every --interval seconds into a private influxd. After two rounds the
influxd is SIGKILLed for --outage seconds, then started again on the same data.
The run goes on for two more rounds and is stopped with SIGTERM. Printed:

* RSS of `run` before, at the peak of the outage and after; spool size at its peak;
* how long the spool took to drain after influxd came back;
* ap_status points stored vs SNMP polls made (lost = polls - stored, promised 0);
* traffic: per interface, holes in the chain of intervals (promised 0) and the
  stored bytes against the simulator's counter difference (uplinks, 64-bit);
* the writer's dropped / rejected counters (promised 0).

Bounded: --aps <= 5000, --outage <= 1800 s; every process is stopped, loopback only.

Rerun:  .venv/bin/python bench/faults.py --aps 2000 --interval 60 --outage 600
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fault_harness import Fleet, Point, chain_gaps, fleet_yaml, rss_mb, wait_for  # noqa: E402
from services.influxd import start_influxd  # noqa: E402


def points(influxd, db: str, measurement: str, where: str = "") -> dict[tuple, list[dict]]:
    r = influxd.query(f'SELECT * FROM "{measurement}" {where} GROUP BY *', db=db)
    out = {}
    for s in r["results"][0].get("series") or []:
        out[tuple(sorted(s["tags"].items()))] = [dict(zip(s["columns"], v)) for v in s["values"]]
    return out


def spool_bytes(base: Path) -> int:
    return sum(p.stat().st_size for p in (base / "state" / "spool").glob("spool-*.jsonl"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aps", type=int, default=2000)
    ap.add_argument("--interval", type=float, default=60.0)
    ap.add_argument("--outage", type=float, default=600.0)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    a.aps, a.outage = max(8, min(a.aps, 5000)), max(10.0, min(a.outage, 1800.0))
    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    influxd = start_influxd()
    fleet = None
    try:
        db = influxd.new_database()
        t = time.monotonic()
        fleet = Fleet(tmp, fleet_yaml(a.aps, a.interval, {"kind": "influxdb", "influxdb": {
            "url": influxd.url, "database": db, "timeout_s": 5, "create_database": False}},
            timeout_s=2.0))
        print(f"simulator: {a.aps} APs up in {time.monotonic() - t:.0f} s", flush=True)
        fleet.start_run()
        polls = lambda: (fleet.runtime().get("snmp") or {}).get("polls_ok", 0)  # noqa: E731
        wait_for(lambda: polls() >= 2 * a.aps, 4 * a.interval + 300, "two rounds", every=2)
        rss0 = rss_mb(fleet.proc.pid)
        print(f"two rounds polled; run RSS {rss0:.0f} MB; killing influxd for {a.outage:.0f} s", flush=True)
        influxd.kill()
        t_kill = time.monotonic()
        peak_rss, peak_spool, trace = rss0, 0, []
        while time.monotonic() - t_kill < a.outage:
            time.sleep(5)
            r, sp = rss_mb(fleet.proc.pid), spool_bytes(tmp)
            peak_rss, peak_spool = max(peak_rss, r), max(peak_spool, sp)
            trace.append((time.monotonic() - t_kill, r, sp))
        w_down = fleet.runtime().get("writer", {})
        influxd.start_again()
        t_back = time.monotonic()
        wait_for(lambda: (lambda w: w.get("store_ok") and w.get("spooled") == 0)(
            fleet.runtime().get("writer") or {}), 1800, "the spool to drain", every=1)
        drain_s = time.monotonic() - t_back
        rss_after = rss_mb(fleet.proc.pid)
        done = polls()
        wait_for(lambda: polls() >= done + 2 * a.aps, 4 * a.interval + 120, "two more rounds", every=2)
        fleet.stop_run()
        rt = fleet.runtime()

        status = points(influxd, db, "ap_status", "WHERE \"source\" = 'snmp'")
        stored = sum(len(v) for v in status.values())
        holes, bad_bytes, checked, worst = 0, 0, 0, 0.0
        for tags, rows in points(influxd, db, "ap_traffic").items():
            tg = dict(tags)
            pts = [Point(datetime.fromisoformat(r["time"].replace("Z", "+00:00")), r["interval_s"],
                         r["rx_bytes"], r["tx_bytes"]) for r in rows]
            holes += len(chain_gaps(pts))
            if tg["iface"] == fleet.uplink(tg["ap"]) and fleet.counters64(tg["ap"]):
                start = datetime.fromtimestamp(pts[0].time.timestamp() - pts[0].interval_s, timezone.utc)
                want = fleet.rx(tg["ap"], tg["iface"], pts[-1].time) - fleet.rx(tg["ap"], tg["iface"], start)
                got = sum(p.rx for p in pts)
                err = abs(got - want) / want if want else 0.0
                worst = max(worst, err)
                bad_bytes += err > 0.01
                checked += 1
        print(f"\n{a.aps} APs every {a.interval:g} s; influxd SIGKILLed for {a.outage:.0f} s")
        trace_s = ", ".join(f"{x[0]:.0f}s {x[1]:.0f} MB/{x[2] / 1e6:.1f} MB"
                            for x in trace[::max(1, len(trace) // 10)])
        print(f"run RSS: before {rss0:.0f} MB, outage peak {peak_rss:.0f} MB, after drain {rss_after:.0f} MB"
              f" (RSS/spool during the outage: {trace_s})")
        print(f"spool: peak {peak_spool / 1e6:.1f} MB, {w_down.get('spooled')} samples spooled at the end of"
              f" the outage, drained in {drain_s:.0f} s after influxd came back")
        print(f"ap_status: {rt['snmp']['polls']} SNMP polls, {stored} stored: lost "
              f"{rt['snmp']['polls'] - stored}")
        print(f"ap_traffic: {holes} holes in the interval chains; {checked} uplinks checked against the "
              f"simulator's counters: worst difference {100 * worst:.3f} %, {bad_bytes} over 1 %")
        print(f"writer: written {rt['writer']['written']}, dropped {rt['writer']['dropped']}, rejected "
              f"{rt['writer']['rejected']}, failures {rt['writer']['failures']}, health {rt['health']}")
        print(f"rerun: .venv/bin/python bench/faults.py --aps {a.aps} --interval {a.interval:g} "
              f"--outage {a.outage:g}")
        return 0
    finally:
        if fleet is not None:
            fleet.close()
        influxd.stop()
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
