"""Alert lifecycle scenarios in simulated time: a real status engine fed with
observations, a real state store (SQLite), the rules, the manager and the
outbox; what would be sent is read back from the outbox."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest

from hotspot_monitor.alerts.manager import AlertManager
from hotspot_monitor.alerts.outbox import Outbox
from hotspot_monitor.alerts.rules import AlertInputs, RuleEvaluator
from hotspot_monitor.alerts.silences import SilenceStore, Weekly
from hotspot_monitor.config.models import Config
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.availability import availability
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore

UTC = timezone.utc
T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta, a Monday


def config(**alerts) -> Config:
    sites = [{"id": "park", "name": "Taman Balekambang", "district": "Banjarsari", "lat": -7.55, "lon": 110.81},
             {"id": "square", "name": "Alun-alun", "district": "Pasar Kliwon", "lat": -7.58, "lon": 110.83},
             {"id": "night", "name": "Pasar Malam", "district": "Jebres", "lat": -7.56, "lon": 110.85,
              "service_hours": "17:00-23:00"}]
    aps = [{"id": f"park-{i}", "site": "park", "host": "127.0.0.1", "snmp": {"community": "c"}} for i in (1, 2, 3)]
    aps += [{"id": f"square-{i}", "site": "square", "host": "127.0.0.1", "snmp": {"community": "c"}} for i in (1, 2)]
    aps += [{"id": "night-1", "site": "night", "host": "127.0.0.1", "snmp": {"community": "c"}}]
    aps += [{"id": f"wlc-ap{i}", "site": "square", "controller": "wlc"} for i in (1, 2)]
    base = {"channels": [{"id": "hook", "type": "webhook", "url": "http://127.0.0.1:9/x"},
                         {"id": "pager", "type": "webhook", "url": "http://127.0.0.1:9/p"}],
            "routes": [{"channels": ["hook"]}]}
    base.update(alerts)
    return Config.model_validate({
        "timezone": "Asia/Jakarta", "collector": {"down_after": 1, "flap_transitions": 6},
        "sites": sites, "aps": aps,
        "controllers": [{"id": "wlc", "host": "127.0.0.1", "site": "square", "snmp": {"community": "c"}}],
        "alerts": base})


class World:
    """The status engine and the alert manager over one state store, in simulated time."""

    def __init__(self, tmp_path, cfg: Config, db: str = "state.sqlite"):
        self.cfg = cfg
        self.path = tmp_path / db
        self.open()

    def open(self) -> None:
        self.store = StateStore(f"sqlite:///{self.path}")
        self.engine = StatusEngine(self.cfg, self.store)
        self.rules = RuleEvaluator(self.cfg, self.cfg.alerts)
        self.manager = AlertManager(self.cfg, self.cfg.alerts, self.store.engine)
        self.outbox = Outbox(self.store.engine)
        self.silences = self.manager.silences

    def restart(self, t: datetime) -> None:
        self.engine.stop(t)
        self.store.close()
        self.open()

    def observe(self, t: datetime, up: dict[str, bool]) -> None:
        for ap, ok in up.items():
            site = next(a.site for a in self.cfg.aps if a.id == ap) if ap != "wlc" else "square"
            fields = {"up": 1} if ok else {"up": 0, "reason": "snmp_timeout"}
            self.engine.observe(Sample("ap_status", {"site": site, "ap": ap, "source": "snmp"}, fields, t))

    def evaluate(self, t: datetime):
        inp = AlertInputs(t, self.engine.aps(), {c.id: self.engine.controller(c.id)
                                                  for c in self.cfg.controllers})
        return self.manager.process(t, self.rules.evaluate(inp))

    def run(self, start: datetime, minutes: float, up, every_s: float = 15.0, poll_s: float = 60.0):
        """Poll every ``poll_s`` with ``up(t) -> {ap: bool}`` and evaluate every ``every_s``."""
        t = start
        end = start + timedelta(minutes=minutes)
        next_poll = start
        while t < end:
            if t >= next_poll:
                self.observe(t, up(t))
                next_poll += timedelta(seconds=poll_s)
            self.evaluate(t)
            t += timedelta(seconds=every_s)
        return t

    def sent(self, channel: Optional[str] = None) -> list:
        return sorted(self.outbox.messages(channel=channel), key=lambda m: (m["created_at"], m["id"]))


ALL_UP = {a: True for a in ("park-1", "park-2", "park-3", "square-1", "square-2", "night-1",
                            "wlc-ap1", "wlc-ap2", "wlc")}


def fleet(**down: bool):
    return lambda t: {**ALL_UP, **down}


def test_ap_down_fires_after_for_groups_by_site_and_resolves_once(tmp_path):
    w = World(tmp_path, config())
    t = w.run(T0, 5, fleet())
    assert w.sent() == []
    # park-1 fails from t; ap_down has for=5m, the route group_wait 30 s
    t = w.run(t, 5.5, fleet(**{"park-1": False}))
    assert w.sent() == []  # 5 min 30 s of down, evaluated every 15 s: not yet past for + group_wait
    t = w.run(t, 1, fleet(**{"park-1": False}))
    [m] = w.sent()
    n = m["notification"]
    assert (n.status, n.channel, [a.rule for a in n.alerts]) == ("firing", "hook", ["ap_down"])
    assert n.alerts[0].labels["ap"] == "park-1" and n.alerts[0].labels["site_name"] == "Taman Balekambang"
    assert n.group_key == "route0|site=park"
    # still down for an hour: nothing more (repeat_interval 4 h)
    t = w.run(t, 60, fleet(**{"park-1": False}))
    assert len(w.sent()) == 1
    t = w.run(t, 10, fleet())
    msgs = w.sent()
    assert len(msgs) == 2
    assert msgs[1]["notification"].status == "resolved"
    assert msgs[1]["notification"].alerts[0].ends_at is not None


def test_a_flap_storm_gives_one_flapping_alert_not_dozens(tmp_path):
    cfg = config(rules={"ap_down": {"for": "5m"}})
    w = World(tmp_path, cfg)
    t = w.run(T0, 3, fleet())
    # park-2 goes up and down every other minute for an hour: 30 outages of a minute
    t = w.run(t, 60, lambda t: {**ALL_UP, "park-2": (t.minute % 2 == 0)})
    msgs = w.sent()
    rules = [a.rule for m in msgs for a in m["notification"].alerts if a.status == "firing"]
    assert rules.count("flapping") == 1
    assert "ap_down" not in rules  # no outage lasted 5 minutes
    assert len(msgs) == 1


def test_a_site_power_cut_gives_one_site_alert_and_no_ap_alerts(tmp_path):
    w = World(tmp_path, config())
    t = w.run(T0, 3, fleet())
    cut = {"park-1": False, "park-2": False, "park-3": False}
    t = w.run(t, 15, fleet(**cut))
    msgs = w.sent()
    assert len(msgs) == 1
    [alert] = msgs[0]["notification"].alerts
    assert alert.rule == "site_down" and alert.severity == "critical"
    assert alert.details["cause"] == "power_cut" and alert.details["aps_down"] == 3
    # the AP alerts exist but are inhibited
    inhibited = [a for a in w.manager.alerts() if a.rule == "ap_down"]
    assert len(inhibited) == 3 and {a.suppressed for a in inhibited} == {"inhibited:site_down"}
    # power back: one resolution, still no AP message
    t = w.run(t, 5, fleet())
    msgs = w.sent()
    assert len(msgs) == 2 and [a.rule for a in msgs[1]["notification"].alerts] == ["site_down"]
    assert msgs[1]["notification"].status == "resolved"


def test_a_maintenance_window_gives_nothing_and_availability_excludes_it(tmp_path):
    w = World(tmp_path, config())
    w.engine.start(T0)
    t = w.run(T0, 10, fleet())
    start, end = t, t + timedelta(minutes=30)
    w.silences.add(kind="maintenance", matchers={"site": "square"}, starts_at=start, ends_at=end,
                   author="budi", comment="ganti switch")
    t = w.run(t, 30, fleet(**{"square-1": False, "square-2": False}))
    assert w.sent() == []
    sup = {a.suppressed for a in w.manager.alerts() if a.labels.get("site") == "square"}
    assert sup == {f"maintenance:1"}
    t = w.run(t, 10, fleet())
    assert w.sent() == []  # never notified firing, so no resolution either
    w.engine.tick(t)
    # availability: the 30 min of maintenance are planned, not down
    windows = w.silences.maintenance_windows(T0, t)
    a = availability(w.store, w.cfg, start=T0, end=t, site="square", maintenance=windows)
    # four APs in the site (two of them behind the controller, never seen): each has the
    # 30 min as planned maintenance, neither down nor unmonitored
    assert a.maintenance_s == 4 * 1800.0
    assert a.downtime_s == 0.0


def test_escalation_after_n_minutes_unacknowledged_and_ack_stops_it(tmp_path):
    routes = [{"channels": ["hook"], "escalate_after": "15m", "escalate_to": ["pager"]}]
    w = World(tmp_path, config(routes=routes))
    t = w.run(T0, 2, fleet())
    t = w.run(t, 19, fleet(**{"square-1": False}))
    assert [m["channel"] for m in w.sent()] == ["hook"]  # fired at ~5.5 min, escalates at ~20.5
    t = w.run(t, 2, fleet(**{"square-1": False}))
    msgs = w.sent()
    assert [m["channel"] for m in msgs] == ["hook", "pager"]
    assert msgs[1]["notification"].kind == "escalation"
    # another AP: acknowledged before the escalation time, never escalated
    t = w.run(t, 6.5, fleet(**{"square-1": False, "park-3": False}))
    firing = [a for a in w.manager.alerts() if a.labels.get("ap") == "park-3" and a.state == "firing"]
    assert len(firing) == 1
    assert w.manager.ack(firing[0].id, by="sari", comment="teknisi berangkat", now=t)
    t = w.run(t, 30, fleet(**{"square-1": False, "park-3": False}))
    assert [m["channel"] for m in w.sent()].count("pager") == 1


def test_restart_while_firing_sends_no_duplicate_and_the_later_resolution_once(tmp_path):
    w = World(tmp_path, config())
    t = w.run(T0, 2, fleet())
    t = w.run(t, 8, fleet(**{"park-1": False}))
    assert len(w.sent()) == 1
    w.restart(t)
    # down 2 hours more, across the restart: no new message
    t = w.run(t + timedelta(minutes=3), 120, fleet(**{"park-1": False}))
    assert len(w.sent()) == 1
    # it recovered while the service was down; the first poll after the restart shows it
    w.restart(t)
    t = w.run(t + timedelta(minutes=20), 5, fleet())
    msgs = w.sent()
    assert len(msgs) == 2 and msgs[1]["notification"].status == "resolved"
    t = w.run(t, 30, fleet())
    assert len(w.sent()) == 2


def test_no_verdict_is_no_recovery(tmp_path):
    """Right after a restart the engine has the saved state; rules that cannot
    judge an alert's subject (no metric yet, a blind AP) leave it firing."""
    w = World(tmp_path, config())
    t = w.run(T0, 2, fleet())
    # the controller's APs go down, then the controller itself cannot be polled
    t = w.run(t, 8, fleet(**{"wlc-ap1": False}))
    assert len(w.sent()) == 1
    t = w.run(t, 10, lambda t: {k: v for k, v in fleet(**{"wlc": False})(t).items()
                                if not k.startswith("wlc-ap")})
    [ap_alert] = [a for a in w.manager.alerts() if a.labels.get("ap") == "wlc-ap1"]
    assert ap_alert.state == "firing"  # blind is no recovery
    kinds = [a.rule for m in w.sent() for a in m["notification"].alerts]
    assert "controller_down" in kinds
    assert ap_alert.suppressed == "inhibited:controller_down"


def test_outside_service_hours_ap_down_does_not_fire(tmp_path):
    w = World(tmp_path, config())
    # 10:00 local: the night market (17:00-23:00) is closed; its AP is down all morning
    t = w.run(T0, 60, fleet(**{"night-1": False}))
    assert w.sent() == []
    [a] = [a for a in w.manager.alerts() if a.labels.get("ap") == "night-1" and a.rule == "ap_down"]
    assert a.state == "pending"
    # at 17:00 the market opens and the AP is still down: the alert fires at once
    t = w.run(datetime(2026, 11, 2, 10, 0, tzinfo=UTC), 2, fleet(**{"night-1": False}))
    msgs = w.sent()
    # its only AP: the site is down, which speaks for the AP (inhibited)
    assert len(msgs) == 1 and [a.rule for a in msgs[0]["notification"].alerts] == ["site_down"]
    [a] = [a for a in w.manager.alerts() if a.labels.get("ap") == "night-1" and a.rule == "ap_down"]
    assert (a.state, a.suppressed) == ("firing", "inhibited:site_down")


def test_group_interval_batches_changes_and_repeat_interval_reminds(tmp_path):
    routes = [{"channels": ["hook"], "group_by": ["district"], "group_wait": "30s",
               "group_interval": "5m", "repeat_interval": "1h"}]
    w = World(tmp_path, config(routes=routes))
    t = w.run(T0, 2, fleet())
    t = w.run(t, 6, fleet(**{"park-1": False}))
    assert len(w.sent()) == 1
    # a second AP of the same district fails 1 min later: batched after group_interval
    t = w.run(t, 1, fleet(**{"park-1": False, "park-2": False}))
    t = w.run(t, 6, fleet(**{"park-1": False, "park-2": False}))
    msgs = w.sent()
    assert len(msgs) == 2
    assert sorted(a.labels["ap"] for a in msgs[1]["notification"].alerts) == ["park-1", "park-2"]
    assert (msgs[1]["created_at"] - msgs[0]["created_at"]) >= timedelta(minutes=5)
    t = w.run(t, 60, fleet(**{"park-1": False, "park-2": False}))
    assert len(w.sent()) == 3  # the reminder after repeat_interval
    assert w.sent()[2]["notification"].group_key == "route0|district=Banjarsari"


def test_silence_mutes_matching_alerts_only_and_routes_pick_channels(tmp_path):
    routes = [{"match": {"severity": "critical"}, "channels": ["pager"]},
              {"channels": ["hook"]}]
    w = World(tmp_path, config(routes=routes))
    w.silences.add(kind="silence", matchers={"ap": "square-1"}, starts_at=T0,
                   ends_at=T0 + timedelta(hours=3), author="budi", comment="known")
    t = w.run(T0, 2, fleet())
    t = w.run(t, 10, fleet(**{"square-1": False, "park-1": False}))
    msgs = w.sent()
    assert [(m["channel"], [a.labels.get("ap") for a in m["notification"].alerts]) for m in msgs] == \
        [("hook", ["park-1"])]
    # a whole site down is critical: the pager route, not hook
    t = w.run(t, 10, fleet(**{"square-1": False, "park-1": False, "park-2": False, "park-3": False}))
    pager = w.sent("pager")
    assert len(pager) == 1 and pager[0]["notification"].alerts[0].rule == "site_down"


def test_weekly_maintenance_window_recurs_in_local_time():
    from zoneinfo import ZoneInfo
    wk = Weekly.from_dict({"days": ["mon"], "from": "22:00", "to": "02:00"})
    jkt = ZoneInfo("Asia/Jakarta")
    monday_23 = datetime(2026, 11, 2, 23, 0, tzinfo=jkt)
    assert wk.active(monday_23, jkt)
    assert wk.active(datetime(2026, 11, 3, 1, 59, tzinfo=jkt), jkt)  # past midnight
    assert not wk.active(datetime(2026, 11, 3, 2, 0, tzinfo=jkt), jkt)
    assert not wk.active(datetime(2026, 11, 3, 23, 0, tzinfo=jkt), jkt)  # Tuesday
    ivs = wk.intervals(datetime(2026, 11, 1, tzinfo=jkt), datetime(2026, 11, 16, tzinfo=jkt), jkt)
    assert [(a.astimezone(jkt).isoformat(), b.astimezone(jkt).isoformat()) for a, b in ivs] == [
        ("2026-11-02T22:00:00+07:00", "2026-11-03T02:00:00+07:00"),
        ("2026-11-09T22:00:00+07:00", "2026-11-10T02:00:00+07:00")]


def test_config_errors_name_unknown_channels_rules_and_sites(tmp_path):
    import subprocess
    import sys
    p = tmp_path / "c.yaml"
    p.write_text(
        "sites: [{id: s, name: S, lat: -7.5, lon: 110.8}]\n"
        "alerts:\n"
        "  channels:\n"
        "    - {id: m, type: email, smtp_host: x, from: a@b, to: [c@d]}\n"
        "  routes:\n"
        "    - {channels: [m, nope]}\n"
        "  rules:\n"
        "    ap_dwn: {for: 5m}\n"
        "    ap_down: {for: soon, overrides: [{site: nowhere, for: 10m}]}\n")
    r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "check-config", str(p)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    out = r.stdout + r.stderr
    assert f"{p}:6: alerts.routes[0].channels[1]: unknown channel 'nope'" in out
    assert f"{p}:8: alerts.rules.ap_dwn: unknown rule" in out
    assert f"{p}:9: alerts.rules.ap_down.for: " in out
    assert f"{p}:9: alerts.rules.ap_down.overrides[0].site: unknown site 'nowhere'" in out
