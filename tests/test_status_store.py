"""The state store behind the engine: outage rows, AP state across restarts,
monitoring sessions. Real SQLite files in a temp dir."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from hotspot_monitor.config.models import Config
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore, resolve_url
from test_status_engine import at, feed, make_cfg, st


def open_store(tmp_path: Path) -> StateStore:
    return StateStore("sqlite:///state.sqlite", base_dir=tmp_path)


def test_relative_sqlite_path_is_resolved_and_wal_is_on(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert (tmp_path / "state.sqlite").exists()
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()
    assert resolve_url("sqlite:///var/x.sqlite", tmp_path) == f"sqlite:///{tmp_path}/var/x.sqlite"
    assert resolve_url("sqlite:////abs/x.sqlite", tmp_path) == "sqlite:////abs/x.sqlite"
    assert resolve_url("sqlite://", tmp_path) == "sqlite://"
    pg = "postgresql+psycopg://u:p@db/state"
    assert resolve_url(pg, tmp_path) == pg
    cfg = Config.model_validate({"state": {"url": "sqlite:///var/state.sqlite"}})
    s2 = StateStore.from_config(cfg, base_dir=tmp_path)
    assert (tmp_path / "var" / "state.sqlite").exists()
    s2.close()


def test_outage_rows_have_exact_start_end_duration(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(), store)
    eng.start(at(0))
    feed(eng, [st("p1", 1, 0), st("p1", 0, 60.25), st("p1", 0, 120), st("p1", 0, 180)])
    [o] = store.outages()
    assert (o.ap, o.site, o.start, o.end, o.duration_s, o.reason, o.source) == (
        "p1", "park", at(60.25), None, None, "snmp_timeout", "snmp")
    ev = eng.observe(st("p1", 1, 3600.75))
    assert ev[0].fields["down_s"] == 3541  # 3540.5 s rounds half up
    [o] = store.outages()
    assert (o.start, o.end, o.duration_s) == (at(60.25), at(3600.75), 3540.5)
    # the raw SQLite row holds the same instants (UTC, microseconds)
    db = sqlite3.connect(tmp_path / "state.sqlite")
    start, end = db.execute("select start, \"end\" from outages").fetchone()
    assert (start, end) == ("2026-11-02 03:01:00.250000", "2026-11-02 04:00:00.750000")
    db.close()
    eng.stop(at(3700))
    store.close()


def test_restart_keeps_an_open_outage_open_and_closes_it_right(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(), store)
    eng.start(at(0))
    feed(eng, [st("p1", 1, 0), st("p2", 1, 0), st("p1", 0, 60), st("p1", 0, 120),
               st("p1", 0, 180), st("p2", 1, 180)])
    eng.stop(at(200))
    store.close()

    # the service is down for two hours; a new engine on the same DB
    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(), store)
    assert eng.ap("p1").state == "down" and eng.ap("p1").since == at(60)
    assert eng.ap("p2").state == "up" and eng.ap("p2").last_seen == at(180)
    eng.start(at(7400))
    [o] = store.outages(open_only=True)
    assert o.start == at(60)
    # still failing after the restart: still the same outage, no new event
    assert eng.observe(st("p1", 0, 7400)) == []
    # p2 answers at once: the restart gap is no outage
    assert eng.observe(st("p2", 1, 7400)) == []
    ev = eng.observe(st("p1", 1, 7460))
    assert ev[0].fields == {"state": "up", "reason": "recovered", "down_s": 7400}
    outages = store.outages()
    assert [(x.ap, x.start, x.end, x.duration_s) for x in outages] == [
        ("p1", at(60), at(7460), 7400.0)]
    eng.stop(at(7500))
    sessions = store.sessions()
    assert [(s.started, s.stopped) for s in sessions] == [(at(0), at(200)), (at(7400), at(7500))]
    store.close()


def test_restart_gap_breaks_a_pending_failure_run(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(max_gap_s=900), store)
    feed(eng, [st("p1", 1, 0), st("p1", 0, 60), st("p1", 0, 120)])
    eng.stop(at(130))
    assert store.load_ap_states()[0]["consecutive_failures"] == 2
    store.close()

    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(max_gap_s=900), store)
    eng.start(at(3600))
    # the 3rd failure comes after a gap longer than max_gap_s: a new run
    assert eng.observe(st("p1", 0, 3600)) == []
    ev = feed(eng, [st("p1", 0, 3660), st("p1", 0, 3720)])
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(3600))]
    assert [x.start for x in store.outages()] == [at(3600)]
    store.close()


def test_quick_restart_continues_a_failure_run(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(max_gap_s=900), store)
    feed(eng, [st("p1", 1, 0), st("p1", 0, 60), st("p1", 0, 120)])
    eng.stop(at(130))
    store.close()
    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(max_gap_s=900), store)
    ev = eng.observe(st("p1", 0, 180))  # 60 s later: same run, 3rd failure
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(60))]
    store.close()


def test_crash_without_stop_keeps_last_tick(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(), store)
    eng.start(at(0))
    feed(eng, [st("p1", 1, 0), st("p1", 1, 60)])
    eng.tick(at(90))
    feed(eng, [st("p1", 1, 120)])  # lost: no tick or stop after it
    store.close()
    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(), store)
    assert eng.ap("p1").last_seen == at(60)
    eng.start(at(1000))
    s = store.sessions()
    assert [(x.started, x.stopped) for x in s] == [(at(0), at(90)), (at(1000), None)]
    store.close()


def test_flapping_and_sources_survive_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    cfg = make_cfg(flap_transitions=2, flap_window_s=3600)
    eng = StatusEngine(cfg, store)
    eng.observe(st("p1", 1, 0, source="mqtt"))
    for t, up in [(60, 0), (120, 1), (180, 0)]:
        eng.observe(st("p1", up, t, source="mqtt", reason="lwt_offline"))
    assert eng.ap("p1").flapping is True
    eng.stop(at(200))
    store.close()
    store = open_store(tmp_path)
    eng = StatusEngine(cfg, store)
    tr = eng.ap("p1")
    assert tr.flapping is True
    assert tr.flap_times == [at(60), at(120), at(180)]
    assert tr.sources["mqtt"].down is True and tr.sources["mqtt"].reason == "lwt_offline"
    eng.tick(at(3780))  # only the 180 transition is left: 1 <= 2 // 2
    assert eng.ap("p1").flapping is False
    eng.stop(at(3780))
    store.close()
    store = open_store(tmp_path)
    assert StatusEngine(cfg, store).ap("p1").flapping is False
    store.close()


def test_aps_dropped_from_the_inventory_are_not_tracked(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(), store)
    feed(eng, [st("p1", 1, 0), st("s1", 1, 0, site="square")])
    eng.stop(at(10))
    cfg = Config.model_validate({
        "sites": [{"id": "park", "name": "Park", "lat": 0, "lon": 0}],
        "aps": [{"id": "p1", "site": "park"}],
    })
    eng = StatusEngine(cfg, store)
    assert [r.ap for r in eng.snapshot().aps] == ["p1"]
    assert {r["ap"] for r in store.load_ap_states()} == {"p1", "s1"}
    store.close()


def test_many_aps_save_in_one_go(tmp_path: Path) -> None:
    """Periodic saves upsert thousands of rows (inserts, then updates)."""
    n = 2000
    cfg = Config.model_validate({
        "sites": [{"id": "s", "name": "S", "lat": 0, "lon": 0}],
        "aps": [{"id": f"ap{i}", "site": "s"} for i in range(n)],
    })
    store = open_store(tmp_path)
    eng = StatusEngine(cfg, store)
    for rnd in range(2):
        for i in range(n):
            eng.observe(st(f"ap{i}", 1, 60 * rnd, site="s"))
        eng.tick(at(60 * rnd + 1))
    rows = store.load_ap_states()
    assert len(rows) == n
    assert {r["last_seen"] for r in rows} == {at(60)}
    assert {r["first_seen"] for r in rows} == {at(0)}
    store.close()


def test_a_failing_store_never_half_applies_a_transition(tmp_path: Path) -> None:
    """The state DB breaks under the engine: the transition is applied in memory
    (its event goes out), its store write waits in the journal and is retried,
    with the start it always had, once the DB works again; never half-written."""
    from sqlalchemy import text

    from hotspot_monitor.status.statestore import Base

    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(), store)
    feed(eng, [st("p1", 1, 0), st("p1", 0, 60), st("p1", 0, 120)])
    with store.engine.begin() as c:  # the state DB breaks under the engine
        c.execute(text("DROP TABLE outages"))
    ev = eng.observe(st("p1", 0, 180))
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(60))]
    assert eng.stats["store_errors"] == 1 and eng.unsaved_transitions == 1
    assert eng.ap("p1").state == "down"
    eng.tick(at(200))  # still broken: nothing half-written, no AP row says down without its outage
    assert [r["state"] for r in store.load_ap_states()] == []
    Base.metadata.create_all(store.engine)  # repaired
    assert eng.observe(st("p1", 0, 240)) == []  # already down
    eng.tick(at(241))  # the journal is retried
    assert eng.unsaved_transitions == 0 and eng.stats["transitions_delayed"] == 1
    assert [(o.start, o.end) for o in store.outages()] == [(at(60), None)]
    assert eng.ap("p1").open_outage_id == store.outages()[0].id
    store.close()


def test_an_outage_while_the_state_store_is_broken_is_not_lost(tmp_path: Path) -> None:
    """Down and back up while every state store write fails: both transitions are
    stored afterwards, in order, with their own times."""
    from sqlalchemy import text

    from hotspot_monitor.status.statestore import Base

    store = open_store(tmp_path)
    eng = StatusEngine(make_cfg(), store)
    feed(eng, [st("p1", 1, 0)])
    with store.engine.begin() as c:
        c.execute(text("DROP TABLE outages"))
    ev = feed(eng, [st("p1", 0, 60), st("p1", 0, 120), st("p1", 0, 180), st("p1", 1, 240)])
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(60)), ("up", at(240))]
    assert eng.unsaved_transitions == 2
    Base.metadata.create_all(store.engine)
    eng.tick(at(300))
    assert eng.unsaved_transitions == 0
    assert [(o.start, o.end, o.duration_s) for o in store.outages()] == [(at(60), at(240), 180.0)]
    assert {r["ap"]: (r["state"], r["open_outage_id"]) for r in store.load_ap_states()} == {
        "p1": ("up", None)}
    store.close()
