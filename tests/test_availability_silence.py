"""Silence is never uptime: an unreachable controller, an MQTT AP not heard since
a restart, an AP removed from the inventory and a gap between observations all
make time *unmonitored* (or, for a silent MQTT AP the collector is listening
for, *down*), never up. Real SQLite state DBs; every figure is computed by hand
in the comments (sites without service hours: service time = the whole range).
"""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from collectors.mqtt.broker import start_mosquitto
from collectors.mqtt.collector import MqttCollector
from collectors.mqtt.handler import MessageHandler
from hotspot_monitor.config.models import Config
from hotspot_monitor.status.availability import availability
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from services.mosquitto import mqtt_config
from test_status_engine import at

US = 1_000_000


def cfg_of(aps: list[dict], **collector: object) -> Config:
    return Config.model_validate({
        "timezone": "Asia/Jakarta",
        "collector": {"down_after": 3, "max_gap_s": 900, "snmp": {"community": "c-Test-77"},
                      **collector},
        "sites": [{"id": "s", "name": "S", "lat": -7.5, "lon": 110.8, "district": "Jebres"}],
        "controllers": [{"id": "wlc", "host": "127.0.0.1", "site": "s"}],
        "aps": aps,
    })


def status(ap: str, up: int, t: float, source: str = "snmp", reason: str = "snmp_timeout"):
    from hotspot_monitor.sample import Sample
    fields: dict = {"up": up} if up else {"up": 0, "reason": reason}
    return Sample("ap_status", {"site": "s", "ap": ap, "source": source}, fields, at(t))


def store_in(tmp_path: Path) -> StateStore:
    return StateStore("sqlite:///state.sqlite", base_dir=tmp_path)


# -- 1. a controller that cannot be polled: its APs are unknown, unmonitored ----------
def test_unreachable_controller_makes_its_aps_unknown_and_unmonitored(tmp_path: Path) -> None:
    cfg = cfg_of([{"id": "t-1", "site": "s", "controller": "wlc"},
                  {"id": "t-2", "site": "s", "controller": "wlc"}])
    store = store_in(tmp_path)
    eng = StatusEngine(cfg, store)
    eng.start(at(0))
    events = []
    for t in range(0, 1201, 60):
        if t in (660, 720):  # the controller times out twice (120 s, shorter than max_gap_s)
            events += eng.observe(status("wlc", 0, t))
            snap = {r.ap: (r.state, r.reason) for r in eng.snapshot().aps}
            assert snap == {"t-1": ("unknown", "controller_unreachable"),
                            "t-2": ("unknown", "controller_unreachable")}
            assert eng.snapshot().sites[0].state == "unknown"
            continue
        events += eng.observe(status("wlc", 1, t))
        events += eng.observe(status("t-1", 1, t))
        # the controller lists t-2 as down from 300 until it is blind; up again at 780
        down = 300 <= t <= 600
        events += eng.observe(status("t-2", 0 if down else 1, t, reason="controller_reports_down"))
    eng.stop(at(1200))
    assert eng.stats["controller_unreachable"] == 2 and eng.stats["unknown_ap"] == 0
    # the blind time is not an outage: t-2's outage runs 300 -> 780 (first good sign)
    assert [(e.tags["ap"], e.fields["state"], e.time) for e in events] == [
        ("t-2", "down", at(300)), ("t-2", "up", at(780))]
    assert {r.ap: r.state for r in eng.snapshot().aps} == {"t-1": "up", "t-2": "up"}
    # observed [0, 600] (last poll before the controller failed) and [780, 1200]:
    # 600 + 420 = 1020 s monitored of 1200 s service; 180 s unmonitored
    a = availability(store, cfg, start=at(0), end=at(1200), ap="t-1")
    assert (a.service_s, a.monitored_s, a.downtime_s, a.unmonitored_s) == (1200, 1020, 0, 180)
    # t-2 is down 300 -> 780 (480 s in the log) but only [300, 600] was seen: 300 s
    a = availability(store, cfg, start=at(0), end=at(1200), ap="t-2")
    assert (a.monitored_s, a.downtime_s, a.unmonitored_s) == (1020, 300, 180)
    assert [(c.outage.duration_s, c.counted_s) for c in a.outages] == [(480.0, 300.0)]
    assert a.availability_pct == pytest.approx(100 * 720 / 1020, abs=1e-12)
    store.close()
    # the blind flag survives a restart until the AP is seen again
    store = store_in(tmp_path)
    eng = StatusEngine(cfg, store)
    eng.start(at(1300))
    eng.observe(status("wlc", 0, 1300))
    eng.stop(at(1310))
    store.close()
    store = store_in(tmp_path)
    assert {r.ap: r.state for r in StatusEngine(cfg, store).snapshot().aps} == {
        "t-1": "unknown", "t-2": "unknown"}
    store.close()


# -- 2. an MQTT AP not heard since the service (re)started goes stale -----------------
def test_mqtt_ap_not_heard_since_a_restart_goes_stale(tmp_path: Path) -> None:
    cfg = cfg_of([{"id": "m-1", "site": "s"}])  # no host, no mqtt_id: an MQTT AP
    store = store_in(tmp_path)
    eng = StatusEngine(cfg, store)
    eng.start(at(0))
    for t in range(0, 601, 60):
        eng.observe(status("m-1", 1, t, source="mqtt"))
    eng.stop(at(600))
    store.close()
    # the service is back at 3600; the collector listens from then on and hears
    # nothing: the first judgment after heartbeat_timeout_s (300) says "silent since 3600"
    store = store_in(tmp_path)
    eng = StatusEngine(cfg, store)
    eng.start(at(3600))
    ev = eng.mark_stale("m-1", at(3600), at(3905))
    assert [(e.fields["state"], e.fields["reason"], e.time) for e in ev] == [
        ("down", "stale", at(3600))]
    for now in range(3910, 4201, 5):  # housekeeping repeats the judgment
        assert eng.mark_stale("m-1", at(3600), at(now)) == []
    eng.stop(at(4200))
    # observed [0, 600] and, silent while listened for, [3600, 4200]: 1200 s
    # monitored (the restart gap is not), 600 s of it down
    a = availability(store, cfg, start=at(0), end=at(4200), ap="m-1")
    assert (a.service_s, a.monitored_s, a.downtime_s, a.unmonitored_s) == (4200, 1200, 600, 3000)
    assert a.availability_pct == 50.0
    store.close()


def test_handler_judges_every_inventory_mqtt_ap_after_listening_long_enough() -> None:
    cfg = cfg_of([{"id": "plain", "site": "s"},  # no host, no mqtt_id: metrics from MQTT
                  {"id": "named", "site": "s", "mqtt_id": "dev-9"},
                  {"id": "snmp-only", "site": "s", "host": "10.0.0.9"}])
    h = MessageHandler(cfg)  # mqtt.heartbeat_timeout_s: 300 (the default)
    t0 = datetime(2026, 10, 1, tzinfo=timezone.utc)
    assert h.stale_aps(t0 + timedelta(seconds=300), t0) == {}  # not listened long enough
    assert h.stale_aps(t0 + timedelta(seconds=301), t0) == {"plain": None, "named": None}


def test_mqtt_collector_is_blind_while_disconnected(tmp_path: Path) -> None:
    """A real broker that goes away: no staleness is declared while the collector
    cannot hear, and after the reconnection it listens a full timeout first."""
    from services.ports import free_port

    port = free_port()
    broker = start_mosquitto(port, tmp_path / "b1")
    cfg = mqtt_config(port, "blind", aps=[{"id": "m-1", "site": "balekambang"}],
                      heartbeat_timeout_s=1.0)
    coll = MqttCollector(cfg, on_samples=lambda s: None)
    coll.start()
    try:
        assert coll.wait_connected(15)
        t_conn = datetime.now(timezone.utc)
        deadline = time.monotonic() + 15
        stale: dict = {}
        while not stale and time.monotonic() < deadline:
            time.sleep(0.2)
            stale = coll.stale_aps(datetime.now(timezone.utc))
        # silent since the collector started listening (noticed within 0.2 s of connecting)
        assert set(stale) == {"m-1"}
        assert abs((stale["m-1"] - t_conn).total_seconds()) < 1.0
        broker.stop()
        deadline = time.monotonic() + 15
        while coll.stats["connected"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not coll.stats["connected"]
        time.sleep(1.2)  # longer than the timeout: still nothing is judged
        assert coll.stale_aps(datetime.now(timezone.utc)) == {}
        broker = start_mosquitto(port, tmp_path / "b2")
        assert coll.wait_connected(20)
        t_back = datetime.now(timezone.utc)
        assert coll.stale_aps(t_back) == {}  # listened less than the timeout
        deadline = time.monotonic() + 15
        stale = {}
        while not stale and time.monotonic() < deadline:
            time.sleep(0.2)
            stale = coll.stale_aps(datetime.now(timezone.utc))
        assert set(stale) == {"m-1"} and stale["m-1"] > t_conn + timedelta(seconds=1)
    finally:
        coll.stop()
        broker.stop()


# -- 3. an AP removed from the inventory stops counting ------------------------------
def test_removed_ap_stops_counting_at_its_last_observation(tmp_path: Path) -> None:
    both = cfg_of([{"id": "a-1", "site": "s", "host": "10.0.0.1"},
                   {"id": "a-2", "site": "s", "host": "10.0.0.2"}])
    store = store_in(tmp_path)
    eng = StatusEngine(both, store)
    eng.start(at(0))
    for t in range(0, 601, 60):
        eng.observe(status("a-1", 1, t))
        eng.observe(status("a-2", 0 if t >= 480 else 1, t))  # down from 480, still open
    eng.stop(at(600))
    store.close()
    only_a1 = cfg_of([{"id": "a-1", "site": "s", "host": "10.0.0.1"}])  # a-2 removed
    store = store_in(tmp_path)
    eng = StatusEngine(only_a1, store)
    eng.start(at(1000))
    for t in range(1000, 1601, 60):
        eng.observe(status("a-1", 1, t))
    eng.stop(at(1600))
    # a-2: observed [0, 600] only; its open outage counts [480, 600] = 120 s
    # (before: monitored 1200 s over both sessions, 720 s of it down)
    a = availability(store, only_a1, start=at(0), end=at(1600), ap="a-2")
    assert (a.monitored_s, a.downtime_s, a.unmonitored_s) == (600, 120, 1000)
    # a-1: [0, 1600] observed (the gap 600 -> 1000 is shorter than max_gap_s), within
    # the sessions [0, 600] + [1000, 1600]: 600 + 600 = 1200 s; the site: 1200 + 600
    site = availability(store, only_a1, start=at(0), end=at(1600), site="s")
    assert (site.aps, site.service_s, site.monitored_s, site.downtime_s) == (2, 3200, 1800, 120)
    assert site.unmonitored_s == 3200 - 1800
    store.close()


# -- 4. a gap longer than max_gap_s is unmonitored; a stale MQTT AP keeps counting ---
def test_gap_longer_than_max_gap_is_unmonitored(tmp_path: Path) -> None:
    cfg = cfg_of([{"id": "g-1", "site": "s", "host": "10.0.0.1"}])
    store = store_in(tmp_path)
    eng = StatusEngine(cfg, store)
    eng.start(at(0))
    polls = [*range(0, 601, 60), *range(1500, 1801, 60), *range(2760, 3001, 60)]
    for t in polls:
        eng.observe(status("g-1", 1, t))
        eng.tick(at(t))
    eng.stop(at(3000))
    # 600 -> 1500 is exactly max_gap_s (900): monitored; 1800 -> 2760 (960 s) is not
    a = availability(store, cfg, start=at(0), end=at(3000), ap="g-1")
    assert (a.monitored_s, a.downtime_s, a.unmonitored_s) == (1800 + 240, 0, 960)
    assert [(c.start, c.end, c.open) for c in store.coverage(aps=["g-1"])] == [
        (at(0), at(1800), False), (at(2760), at(3000), True)]
    # exact and additive at any split instant
    p1 = availability(store, cfg, start=at(0), end=at(1700.5), ap="g-1")
    p2 = availability(store, cfg, start=at(1700.5), end=at(3000), ap="g-1")
    assert p1.monitored_us + p2.monitored_us == a.monitored_us == 2040 * US
    store.close()


def test_stale_mqtt_ap_counts_as_down_while_listened_for_not_while_blind(tmp_path: Path) -> None:
    cfg = cfg_of([{"id": "m-1", "site": "s"}])
    store = store_in(tmp_path)
    eng = StatusEngine(cfg, store)
    eng.start(at(0))
    for t in range(0, 301, 60):
        eng.observe(status("m-1", 1, t, source="mqtt"))
    # heard last at 300; judged stale from 605 on, every 5 s until 1800, then the
    # broker connection is lost (no judgments) until the service stops at 3000
    for now in range(605, 1801, 5):
        eng.tick(at(now), stale=[("m-1", at(300.000001))])
    eng.tick(at(3000))
    eng.stop(at(3000))
    a = availability(store, cfg, start=at(0), end=at(3000), ap="m-1")
    # monitored [0, 1800]; down from 300.000001 to 1800 = 1499.999999 s;
    # [1800, 3000] unmonitored (before: monitored 3000 s, down 2699.999999 s)
    assert (a.monitored_us, a.down_us, a.unmonitored_us) == (
        1800 * US, 1500 * US - 1, 1200 * US)
    store.close()


# -- 6. a weekday left out of service_hours is a check-config error --------------------
def test_weekday_left_out_of_service_hours_is_an_error(tmp_path: Path) -> None:
    text = ("timezone: Asia/Jakarta\n"
            "sites:\n"
            "  - id: park\n"
            "    name: Park\n"
            "    lat: -7.5\n"
            "    lon: 110.8\n"
            "    service_hours:\n"
            "      mon: '06:00-22:00'\n"
            "      tue: '06:00-22:00'\n"
            "      wed: '06:00-22:00'\n"
            "      thu: '06:00-22:00'\n"
            "      fri: '06:00-22:00'\n"
            "      sat: '06:00-22:00'\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "check-config", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"{bad}:7: sites[0].service_hours: no hours for sun: give HH:MM-HH:MM or closed for "
        f"every weekday (or one HH:MM-HH:MM for all days)"]
    good = tmp_path / "good.yaml"
    good.write_text(text + "      sun: closed\n")
    r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "check-config", str(good)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_an_old_state_db_gets_the_new_columns(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    with store.engine.begin() as c:  # a state DB written before coverage existed
        for col in ("covered_since", "covered_until", "blind_reason"):
            c.exec_driver_sql(f"ALTER TABLE ap_state DROP COLUMN {col}")
        c.exec_driver_sql("ALTER TABLE outages DROP COLUMN truncated")
        c.exec_driver_sql("DROP TABLE coverage")
    store.close()
    store = store_in(tmp_path)
    cfg = cfg_of([{"id": "g-1", "site": "s", "host": "10.0.0.1"}])
    eng = StatusEngine(cfg, store)
    eng.start(at(0))
    for t in (0, 60, 120):
        eng.observe(status("g-1", 1, t))
    eng.stop(at(120))
    a = availability(store, cfg, start=at(0), end=at(120), ap="g-1")
    assert a.monitored_s == 120
    store.close()
