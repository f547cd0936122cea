"""The parts of sharding one at a time: ownership, per-device MQTT filters, the
state store's per-shard sessions and blinding, the sharded engine's restart, the
shard_down health reason, and the advisory locks on a real PostgreSQL.
(tests/test_service_shards.py runs two real shards end to end.)"""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from collectors.mqtt.collector import shard_subscriptions
from collectors.mqtt.topics import device_filters
from collectors.snmp.inventory import build_devices
from hotspot_monitor.alerts.rules import AlertInputs, MonitorHealth, RuleEvaluator
from hotspot_monitor.cluster.heartbeats import Heartbeats
from hotspot_monitor.cluster.leader import LeaderLock, ShardBusy
from hotspot_monitor.cluster.watch import ShardWatch
from hotspot_monitor.cluster.ownership import ShardId, aps_by_shard, shard_config
from hotspot_monitor.config.models import Config, MqttSubscription
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from services.postgres import postgres  # noqa: F401  (fixture)
from test_status_engine import at, st

# int(sha1(id).hexdigest(), 16) % 2, worked out by hand:
# a-1 0, m-1 0, q-3 0; a-2 1, m-6 1, q-1 1


def fleet(**collector) -> Config:
    return Config.model_validate({
        "timezone": "Asia/Jakarta",
        "collector": collector,
        "mqtt": {"enabled": True, "client_id": "hm",
                 "subscriptions": [{"topic": "hotspot/+/+/telemetry", "format": "json"},
                                   {"topic": "hotspot/+/+/status", "format": "presence"},
                                   {"topic": "collectd/#", "format": "collectd"}]},
        "sites": [{"id": "park", "name": "Park", "lat": -7.5, "lon": 110.8}],
        "controllers": [{"id": "q-1", "site": "park", "host": "127.0.0.1"}],
        "aps": [{"id": "a-1", "site": "park", "host": "127.0.0.1"},
                {"id": "a-2", "site": "park", "host": "127.0.0.1", "mqtt_id": "ap2-mqtt"},
                {"id": "m-1", "site": "park", "mqtt_id": "m-1"},
                {"id": "m-6", "site": "park"},
                # seen only through controller q-1 (shard 1), whatever its own hash (q-3: 0)
                {"id": "q-3", "site": "park", "controller": "q-1"}],
    })


def test_each_ap_has_one_owner_and_controller_aps_follow_their_controller():
    c = fleet()
    assert aps_by_shard(c, 2) == {0: ["a-1", "m-1"], 1: ["a-2", "m-6", "q-3"]}
    one = shard_config(c, ShardId(1, 2))
    assert [a.id for a in one.aps] == ["a-2", "m-6", "q-3"]
    assert [x.id for x in one.controllers] == ["q-1"]
    assert [x.id for x in shard_config(c, ShardId(0, 2)).controllers] == []
    assert shard_config(c, ShardId(0, 1)) is c  # one process: the whole fleet
    # the SNMP inventory of `poll --once` with collector.shard uses the same split
    assert sorted(build_devices(fleet(shard="1/2"))) == ["a-2", "q-1"]
    assert sorted(build_devices(fleet(shard="0/2"))) == ["a-1"]


def test_shard_ids_are_checked():
    assert ShardId.parse("1/3") == ShardId(1, 3) and ShardId.parse(None) == ShardId(0, 1)
    for bad in ("3/3", "1/0", "x/2", "1"):
        with pytest.raises(ValueError):
            ShardId.parse(bad)


def test_a_shard_subscribes_to_its_own_devices_only():
    subs = [MqttSubscription(topic="hotspot/+/+/telemetry"),
            MqttSubscription(topic="$share/g/hotspot/+/+/status", format="presence"),
            MqttSubscription(topic="collectd/#", format="collectd"),
            MqttSubscription(topic="x/collectd/+/+/+", format="collectd")]
    assert device_filters(subs[0], ["b", "a"]) == ["hotspot/+/a/telemetry", "hotspot/+/b/telemetry"]
    assert device_filters(subs[1], ["a"]) == ["hotspot/+/a/status"]
    assert device_filters(subs[2], ["a"]) == ["collectd/a/+/+"]
    assert device_filters(subs[3], ["a"]) == ["x/collectd/a/+/+"]
    with pytest.raises(ValueError):
        device_filters(subs[0], ["evil/+"])
    with pytest.raises(ValueError):
        device_filters(MqttSubscription(topic="#"), ["a"])
    # shard 1 of fleet(): a-2 (id and mqtt_id), m-6, q-3; its own persistent session
    filters, client_id = shard_subscriptions(shard_config(fleet(), ShardId(1, 2)))
    assert client_id == "hm-1of2"
    devices = ["a-2", "ap2-mqtt", "m-6", "q-3"]
    assert filters == ([f"hotspot/+/{d}/telemetry" for d in devices]
                       + [f"hotspot/+/{d}/status" for d in devices]
                       + [f"collectd/{d}/+/+" for d in devices])
    assert shard_subscriptions(fleet()) == (None, None)


def test_a_starting_shard_closes_only_its_own_sessions(tmp_path):
    s = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    a = s.start_session(at(0), shard="0/2")
    b = s.start_session(at(1), shard="1/2")
    s.touch_session(a, at(50))
    s.touch_session(b, at(60))
    s.start_session(at(100), shard="0/2")  # shard 0 restarted after a crash
    by_id = {x.id: x for x in s.sessions()}
    assert by_id[a].stopped == at(50)  # its own dead session ends at its last sign of life
    assert by_id[b].stopped is None  # the peer's is still running
    assert s.stop_stale_sessions("1/2") == 1
    assert {x.id: x for x in s.sessions()}[b].stopped == at(60)


def test_blinding_a_dead_shards_aps_ends_their_coverage(tmp_path):
    c = fleet()
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    eng = StatusEngine(shard_config(c, ShardId(0, 2)), store)
    eng.start(at(0))
    for t in (0, 60, 120):
        eng.observe_many([st("a-1", 1, t), st("m-1", 1, t + 1, source="mqtt")])
    eng.tick(at(125))
    # the shard's last heartbeat was at 121: a-1's stretch ends at 120, m-1's at 121 (not 122...)
    assert store.blind_aps(["a-1", "m-1"], "shard_down", at(121)) == 2
    assert store.blind_aps(["a-1", "m-1"], "shard_down", at(121)) == 0  # idempotent
    spans = sorted((x.ap, x.start, x.end, x.open) for x in store.coverage())
    assert spans == [("a-1", at(0), at(120), False), ("m-1", at(1), at(121), False)]
    # everyone reading the store sees them unknown (not up, not down) with the reason
    rows = {r.ap: r for r in StatusEngine(c, store).snapshot().aps}
    assert (rows["a-1"].state, rows["a-1"].reason) == ("unknown", "shard_down")
    assert rows["a-2"].state == "unknown" and rows["a-2"].reason is None  # never seen


def test_a_restarted_shard_does_not_count_its_downtime_as_observed(tmp_path):
    c = shard_config(fleet(), ShardId(0, 2))
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    eng = StatusEngine(c, store)
    eng.start(at(0))
    eng.observe_many([st("a-1", 1, 0), st("a-1", 1, 60)])
    eng.tick(at(61))  # then killed: no stop()
    # restarted 100 s later, well within max_gap_s (900 s): a single process would
    # bridge the gap with its stretch and let the session gap exclude it; a shard's
    # gap is inside the other shards' sessions, so the stretch must end at 60
    eng = StatusEngine(c, store)
    eng.start(at(160))
    assert eng.observe(st("a-1", 1, 170)) == []  # still up: no event, no outage
    eng.observe(st("a-1", 1, 230))
    eng.tick(at(231))
    spans = sorted((x.start, x.end) for x in store.coverage(aps=["a-1"]))
    assert spans == [(at(0), at(60)), (at(170), at(230))]
    assert store.outages() == []


def test_monitor_unhealthy_per_dead_shard():
    c = fleet()
    e = StatusEngine(c)
    since = at(0)
    h = MonitorHealth(shards=["0/2", "1/2"], shards_down={"1/2": since})
    ev = RuleEvaluator(c, c.alerts).evaluate(AlertInputs(at(100), e.aps(), {}, health=h))
    down = [x for x in ev.conditions if x.rule == "monitor_unhealthy"]
    assert [(x.labels, x.since) for x in down] == [({"reason": "shard_down", "shard": "1/2"}, since)]
    # the live shard is judged too (so a resolved shard resolves its alert), separately
    assert {"rule=monitor_unhealthy|reason=shard_down|shard=0/2",
            "rule=monitor_unhealthy|reason=shard_down|shard=1/2"} <= ev.checked


def test_sharding_needs_postgresql_and_influxdb(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sites: []\naps: []\nstate: {url: 'sqlite:///s.sqlite'}\n")
    out = subprocess.run([sys.executable, "-m", "hotspot_monitor", "run", str(cfg), "--shard", "1/2",
                          "--base-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "--shard 1/2 needs a PostgreSQL state store" in out.stderr
    # a PostgreSQL URL (nothing listens there: the check comes first) and the SQLite metric store
    cfg.write_text("sites: []\naps: []\nstate: {url: 'postgresql+psycopg://u:pw-3317@127.0.0.1:9/x'}\n")
    out = subprocess.run([sys.executable, "-m", "hotspot_monitor", "run", str(cfg), "--shard", "1/2",
                          "--base-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "--shard 1/2 needs the InfluxDB metric store" in out.stderr and "pw-3317" not in out.stderr
    out = subprocess.run([sys.executable, "-m", "hotspot_monitor", "run", str(cfg), "--shard", "2/2",
                          "--base-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--shard" in out.stderr


def test_advisory_locks_elect_one_leader_and_one_process_per_shard(postgres):  # noqa: F811
    url = postgres.new_database()
    stores = [StateStore(url) for _ in range(3)]
    a = LeaderLock(stores[0].engine, ShardId(0, 2))
    b = LeaderLock(stores[1].engine, ShardId(1, 2))
    try:
        a.claim_shard()
        b.claim_shard()
        twin = LeaderLock(stores[2].engine, ShardId(1, 2))
        with pytest.raises(ShardBusy):
            twin.claim_shard()  # a second process for shard 1/2 must not start
        twin.close()
        assert (a.refresh(), b.refresh()) == (True, False)
        assert (a.refresh(), b.refresh()) == (True, False)  # kept, not re-taken
        a.close()  # the leader's connection goes: PostgreSQL releases its locks as its backend ends
        deadline = time.monotonic() + 10
        while not b.refresh() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.leader is True
        c = LeaderLock(stores[2].engine, ShardId(0, 2))
        c.claim_shard()  # shard 0's lock was released with its connection
        assert c.refresh() is False
        c.close()
    finally:
        a.close()
        b.close()
        for s in stores:
            s.close()


def test_the_leader_judges_every_live_shards_own_health():
    c = fleet()
    e = StatusEngine(c)
    failing = MonitorHealth(snmp_expected=True, snmp_interval_s=60, started_at=at(0),
                            snmp_last_round=at(10), store_ok=False, store_failing_since=at(40))
    # a shard's health travels through its heartbeat row as JSON
    failing = MonitorHealth.from_json(failing.to_json())
    fine = MonitorHealth(snmp_expected=True, snmp_interval_s=60, started_at=at(0), snmp_last_round=at(280))
    h = MonitorHealth(shards=["0/2", "1/2"], shard_health={"0/2": failing, "1/2": fine})
    ev = RuleEvaluator(c, c.alerts).evaluate(AlertInputs(at(300), e.aps(), {}, health=h))
    got = sorted((x.labels["reason"], x.labels.get("shard"), x.since) for x in ev.conditions
                 if x.rule == "monitor_unhealthy")
    # shard 0/2: last round at 10 s, late after 3 x 60 + 60 = 240 s -> since 250 s; store failing since 40 s
    assert got == [("snmp_round_late", "0/2", at(250)), ("store_unwritable", "0/2", at(40))]
    assert "rule=monitor_unhealthy|reason=store_unwritable|shard=1/2" in ev.checked  # judged fine


def test_the_leaders_watch_finds_dead_missing_and_foreign_shards(tmp_path):
    c = fleet()
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    hb = Heartbeats(store.engine)
    eng = StatusEngine(shard_config(c, ShardId(1, 2)), store)  # shard 1/2 observed a-2 and m-6
    eng.start(at(0))
    eng.observe_many([st("a-2", 1, 0), st("a-2", 1, 50), st("m-6", 1, 40, source="mqtt")])
    eng.tick(at(55))
    watch = ShardWatch(c, ShardId(0, 2), store, hb, timeout_s=4, started_at=at(100))
    hb.beat("0/2", 0, 2, "mon-a", 11, at(0), at(100), 2, True)
    # 1/2 has no row yet: not down while the leader has waited less than the timeout
    assert watch.check(at(103)) == {}
    # still no row after the timeout: down since the leader began waiting (it never started)
    hb.beat("0/2", 0, 2, "mon-a", 11, at(0), at(104), 2, True)
    assert {k: v.since for k, v in watch.check(at(105)).items()} == {"1/2": at(100)}
    # it had been running: its row is 6 s old (timeout 4 s): down since its last heartbeat
    hb.beat("1/2", 1, 2, "mon-b", 22, at(0), at(52), 3, False)
    hb.beat("0/2", 0, 2, "mon-a", 11, at(0), at(57), 2, True)
    down = watch.check(at(58))
    assert [(k, v.since, v.aps, v.host, v.pid) for k, v in down.items()] == [("1/2", at(52), 3, "mon-b", 22)]
    assert list(watch.alive) == ["0/2"]
    rows = {r.ap: (r.state, r.reason) for r in StatusEngine(c, store).snapshot().aps}
    assert rows["a-2"] == rows["m-6"] == ("unknown", "shard_down")
    # a shard started with another count polls some of our APs a second time
    hb.beat("2/3", 2, 3, "mon-c", 33, at(30), at(57), 2, False)
    hb.beat("0/3", 0, 3, "mon-c", 34, at(0), at(10), 2, False)  # an old one, gone
    watch.check(at(58))
    assert {k: (h.pid if h else None) for k, h in watch.foreign.items()} == {"2/3": 33, "0/3": None}
    h = MonitorHealth(shards=["0/2", "1/2"], shards_foreign={"2/3": at(30), "0/3": None})
    ev = RuleEvaluator(c, c.alerts).evaluate(AlertInputs(at(60), [], {}, health=h))
    assert [(x.labels, x.since) for x in ev.conditions if x.labels.get("reason") == "shard_count_mismatch"] \
        == [({"reason": "shard_count_mismatch", "shard": "2/3"}, at(30))]
    assert "rule=monitor_unhealthy|reason=shard_count_mismatch|shard=0/3" in ev.checked  # resolves


def test_shard_alerts_say_which_shard_in_both_languages():
    from hotspot_monitor.alerts.messages import alert_title
    from hotspot_monitor.alerts.notification import AlertView

    a = AlertView("fp", "monitor_unhealthy", "critical", "firing", at(0),
                  labels={"reason": "shard_down", "shard": "1/3"}, details={"reason": "shard_down"})
    assert alert_title(a, "en") == "Monitor unhealthy: shard 1/3 down: its APs are unmonitored"
    assert alert_title(a, "id") == "Monitor bermasalah: shard 1/3 mati: AP-nya tidak terpantau"


def _colliding_aps(measurement: str) -> tuple[str, str]:
    """Two AP ids whose ``ap_clients`` series get the same ``:last`` slot from one
    writer's hash (found by search: a birthday collision in the 2^36 slot span)."""
    import hashlib
    import json

    seen: dict[int, str] = {}
    for k in range(3_000_000):
        ap = f"x{k}"
        key = [["ap", ap], ["radio", "all"], ["site", "s"]]
        h = int.from_bytes(hashlib.blake2b(json.dumps([measurement, key]).encode(), digest_size=8)
                           .digest(), "big") % 2**36
        if h in seen:
            return seen[h], ap
        seen[h] = ap
    raise AssertionError("no collision found")


def test_two_shards_writers_keep_their_last_rows_apart(influxd):
    """Two shards' stores, both already running, each write a new series whose
    tags hash to the same ``:last`` slot: each keeps its own row (writer lanes)."""
    from datetime import datetime, timezone

    from hotspot_monitor.config.models import InfluxSettings
    from hotspot_monitor.sample import Sample
    from hotspot_monitor.stores.influxdb import InfluxStore

    x, y = _colliding_aps("ap_clients")
    db = influxd.new_database()
    settings = InfluxSettings(url=influxd.url, database=db)
    now = datetime.now(timezone.utc).replace(microsecond=0)

    def clients(ap: str, n: int) -> Sample:
        return Sample("ap_clients", {"site": "s", "ap": ap, "radio": "all"}, {"clients": n}, now)

    a, b = InfluxStore(settings), InfluxStore(settings)
    a.set_writer_lane(0, 2)
    b.set_writer_lane(1, 2)
    try:
        for store, warm in ((a, "warm-a"), (b, "warm-b")):  # both load their :last state first
            store.write([clients(warm, 1)])
            store.flush()
        a.write([clients(x, 7)])
        a.flush()
        b.write([clients(y, 9)])
        b.flush()
        with InfluxStore(settings) as reader:
            got = {s.tags["ap"]: s.fields["clients"] for s in reader.latest("ap_clients")}
        assert got == {"warm-a": 1, "warm-b": 1, x: 7, y: 9}
    finally:
        a.close()
        b.close()


def test_only_the_leaders_store_moves_the_rollup_frontier(influxd):
    """Two shards' stores on one database: the follower never moves the frontier
    (the fleet-wide rollup queries run once), yet a late point it writes below the
    leader's frontier is rolled up: every read through rollups equals raw points."""
    from datetime import datetime, timedelta, timezone

    from hotspot_monitor.config.models import InfluxSettings
    from hotspot_monitor.sample import Sample
    from hotspot_monitor.stores.influxdb import InfluxStore

    db = influxd.new_database()
    settings = InfluxSettings(url=influxd.url, database=db)
    t0 = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=2)
    t0 -= timedelta(minutes=t0.minute % 5)

    def clients(ap: str, k: int, n: int) -> Sample:
        return Sample("ap_clients", {"site": "s", "ap": ap, "radio": "all"}, {"clients": n},
                      t0 + timedelta(minutes=k))

    def frontier_points() -> int:
        res = influxd.query('SELECT count("until_us") FROM "hotspot_rollups"', db)
        return res["results"][0]["series"][0]["values"][0][1]

    leader, follower = InfluxStore(settings), InfluxStore(settings)
    for i, s in enumerate((leader, follower)):
        s.set_writer_lane(i, 2)
    leader.set_rollup_leader(True)
    follower.set_rollup_leader(False)
    follower._rollups.sync_s = 0  # read the shared frontier at every flush (default: every 5 s)
    try:
        # the follower starts first: it loads the frontier before the leader moves it
        follower.write([clients("f1", k, k % 5) for k in range(0, 120, 2)])
        follower.flush()
        leader.write([clients("l1", k, k % 7) for k in range(120)])
        leader.flush()
        for _ in range(20):  # the leader's flushes move the frontier (bounded work per flush)
            leader.write([clients("l1", 120, 1)])
            leader.flush()
        moved = leader._rollups._state["ap_clients"].frontier
        assert moved >= int((t0 + timedelta(minutes=115)).timestamp() * 1e6)  # ~2 min before the newest
        points = frontier_points()
        for k in range(1, 120, 2):  # the follower's odd minutes arrive late, below the frontier
            follower.write([clients("f1", k, 3)])
        follower.flush()
        assert follower._rollups._state["ap_clients"].frontier == moved  # it read it, never moved it
        follower.write([clients("f1", 121, 3)])
        follower.flush()
        assert frontier_points() == points  # the follower wrote no frontier
        end = t0 + timedelta(minutes=125)
        with InfluxStore(settings) as reader, InfluxStore(settings, rollups=False) as raw:
            for every in (timedelta(minutes=5), timedelta(hours=1)):
                via = reader.aggregate("ap_clients", "clients", start=t0, end=end, every=every, agg="sum",
                                       group_by=["ap"])
                ref = raw.aggregate("ap_clients", "clients", start=t0, end=end, every=every, agg="sum",
                                    group_by=["ap"])
                assert via == ref
        # by hand: f1 = sum over even k < 120 of k % 5, plus 3 for each of the 61 odd minutes 1..121
        total = sum(k % 5 for k in range(0, 120, 2)) + 3 * 61
        with InfluxStore(settings) as reader:
            assert reader.totals("ap_clients", "clients", start=t0, end=end, group_by=["ap"])[("f1",)] == total
    finally:
        leader.close()
        follower.close()
