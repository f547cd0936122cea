"""Fault bench: InfluxDB killed (SIGKILL) for a long while under `hotspot-monitor run`
(``--scenario influx``, default), or `run` itself killed and restarted (``--scenario run-kill``).

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

``run-kill``: SQLite store; after two rounds `run` gets SIGKILL, stays away for
--outage seconds and is started again for two more rounds. Printed: outages in
the state store (promised 0: no phantom outage), monitoring sessions and the gap
between them (unmonitored), overlapping traffic intervals (promised 0: no byte
counted twice) and the holes per interface (one each: the time away).

Bounded: --aps <= 5000, --outage <= 1800 s; every process is stopped, loopback only.

Rerun:  .venv/bin/python bench/faults.py --aps 2000 --interval 60 --outage 600
        .venv/bin/python bench/faults.py --scenario run-kill --aps 2000 --interval 60 --outage 180
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


def run_kill(a: argparse.Namespace, tmp: Path) -> int:
    from hotspot_monitor.status.statestore import StateStore
    from hotspot_monitor.stores.factory import open_store

    fleet = Fleet(tmp, fleet_yaml(a.aps, a.interval, {"kind": "sqlite", "sqlite": {"path": "metrics.sqlite"}},
                                  timeout_s=2.0))
    try:
        fleet.start_run()
        polls = lambda: (fleet.runtime().get("snmp") or {}).get("polls_ok", 0)  # noqa: E731
        wait_for(lambda: polls() >= 2 * a.aps, 4 * a.interval + 300, "two rounds", every=2)
        time.sleep(6)  # a housekeeping pass after them
        fleet.kill_run()
        t_kill = time.time()
        print(f"two rounds polled; run SIGKILLed, away for {a.outage:.0f} s", flush=True)
        time.sleep(a.outage)
        t_restart = time.time()
        fleet.start_run()
        wait_for(lambda: fleet.runtime().get("pid") == fleet.proc.pid and polls() >= 2 * a.aps,
                 4 * a.interval + 300, "two rounds after the restart", every=2)
        fleet.stop_run()
        states = StateStore.from_config(fleet.cfg, tmp)
        outages, sessions = states.outages(), states.sessions()
        up = sum(r["state"] == "up" for r in states.load_ap_states())
        states.close()
        with open_store(fleet.cfg.store, tmp) as store:
            pts = store.points("ap_traffic", start=datetime(2000, 1, 1, tzinfo=timezone.utc))
        series: dict[tuple, list[Point]] = {}
        for smp in pts:
            series.setdefault((smp.tags["ap"], smp.tags["iface"]), []).append(
                Point(smp.time, smp.fields["interval_s"], smp.fields["rx_bytes"], smp.fields["tx_bytes"]))
        overlaps, holes, spanning = 0, [], 0
        for p in series.values():
            p.sort(key=lambda x: x.time)
            try:
                g = chain_gaps(p)
            except AssertionError:
                overlaps += 1
                continue
            holes.append(len(g))
            spanning += sum(1 for x, y in g if x.timestamp() <= t_kill + 1 and y.timestamp() >= t_restart)
        print(f"\n{a.aps} APs every {a.interval:g} s, SQLite; run SIGKILLed and away {a.outage:.0f} s")
        print(f"outages in the state store: {len(outages)} (phantom outages: {len(outages)}); "
              f"APs up at the end: {up} of {a.aps}")
        gap = sessions[1].started.timestamp() - sessions[0].covered_until.timestamp() if len(sessions) == 2 else None
        print(f"monitoring sessions: {len(sessions)}; unmonitored gap between them: "
              f"{gap:.0f} s" if gap is not None else f"monitoring sessions: {len(sessions)}")
        print(f"ap_traffic: {len(series)} interfaces, {overlaps} with overlapping intervals (bytes counted "
              f"twice); holes per interface: {min(holes, default=0)}-{max(holes, default=0)}, "
              f"{spanning} holes spanning the time away")
        print(f"rerun: .venv/bin/python bench/faults.py --scenario run-kill --aps {a.aps} --interval "
              f"{a.interval:g} --outage {a.outage:g}")
        return 0
    finally:
        fleet.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", choices=("influx", "run-kill"), default="influx")
    ap.add_argument("--aps", type=int, default=2000)
    ap.add_argument("--interval", type=float, default=60.0)
    ap.add_argument("--outage", type=float, default=600.0)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    a.aps, a.outage = max(8, min(a.aps, 5000)), max(10.0, min(a.outage, 1800.0))
    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    if a.scenario == "run-kill":
        try:
            return run_kill(a, tmp)
        finally:
            if a.keep:
                print(f"kept {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
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
