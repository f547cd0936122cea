"""Faults around a running `hotspot-monitor run` (real processes): influxd killed
with SIGKILL while it polls, `run` itself killed and restarted. What was
promised: every sample in the store afterwards (InfluxDB outage), no phantom
outage and no byte counted twice (run killed). Longer versions: bench/faults.py."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from fault_harness import Fleet, Point, chain_gaps, fleet_yaml, rss_mb, wait_for
from services.influxd import start_influxd

INTERVAL = 2.0
OUTAGE_S = 10.0  # bench/faults.py: 10 minutes at 2,000 APs


def influx_points(influxd, db, measurement, where="") -> dict[tuple, list[dict]]:
    r = influxd.query(f'SELECT * FROM "{measurement}" {where} GROUP BY *', db=db)
    out = {}
    for s in r["results"][0].get("series") or []:
        cols = s["columns"]
        out[tuple(sorted(s["tags"].items()))] = [dict(zip(cols, v)) for v in s["values"]]
    return out


def test_influxd_killed_while_run_polls_loses_nothing(tmp_path):
    influxd = start_influxd()
    fleet = None
    try:
        db = influxd.new_database()
        n = 12
        fleet = Fleet(tmp_path, fleet_yaml(n, INTERVAL, {"kind": "influxdb", "influxdb": {
            "url": influxd.url, "database": db, "timeout_s": 2, "create_database": False}}))
        fleet.start_run()
        wait_for(lambda: (fleet.runtime().get("snmp") or {}).get("polls_ok", 0) >= 2 * n, 60,
                 "two rounds polled")
        rss_before = rss_mb(fleet.proc.pid)
        influxd.kill()
        t_kill = time.monotonic()
        rss_peak = rss_before
        while time.monotonic() - t_kill < OUTAGE_S:  # the outage
            rss_peak = max(rss_peak, rss_mb(fleet.proc.pid))
            time.sleep(0.5)
        w = fleet.runtime()["writer"]
        assert not w["store_ok"] and w["spooled"] > 0 and "store_down" in fleet.runtime()["health"]
        influxd.start_again()
        wait_for(lambda: (lambda w: w.get("store_ok") and w.get("spooled") == 0)(
            fleet.runtime().get("writer") or {}), 60, "the spool to drain")
        time.sleep(2 * INTERVAL)
        fleet.stop_run()
        rt = fleet.runtime()
        assert rt["stopped"] and rt["writer"]["dropped"] == 0 and rt["writer"]["pending"] == 0
        assert not list((tmp_path / "state" / "spool").glob("spool-*"))

        # every SNMP poll's ap_status is stored: as many as the poller made
        status = influx_points(influxd, db, "ap_status", "WHERE \"source\" = 'snmp'")
        assert sum(len(v) for v in status.values()) == rt["snmp"]["polls"]
        assert len(status) == n and all(p["up"] == 1 for v in status.values() for p in v)
        # every AP's polls go on through the outage: no hole longer than the interval
        for pts in status.values():
            ts = [datetime.fromisoformat(p["time"].replace("Z", "+00:00")).timestamp() for p in pts]
            assert max(b - a for a, b in zip(ts, ts[1:])) < 2 * INTERVAL
        # traffic: one continuous chain of intervals per interface, bytes = counter difference
        traffic = influx_points(influxd, db, "ap_traffic")
        checked = 0
        for tags, rows in traffic.items():
            t = dict(tags)
            pts = [Point(datetime.fromisoformat(r["time"].replace("Z", "+00:00")), r["interval_s"],
                         r["rx_bytes"], r["tx_bytes"]) for r in rows]
            assert chain_gaps(pts) == [], (t, chain_gaps(pts))
            if t["iface"] == fleet.uplink(t["ap"]) and fleet.counters64(t["ap"]):
                first = pts[0].time.timestamp() - pts[0].interval_s
                got = sum(p.rx for p in pts)
                want = fleet.rx(t["ap"], t["iface"], pts[-1].time) - fleet.rx(
                    t["ap"], t["iface"], datetime.fromtimestamp(first, timezone.utc))
                assert want > 0 and abs(got - want) <= 0.01 * want, (t, got, want)
                checked += 1
        assert checked >= n // 2
        assert rss_peak - rss_before < 40, (rss_before, rss_peak)
    finally:
        if fleet is not None:
            fleet.close()
        influxd.stop()


def test_run_killed_and_restarted_no_phantom_outage_no_double_count(tmp_path):
    from hotspot_monitor.status.statestore import StateStore
    from hotspot_monitor.stores.factory import open_store

    n = 8
    fleet = Fleet(tmp_path, fleet_yaml(n, 1.0, {"kind": "sqlite", "sqlite": {"path": "metrics.sqlite"}}))
    try:
        fleet.start_run()
        wait_for(lambda: (fleet.runtime().get("snmp") or {}).get("polls_ok", 0) >= 4 * n, 60,
                 "four rounds polled")
        time.sleep(1.5)  # at least one housekeeping pass after them (state saved)
        fleet.kill_run()
        t_kill = time.time()
        time.sleep(4.0)  # away longer than down_after x interval
        t_restart = time.time()
        fleet.start_run()
        wait_for(lambda: (fleet.runtime().get("snmp") or {}).get("polls_ok", 0) >= 4 * n
                 and fleet.runtime().get("pid") == fleet.proc.pid, 60, "four rounds after the restart")
        fleet.stop_run()

        states = StateStore.from_config(fleet.cfg, tmp_path)
        try:
            assert states.outages() == []  # no phantom outage
            s1, s2 = states.sessions()
            # the time away is unmonitored: the first run ends at its last sign of life
            assert s1.stopped is not None and s1.stopped.timestamp() <= t_kill + 0.5
            assert s2.started.timestamp() >= t_restart
            assert {r["state"] for r in states.load_ap_states()} == {"up"}
        finally:
            states.close()
        with open_store(fleet.cfg.store, tmp_path) as store:
            pts = store.points("ap_traffic", start=datetime(2000, 1, 1, tzinfo=timezone.utc))
        series: dict[tuple, list[Point]] = {}
        for s in pts:
            series.setdefault((s.tags["ap"], s.tags["iface"]), []).append(
                Point(s.time, s.fields["interval_s"], s.fields["rx_bytes"], s.fields["tx_bytes"]))
        assert len({ap for ap, _ in series}) == n
        for (ap, iface), p in series.items():
            gaps = chain_gaps(sorted(p, key=lambda x: x.time))  # raises on any overlap
            # exactly one hole, around the kill: the first reading after it was a baseline
            assert len(gaps) == 1, (ap, iface, gaps)
            (a, b), = gaps
            assert a.timestamp() <= t_kill + 0.5 and b.timestamp() >= t_restart
    finally:
        fleet.close()


def test_spool_cap_under_run_is_logged_flagged_and_shown_by_status(tmp_path, influxd):
    """`run` with a tiny spool cap while InfluxDB is unreachable: the defined loss is
    logged, flagged in runtime.json and shown by `status` / `status --json`."""
    import json
    import subprocess
    import sys

    from services.tcpproxy import TcpProxy

    db = influxd.new_database()
    proxy = TcpProxy(int(influxd.url.rsplit(":", 1)[1])).up()
    fleet = Fleet(tmp_path, fleet_yaml(8, 1.0, {"kind": "influxdb", "influxdb": {
        "url": proxy.url, "database": db, "timeout_s": 1, "create_database": False}},
        extra={"spool": {"max_mb": 0.01}}))  # 10 kB: a few seconds of 8 APs
    try:
        fleet.start_run()
        wait_for(lambda: (fleet.runtime().get("snmp") or {}).get("polls_ok", 0) >= 8, 60, "a round")
        proxy.down()
        rt = wait_for(lambda: (lambda r: r if "spool_full" in r.get("health", []) else None)(
            fleet.runtime()), 60, "the spool cap to be hit")
        w = rt["writer"]
        assert w["dropped"] > 0 and w["spool_bytes"] <= 10_000 + 5_000
        assert {"store_down", "spool_full", "samples_dropped"} <= set(rt["health"])
        out = subprocess.run([sys.executable, "-m", "hotspot_monitor", "status", str(fleet.cfg_path),
                              "--base-dir", str(tmp_path), "--json"], capture_output=True, text=True,
                             timeout=60)
        d = json.loads(out.stdout)
        assert "spool_full" in d["service"]["health"]
        text = subprocess.run([sys.executable, "-m", "hotspot_monitor", "status", str(fleet.cfg_path),
                               "--base-dir", str(tmp_path)], capture_output=True, text=True,
                              timeout=60).stdout
        assert "HEALTH: " in text and "spool_full" in text
        proxy.up()
        fleet.stop_run()  # a clean stop writes what the spool kept (no wait for the next retry)
        rt = fleet.runtime()
        assert rt["health"] == ["samples_dropped"] and rt["writer"]["dropped"] > 0
        assert rt["writer"]["spooled"] == 0 and rt["writer"]["store_ok"]
        log = fleet.log.read_text()
        assert "spool: dropped the" in log and "samples were dropped in all" in log
    finally:
        fleet.close()
        proxy.down()
