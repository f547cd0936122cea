"""Metric rules and the monitor's own health, from a real SQLite metric store,
plus the operator commands (alerts, silence) as subprocesses."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from hotspot_monitor.alerts.manager import AlertManager
from hotspot_monitor.alerts.metrics import MetricsRefresher
from hotspot_monitor.alerts.rules import AlertInputs, MonitorHealth, RuleEvaluator, fingerprint
from hotspot_monitor.config.models import Config
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from hotspot_monitor.stores.sqlite import SqliteStore

UTC = timezone.utc
NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # Monday 12:00 in Jakarta


def cfg(**rules) -> Config:
    return Config.model_validate({
        "timezone": "Asia/Jakarta",
        "sites": [{"id": "park", "name": "Taman", "lat": -7.5, "lon": 110.8, "backhaul_mbps": 100},
                  {"id": "mall", "name": "Mall", "lat": -7.5, "lon": 110.8}],
        "aps": [{"id": "a1", "site": "park", "host": "127.0.0.1", "snmp": {"community": "c"}},
                {"id": "a2", "site": "park", "host": "127.0.0.1", "snmp": {"community": "c"}},
                {"id": "m1", "site": "mall", "host": "127.0.0.1", "snmp": {"community": "c"}}],
        "alerts": {"rules": rules}})


def engine_all_up(c: Config) -> StatusEngine:
    e = StatusEngine(c)
    for a in c.aps:
        e.observe(Sample("ap_status", {"site": a.site, "ap": a.id, "source": "snmp"}, {"up": 1},
                         NOW - timedelta(minutes=1)))
    return e


def conditions(c: Config, store, health=None, engine=None):
    view = MetricsRefresher(c, store).refresh(NOW)
    e = engine or engine_all_up(c)
    ev = RuleEvaluator(c, c.alerts).evaluate(AlertInputs(NOW, e.aps(), {}, view, health or MonitorHealth()))
    return ev


def test_high_cpu_mem_temp_from_latest_values_with_thresholds_and_overrides(tmp_path):
    c = cfg(high_temp={"threshold": 70, "overrides": [{"ap": "m1", "threshold": 80}]})
    with SqliteStore(tmp_path / "m.sqlite") as s:
        t = NOW - timedelta(minutes=2)
        s.write([Sample("ap_system", {"site": "park", "ap": "a1"}, {"cpu_pct": 95.0, "mem_pct": 50.0,
                                                                     "temp_c": 71.0}, t),
                 Sample("ap_system", {"site": "park", "ap": "a2"}, {"cpu_pct": 89.9, "mem_pct": 92.5}, t),
                 Sample("ap_system", {"site": "mall", "ap": "m1"}, {"temp_c": 75.0}, t),
                 # an old value is no current value
                 Sample("ap_system", {"site": "mall", "ap": "m1"}, {"cpu_pct": 99.0},
                        NOW - timedelta(hours=2))])
        s.flush()
        ev = conditions(c, s)
    got = sorted((x.rule, x.labels["ap"], x.value) for x in ev.conditions)
    assert got == [("high_cpu", "a1", 95.0), ("high_mem", "a2", 92.5), ("high_temp", "a1", 71.0)]
    # judged but fine: they resolve a firing alert; m1's cpu was not judged (no fresh value)
    assert fingerprint("high_cpu", {"ap": "a2", "site": "park"}) in ev.checked
    assert fingerprint("high_temp", {"ap": "m1", "site": "mall"}) in ev.checked
    assert fingerprint("high_cpu", {"ap": "m1", "site": "mall"}) not in ev.checked


def test_saturation_counts_uplink_bytes_against_the_backhaul(tmp_path):
    c = cfg()
    with SqliteStore(tmp_path / "m.sqlite") as s:
        rows = []
        mb = 1_000_000
        for k in range(5):  # one interval a minute over the 5-minute window
            t = NOW - timedelta(minutes=5) + timedelta(minutes=k, seconds=30)
            # a1: wlan0 carries what eth0 (its uplink) carries again: counted once
            rows += [Sample("ap_traffic", {"site": "park", "ap": "a1", "iface": "eth0"},
                            {"rx_bytes": 75 * mb, "tx_bytes": 450 * mb, "interval_s": 60.0}, t),
                     Sample("ap_traffic", {"site": "park", "ap": "a1", "iface": "wlan0"},
                            {"rx_bytes": 440 * mb, "tx_bytes": 70 * mb, "interval_s": 60.0}, t),
                     Sample("ap_traffic", {"site": "park", "ap": "a2", "iface": "eth0"},
                            {"rx_bytes": 37 * mb, "tx_bytes": 240 * mb, "interval_s": 60.0}, t)]
        s.write(rows)
        s.flush()
        ev = conditions(c, s)
    [sat] = [x for x in ev.conditions if x.rule == "saturation"]
    # sent: 5 x (450 + 240) MB in 300 s = 92 Mbit/s of a 100 Mbit/s backhaul (threshold 80 %)
    assert sat.labels["site"] == "park" and sat.value == 92.0
    # the mall has no backhaul_mbps: nothing to compare with, not judged
    assert fingerprint("saturation", {"site": "mall"}) not in ev.checked
    assert fingerprint("saturation", {"site": "park"}) in ev.checked


def test_silent_ap_needs_a_baseline_that_expects_clients(tmp_path):
    c = cfg()
    with SqliteStore(tmp_path / "m.sqlite") as s:
        rows = []
        for week in (1, 2, 3):  # Mondays 12:00-13:00 local, the last three weeks
            t = NOW - timedelta(weeks=week)
            rows += [Sample("ap_clients", {"site": "park", "ap": "a1", "radio": "all"}, {"clients": 12}, t),
                     Sample("ap_clients", {"site": "park", "ap": "a2", "radio": "all"}, {"clients": 0}, t)]
        rows += [Sample("ap_clients", {"site": "park", "ap": ap, "radio": "all"}, {"clients": 0},
                        NOW - timedelta(minutes=1)) for ap in ("a1", "a2")]
        s.write(rows)
        s.flush()
        ev = conditions(c, s)
    silent = [(x.labels["ap"], x.details["expected"]) for x in ev.conditions if x.rule == "silent_ap"]
    assert silent == [("a1", 12.0)]  # a2 is quiet every Monday noon: no alert
    assert fingerprint("silent_ap", {"ap": "a2", "site": "park"}) in ev.checked


def test_monitor_unhealthy_reasons(tmp_path):
    c = cfg()
    with SqliteStore(tmp_path / "m.sqlite") as s:
        h = MonitorHealth(snmp_expected=True, snmp_interval_s=60, started_at=NOW - timedelta(hours=1),
                          snmp_last_round=NOW - timedelta(minutes=5), store_ok=False,
                          store_failing_since=NOW - timedelta(minutes=3), spool_pending=[10, 50, 90, 300],
                          flagged_channels={"wa": "HTTP 400 Bad Request"})
        ev = conditions(c, s, health=h)
        reasons = sorted(x.labels["reason"] for x in ev.conditions if x.rule == "monitor_unhealthy")
        assert reasons == ["channel_failing", "snmp_round_late", "spool_growing", "store_unwritable"]
        h2 = MonitorHealth(snmp_expected=True, snmp_interval_s=60, started_at=NOW - timedelta(hours=1),
                           snmp_last_round=NOW - timedelta(seconds=70), spool_pending=[0, 0, 0, 0])
        assert [x for x in conditions(c, s, health=h2).conditions if x.rule == "monitor_unhealthy"] == []


def test_missing_device_after_days_down_is_critical_and_for_the_partner(tmp_path):
    c = cfg(missing_device={"days": 2})
    e = StatusEngine(c)
    t = NOW - timedelta(days=2, hours=1)
    while t < NOW:  # failing polls every 10 minutes for 2 days and an hour
        e.observe(Sample("ap_status", {"site": "mall", "ap": "m1", "source": "snmp"},
                         {"up": 0, "reason": "snmp_timeout"}, t))
        t += timedelta(minutes=10)
    with SqliteStore(tmp_path / "m.sqlite") as s:
        ev = conditions(c, s, engine=e)
    [md] = [x for x in ev.conditions if x.rule == "missing_device"]
    assert md.labels["partner"] == "yes" and md.since == NOW - timedelta(hours=1)
    state = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    res = AlertManager(c, c.alerts, state.engine).process(NOW, ev)
    assert {a.rule: a.severity for a in res.firing}["missing_device"] == "critical"


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hotspot_monitor", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_silence_and_alerts_commands(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "timezone: Asia/Jakarta\n"
        "state: {url: 'sqlite:///state.sqlite'}\n"
        "sites: [{id: park, name: Taman, district: Banjarsari, lat: -7.5, lon: 110.8}]\n"
        "aps: [{id: a1, site: park, host: 127.0.0.1, snmp: {community: c}}]\n")
    r = _cli("silence", "add", "c.yaml", "--site", "park", "--for", "2h", cwd=tmp_path)
    assert r.returncode == 2 and "--comment" in r.stderr
    r = _cli("silence", "add", "c.yaml", "--site", "park", "--for", "2h", "--comment", "kabel putus",
             "--author", "budi", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli("silence", "add", "c.yaml", "--district", "Banjarsari", "--maintenance", "--weekly", "mon",
             "--from", "22:00", "--to", "02:00", "--comment", "jadwal rutin", "--author", "sari", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli("silence", "list", "c.yaml", "--json", cwd=tmp_path)
    rows = json.loads(r.stdout)["silences"]
    assert [(x["kind"], x["matchers"], x["author"], x["active"]) for x in rows] == [
        ("silence", {"site": "park"}, "budi", True),
        ("maintenance", {"district": "Banjarsari"}, "sari", rows[1]["active"])]
    assert rows[1]["weekly"] == {"days": ["mon"], "from": "22:00", "to": "02:00"}
    r = _cli("silence", "expire", "c.yaml", str(rows[0]["id"]), cwd=tmp_path)
    assert r.returncode == 0
    assert _cli("silence", "expire", "c.yaml", str(rows[0]["id"]), cwd=tmp_path).returncode == 1
    # an alert, then acknowledge it from the command line
    c = Config.model_validate({"timezone": "Asia/Jakarta", "state": {"url": f"sqlite:///{tmp_path}/state.sqlite"},
                               "sites": [{"id": "park", "name": "Taman", "district": "Banjarsari",
                                          "lat": -7.5, "lon": 110.8}],
                               "aps": [{"id": "a1", "site": "park", "host": "127.0.0.1",
                                        "snmp": {"community": "c"}}]})
    state = StateStore(c.state.url)
    e = StatusEngine(c, state)
    now = datetime.now(UTC)
    e.observe(Sample("ap_status", {"site": "park", "ap": "a1", "source": "snmp"},
                     {"up": 0, "reason": "snmp_timeout"}, now - timedelta(minutes=20)))
    e.observe(Sample("ap_status", {"site": "park", "ap": "a1", "source": "snmp"},
                     {"up": 0, "reason": "snmp_timeout"}, now - timedelta(minutes=19)))
    e.observe(Sample("ap_status", {"site": "park", "ap": "a1", "source": "snmp"},
                     {"up": 0, "reason": "snmp_timeout"}, now - timedelta(minutes=18)))
    AlertManager(c, c.alerts, state.engine).process(
        now, RuleEvaluator(c, c.alerts).evaluate(AlertInputs(now, e.aps(), {})))
    state.close()
    r = _cli("alerts", "c.yaml", "--json", cwd=tmp_path)
    firing = [a for a in json.loads(r.stdout)["alerts"] if a["state"] == "firing"]
    assert sorted(a["rule"] for a in firing) == ["ap_down", "site_down"]
    ap_alert = next(a for a in firing if a["rule"] == "ap_down")
    assert ap_alert["suppressed"] == "inhibited:site_down"
    r = _cli("alerts", "c.yaml", "--ack", str(ap_alert["id"]), "--by", "sari", "--comment", "ok", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli("alerts", "c.yaml", cwd=tmp_path)
    assert "ap_down" in r.stdout and "ack sari" not in r.stdout  # the table shows why it is muted first
    r = _cli("alerts", "c.yaml", "--json", cwd=tmp_path)
    assert next(a for a in json.loads(r.stdout)["alerts"] if a["id"] == ap_alert["id"])["acked_by"] == "sari"
