"""The AP state machine, fed recorded observation sequences with hand-computed
outage starts, ends and durations (no store: pure logic)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest

from hotspot_monitor.config.models import Config
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.engine import StatusEngine, round_seconds, site_state

T0 = datetime(2026, 11, 2, 3, 0, 0, tzinfo=timezone.utc)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def make_cfg(**collector: object) -> Config:
    return Config.model_validate({
        "timezone": "Asia/Jakarta",
        "collector": {"down_after": 3, **collector},
        "sites": [
            {"id": "park", "name": "Park", "lat": -7.5, "lon": 110.8},
            {"id": "square", "name": "Square", "lat": -7.5, "lon": 110.8},
            {"id": "empty", "name": "Nobody home", "lat": -7.5, "lon": 110.8},
        ],
        "aps": [
            {"id": "p1", "site": "park"},
            {"id": "p2", "site": "park"},
            {"id": "p3", "site": "park"},
            {"id": "s1", "site": "square"},
            {"id": "e1", "site": "empty"},
        ],
    })


def st(ap: str, up: int, t: float, source: str = "snmp", reason: Optional[str] = None,
       site: str = "park") -> Sample:
    fields: dict = {"up": up}
    if not up:
        fields["reason"] = reason or "snmp_timeout"
    return Sample("ap_status", {"site": site, "ap": ap, "source": source}, fields, at(t))


def feed(eng: StatusEngine, samples: list[Sample]) -> list[Sample]:
    return eng.observe_many(samples)


def test_n_minus_one_failures_then_success_is_no_outage() -> None:
    eng = StatusEngine(make_cfg())
    ev = feed(eng, [st("p1", 1, 0), st("p1", 0, 60), st("p1", 0, 120), st("p1", 1, 180)])
    assert ev == []
    assert eng.ap("p1").state == "up"
    assert eng.ap("p1").since == at(0)
    assert eng.stats["outages"] == 0


def test_n_failures_start_the_outage_at_the_first_failure() -> None:
    eng = StatusEngine(make_cfg())
    assert feed(eng, [st("p1", 1, 0), st("p1", 0, 60), st("p1", 0, 120)]) == []
    ev = eng.observe(st("p1", 0, 180, reason="snmp_error"))
    assert [(e.fields["state"], e.fields["reason"], e.time) for e in ev] == [
        ("down", "snmp_error", at(60))]
    assert ev[0].measurement == "ap_event"
    assert ev[0].tags == {"site": "park", "ap": "p1"}
    tr = eng.ap("p1")
    assert (tr.state, tr.since) == ("down", at(60))
    # more failures: still the same outage, no new event
    assert feed(eng, [st("p1", 0, 240), st("p1", 0, 300)]) == []
    # recovery 240.5 s after the first failure: down_s rounds halves up -> 241
    ev = eng.observe(st("p1", 1, 300.5))
    assert len(ev) == 1
    assert ev[0].fields == {"state": "up", "reason": "recovered", "down_s": 241}
    assert ev[0].time == at(300.5)
    assert (eng.ap("p1").state, eng.ap("p1").since) == ("up", at(300.5))


def test_round_seconds_halves_up() -> None:
    assert round_seconds(timedelta(seconds=240, microseconds=499_999)) == 240
    assert round_seconds(timedelta(seconds=240, microseconds=500_000)) == 241
    assert round_seconds(timedelta(days=1, seconds=1)) == 86_401


def test_down_after_is_configurable() -> None:
    eng = StatusEngine(make_cfg(down_after=1))
    ev = feed(eng, [st("p1", 1, 0), st("p1", 0, 60)])
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(60))]


def test_lwt_offline_is_immediate() -> None:
    eng = StatusEngine(make_cfg())
    feed(eng, [st("p2", 1, 0, source="mqtt")])
    ev = eng.observe(st("p2", 0, 10, source="mqtt", reason="lwt_offline"))
    assert [(e.fields["state"], e.fields["reason"], e.time) for e in ev] == [
        ("down", "lwt_offline", at(10))]
    ev = eng.observe(st("p2", 1, 70, source="mqtt"))
    assert ev[0].fields["down_s"] == 60


def test_stale_and_controller_down_are_immediate() -> None:
    eng = StatusEngine(make_cfg())
    feed(eng, [st("p1", 1, 0, source="mqtt"), st("p2", 1, 0)])
    ev = eng.mark_stale("p1", at(300))
    assert [(e.tags["ap"], e.fields["reason"], e.time) for e in ev] == [("p1", "stale", at(300))]
    ev = eng.observe(st("p2", 0, 60, reason="controller_reports_down"))
    assert [(e.tags["ap"], e.fields["reason"], e.time) for e in ev] == [
        ("p2", "controller_reports_down", at(60))]
    ev = eng.observe(st("p2", 1, 120))
    assert ev[0].fields["down_s"] == 60


def test_first_sight_down_and_first_sight_up() -> None:
    eng = StatusEngine(make_cfg())
    # never seen before: unknown until decided; up on first sight makes no event
    assert eng.ap("p1").state == "unknown"
    assert eng.observe(st("p1", 1, 0)) == []
    assert eng.ap("p1").state == "up"
    # an AP seen failing from the start is down from its first failure
    assert feed(eng, [st("p2", 0, 0), st("p2", 0, 60)]) == []
    assert eng.ap("p2").state == "unknown"
    ev = eng.observe(st("p2", 0, 120))
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(0))]


def test_out_of_order_observations_are_ignored_and_counted() -> None:
    eng = StatusEngine(make_cfg())
    feed(eng, [st("p1", 1, 0), st("p1", 0, 60), st("p1", 0, 120)])
    # an old failure arriving late would be the third one: it must not count
    assert eng.observe(st("p1", 0, 30)) == []
    assert eng.stats["out_of_order"] == 1
    assert eng.ap("p1").state == "up"
    assert eng.ap("p1").last_seen == at(120)
    # equal times are not out of order: the third SNMP failure puts it down
    # from the first failure of the run
    ev = eng.observe(st("p1", 0, 120, source="snmp"))
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(60))]


def test_order_is_per_source_so_clocks_of_two_sources_may_interleave() -> None:
    eng = StatusEngine(make_cfg())
    feed(eng, [st("p1", 1, 0), st("p1", 0, 60), st("p1", 0, 120)])  # SNMP: 2 failures
    # an MQTT reading stamped before the last SNMP poll is not out of order:
    # the last will at 100 puts the AP down at once, from 100 (SNMP was failing too)
    ev = eng.observe(st("p1", 0, 100, source="mqtt", reason="lwt_offline"))
    assert [(e.fields["state"], e.fields["reason"], e.time) for e in ev] == [
        ("down", "lwt_offline", at(100))]
    assert eng.stats["out_of_order"] == 0
    assert eng.ap("p1").last_seen == at(120)  # the newest of any source
    # but an MQTT reading older than MQTT's own last one is
    assert eng.observe(st("p1", 1, 90, source="mqtt")) == []
    assert eng.stats["out_of_order"] == 1
    assert eng.ap("p1").state == "down"
    # telemetry again: up at 130, the outage lasted 30 s
    ev = eng.observe(st("p1", 1, 130, source="mqtt"))
    assert [(e.fields["state"], e.fields.get("down_s"), e.time) for e in ev] == [("up", 30, at(130))]


def test_unknown_ap_and_bad_input_never_crash() -> None:
    eng = StatusEngine(make_cfg())
    assert eng.observe(st("ghost", 0, 0, reason="snmp_timeout")) == []
    assert eng.stats["unknown_ap"] == 1
    bad = [
        Sample("ap_status", {"site": "park", "ap": "p1"}, {"response_ms": 3.0}, at(0)),
        Sample("ap_status", {"site": "park", "ap": "p1"}, {"up": 5}, at(0)),
        Sample("ap_status", {"site": "park", "ap": "p1"}, {"up": "0"}, at(0)),
        Sample("ap_status", {"site": "park"}, {"up": 1}, at(0)),
    ]
    assert eng.observe_many(bad) == []
    assert eng.stats["invalid"] == 4
    assert eng.observe("not a sample") == []  # type: ignore[arg-type]
    assert eng.stats["invalid"] == 5
    # other measurements are simply not status input
    assert eng.observe(Sample("ap_clients", {"site": "park", "ap": "p1", "radio": "all"},
                              {"clients": 3}, at(0))) == []
    assert eng.ap("p1").state == "unknown"
    snap = eng.snapshot()
    assert "ghost" not in [r.ap for r in snap.aps]
    assert [r.ap for r in snap.aps] == ["e1", "p1", "p2", "p3", "s1"]


def test_a_missing_reason_is_recorded_as_unknown() -> None:
    eng = StatusEngine(make_cfg(down_after=1))
    eng.observe(st("p1", 1, 0))
    ev = eng.observe(Sample("ap_status", {"site": "park", "ap": "p1", "source": "snmp"},
                            {"up": 0}, at(60)))
    assert ev[0].fields["reason"] == "unknown"


def test_multi_source_any_good_sign_keeps_the_ap_up() -> None:
    eng = StatusEngine(make_cfg())
    feed(eng, [st("p1", 1, 0), st("p1", 1, 0, source="mqtt")])
    # SNMP fails 3 times while MQTT telemetry keeps arriving: the AP serves, it is up
    ev = feed(eng, [st("p1", 0, 60), st("p1", 1, 90, source="mqtt"), st("p1", 0, 120),
                    st("p1", 0, 180)])
    assert ev == []
    assert eng.ap("p1").state == "up"
    # then the MQTT agent's last will: every voting source now says down.
    # The AP was seen up (MQTT) at 90, so the outage starts at the LWT, 200.
    ev = eng.observe(st("p1", 0, 200, source="mqtt", reason="lwt_offline"))
    assert [(e.fields["state"], e.fields["reason"], e.time) for e in ev] == [
        ("down", "lwt_offline", at(200))]
    # first good sign from any source ends it
    ev = eng.observe(st("p1", 1, 240))
    assert ev[0].fields == {"state": "up", "reason": "recovered", "down_s": 40}


def test_lwt_offline_while_snmp_answers_is_not_an_outage() -> None:
    eng = StatusEngine(make_cfg())
    feed(eng, [st("p1", 1, 0), st("p1", 1, 0, source="mqtt")])
    ev = feed(eng, [st("p1", 0, 30, source="mqtt", reason="lwt_offline"), st("p1", 1, 60),
                    st("p1", 1, 120)])
    assert ev == []
    assert eng.ap("p1").state == "up"
    # but once SNMP fails too, it is down from the later of the two starts
    ev = feed(eng, [st("p1", 0, 180), st("p1", 0, 240), st("p1", 0, 300)])
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(180))]


def test_a_silent_source_stops_voting_after_max_gap() -> None:
    # MQTT said "up" at -30 and then went silent (no LWT, no stale marking).
    # SNMP fails every 60 s from -120 on (down for SNMP from 0, its 3rd failure). MQTT stops voting once it has been
    # silent for more than max_gap_s = 900 s, i.e. at the poll at +900.
    # The outage starts at the first failure after the last good sign: 0.
    def run(last_k: int) -> tuple[StatusEngine, list[Sample]]:
        eng = StatusEngine(make_cfg(max_gap_s=900))
        events = feed(eng, [st("p1", 1, -300), st("p1", 1, -250, source="mqtt")])
        for k in range(-2, last_k + 1):
            events += eng.observe(st("p1", 0, 60 * k))
            if k == -1:
                events += eng.observe(st("p1", 1, -30, source="mqtt"))
        return eng, events

    eng, events = run(14)  # last poll at +840: MQTT silent 870 s <= 900, still votes up
    assert events == [] and eng.ap("p1").state == "up"
    eng, events = run(15)  # poll at +900: MQTT silent 930 s
    assert [(e.fields["state"], e.time) for e in events] == [("down", at(0))]
    assert eng.ap("p1").since == at(0)


def test_a_monitoring_gap_breaks_a_failure_run() -> None:
    eng = StatusEngine(make_cfg(max_gap_s=900))
    feed(eng, [st("p1", 1, 0), st("p1", 0, 60), st("p1", 0, 120)])
    # 2 failures, then nothing for an hour, then one failure: a new run (1 of 3)
    assert eng.observe(st("p1", 0, 3720)) == []
    assert eng.ap("p1").state == "up"
    ev = feed(eng, [st("p1", 0, 3780), st("p1", 0, 3840)])
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(3720))]


def test_flapping_is_set_above_the_threshold_and_cleared_at_half() -> None:
    # flap_transitions=4 in 3600 s: flagged at the 5th transition, cleared when
    # the window holds 4 // 2 = 2 transitions or fewer.
    eng = StatusEngine(make_cfg(flap_transitions=4, flap_window_s=3600))
    eng.observe(st("p1", 1, 0, source="mqtt"))  # first sight: not a transition
    seq = [(60, 0), (120, 1), (180, 0), (240, 1)]
    for t, up in seq:
        eng.observe(st("p1", up, t, source="mqtt", reason="lwt_offline"))
    assert eng.ap("p1").flapping is False  # 4 transitions: not more than 4
    eng.observe(st("p1", 0, 300, source="mqtt", reason="lwt_offline"))
    assert eng.ap("p1").flapping is True
    assert eng.snapshot().aps[1].flapping is True  # p1 sorts after e1
    # window (now - 3600, now]: at 3660 it drops the transition at 60 -> 4 left
    eng.tick(at(3660))
    assert eng.ap("p1").flapping is True  # hysteresis: 4 > 2
    eng.tick(at(3779))  # drops 120 -> 3 left (180, 240, 300)
    assert eng.ap("p1").flapping is True
    eng.tick(at(3780))  # drops 180 -> 2 left
    assert eng.ap("p1").flapping is False
    assert eng.ap("p1").state == "down"


def test_site_states() -> None:
    assert site_state([]) == "unknown"
    assert site_state(["unknown", "unknown"]) == "unknown"
    assert site_state(["up", "up", "unknown"]) == "up"
    assert site_state(["up", "down"]) == "degraded"
    assert site_state(["down", "down", "unknown"]) == "down"
    eng = StatusEngine(make_cfg(down_after=1))
    feed(eng, [st("p1", 1, 0), st("p2", 1, 0), st("p3", 1, 0), st("s1", 1, 0, site="square")])

    def sites() -> dict[str, tuple]:
        return {s.site: (s.state, s.aps, s.up, s.down, s.unknown) for s in eng.snapshot().sites}

    assert sites() == {"park": ("up", 3, 3, 0, 0), "square": ("up", 1, 1, 0, 0),
                       "empty": ("unknown", 1, 0, 0, 1)}
    eng.observe(st("p2", 0, 60))
    assert sites()["park"] == ("degraded", 3, 2, 1, 0)
    feed(eng, [st("p1", 0, 60), st("p3", 0, 60)])
    assert sites()["park"] == ("down", 3, 0, 3, 0)
    eng.observe(st("p3", 1, 120))
    assert sites()["park"] == ("degraded", 3, 1, 2, 0)
    row = [r for r in eng.snapshot().aps if r.ap == "p1"][0]
    assert (row.site, row.state, row.since, row.last_seen, row.reason) == (
        "park", "down", at(60), at(60), "snmp_timeout")


def test_tags_site_is_taken_from_the_inventory() -> None:
    eng = StatusEngine(make_cfg(down_after=1))
    eng.observe(st("s1", 1, 0, site="wrong"))
    ev = eng.observe(st("s1", 0, 60, site="wrong"))
    assert ev[0].tags == {"site": "square", "ap": "s1"}


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_exactly_n_failures_needed(n: int) -> None:
    eng = StatusEngine(make_cfg(down_after=n))
    eng.observe(st("p1", 1, 0))
    events = []
    for k in range(1, n + 1):
        assert eng.ap("p1").state == "up"
        events += eng.observe(st("p1", 0, 60 * k))
    assert [(e.fields["state"], e.time) for e in events] == [("down", at(60))]


def test_tick_takes_stale_aps_from_the_mqtt_collector() -> None:
    eng = StatusEngine(make_cfg())
    feed(eng, [st("p1", 1, 0, source="mqtt"), st("p2", 1, 0, source="mqtt")])
    ev = eng.tick(at(400), stale=[("p1", at(300)), ("ghost", at(300))])
    assert [(e.tags["ap"], e.fields["state"], e.fields["reason"], e.time) for e in ev] == [
        ("p1", "down", "stale", at(300))]
    assert eng.stats["unknown_ap"] == 1
    assert eng.ap("p2").state == "up"


def test_mark_stale_is_idempotent_and_never_out_of_order() -> None:
    eng = StatusEngine(make_cfg())
    # MQTT last heard at 30; SNMP polls go on and fail from 60
    feed(eng, [st("p1", 1, 0), st("p1", 1, 30, source="mqtt"), st("p1", 0, 60),
               st("p1", 0, 120)])
    # the collector declares MQTT silent since 30 (+1 µs) at its tick. Older than
    # the last SNMP poll (120): applied at 120, but MQTT counts as bad since
    # 30.000001, so every source has been bad since the first SNMP failure, 60
    ev = eng.mark_stale("p1", at(30.000001))
    assert [(e.fields["state"], e.fields["reason"], e.time) for e in ev] == [
        ("down", "stale", at(60))]
    assert eng.stats["out_of_order"] == 0
    # repeated every tick while the AP stays silent: nothing new, nothing counted
    for _ in range(3):
        assert eng.mark_stale("p1", at(30.000001)) == []
    assert eng.stats["out_of_order"] == 0 and eng.stats["outages"] == 1
    # an MQTT-only AP: stale from just after its last message
    feed(eng, [st("p2", 1, 0, source="mqtt")])
    ev = eng.mark_stale("p2", at(0.000001))
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(0.000001))]


def test_recovery_stamped_before_the_outage_start_never_gives_a_negative_outage() -> None:
    eng = StatusEngine(make_cfg())
    feed(eng, [st("p1", 1, 0), st("p1", 0, 60), st("p1", 0, 120)])
    ev = eng.observe(st("p1", 0, 180))  # third failure: down from 60
    assert [(e.fields["state"], e.time) for e in ev] == [("down", at(60))]
    # MQTT telemetry with a device clock behind: "up" stamped at 30 < 60
    ev = eng.observe(st("p1", 1, 30, source="mqtt"))
    assert [(e.fields["state"], e.fields["down_s"], e.time) for e in ev] == [("up", 0, at(60))]
