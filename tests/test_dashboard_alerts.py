"""The dashboard's alert pages and API over real stores (Flask test client, CSRF on).

The seeded fleet (tests/dashboard_seed.py) is seeded 20 minutes before the app's
clock (``T``) and then driven through a real status engine, the rules and the
alert manager, one poll and one evaluation a minute, as ``run`` would:

* ``bk-2`` has been down since T - 30 min (the seed): ``ap_down`` fires at T;
* ``pg-1`` and ``pg-2`` (all of Pasar Gedhé) fail from T + 1 min: down after three
  failed polls, ``site_down`` (a power cut: together within 120 s) and both
  ``ap_down`` fire at T + 6 min (5 min after the outage start); the AP alerts are
  muted by the site alert (``inhibited:site_down``);
* ``sw-1`` fails from T + 1 to T + 9 min (fires at T + 6, resolved at T + 9: the
  history) and again from T + 17 min: pending at T + 20 min (the app's clock).

Webhook and Telegram channels point at local recording HTTP servers; the
Telegram one answers 400 (a wrong chat id). Every expectation is worked out by
hand from that story.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from dashboard import create_app
from dashboard_seed import fixed_now, seed
from hotspot_monitor.alerts.manager import AlertManager
from hotspot_monitor.alerts.outbox import Outbox
from hotspot_monitor.alerts.rules import AlertInputs, RuleEvaluator
from hotspot_monitor.config.models import Config
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from services.receivers import HttpRecorder, Reply

PW = "correct-horse-battery"
NOW = fixed_now()  # 12:00 in Surakarta (05:00 UTC)
T = NOW - timedelta(minutes=20)
HOOK_SECRET = "hmac-Secret-4417"
TG_TOKEN = "123456:tg-Token-Secret-9921"


def alerts_config(hook_url: str, tg_url: str) -> str:
    return f"""
alerts:
  channels:
    - {{id: noc-hook, type: webhook, url: "{hook_url}/hooks/wifi", secret: "${{HOOK_SECRET}}"}}
    - {{id: noc-tg, type: telegram, bot_token: "${{TG_TOKEN}}", chat_id: "-100123", base_url: "{tg_url}"}}
  routes:
    - {{channels: [noc-hook]}}
"""


def up_at(ap: str, minute: int) -> bool:
    """The story above: which AP answers its poll ``minute`` minutes after T."""
    if ap == "bk-2":
        return False
    if ap in ("pg-1", "pg-2"):
        return minute < 1
    if ap == "sw-1":
        return not (1 <= minute < 9 or minute >= 17)
    return True


class Driver:
    """A status engine and the alert manager over the seeded state store, as ``run`` uses them."""

    def __init__(self, cfg: Config, base: Path, start: datetime):
        self.cfg = cfg
        self.states = StateStore.from_config(cfg, base)
        self.engine = StatusEngine(cfg, self.states)
        self.engine.start(start)
        self.rules = RuleEvaluator(cfg, cfg.alerts)
        self.manager = AlertManager(cfg, cfg.alerts, self.states.engine)
        self.outbox = Outbox(self.states.engine)
        self.site_of = {a.id: a.site for a in cfg.aps}

    def minute(self, start: datetime, m: int) -> None:
        """Poll every AP (but the never-seen nv-1) at start + m minutes, then evaluate."""
        t = start + timedelta(minutes=m)
        if m:
            for ap, site in self.site_of.items():
                if ap == "nv-1":
                    continue
                fields = {"up": 1} if up_at(ap, m) else {"up": 0, "reason": "snmp_timeout"}
                self.engine.observe(Sample("ap_status", {"site": site, "ap": ap, "source": "snmp"}, fields, t))
        self.manager.process(t, self.rules.evaluate(AlertInputs(t, self.engine.aps(), {})))

    def run(self, start: datetime, first: int, last: int) -> None:
        for m in range(first, last + 1):
            self.minute(start, m)

    def close(self) -> None:
        self.engine.save()
        self.states.close()


@dataclass
class World:
    app: object
    driver: Driver
    hook: HttpRecorder
    tg: HttpRecorder
    base: Path


def add_users(app) -> None:
    acc = app.extensions["hotspot"].accounts
    for name, role, partner in [("admin", "admin", None), ("op", "operator", None), ("view", "viewer", None),
                                ("telco-user", "partner", "telco")]:
        acc.add_user(name, PW, role, partner=partner)


@pytest.fixture()
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", HOOK_SECRET)
    monkeypatch.setenv("TG_TOKEN", TG_TOKEN)
    hook = HttpRecorder().start()
    tg = HttpRecorder([Reply.json(400, {"ok": False, "error_code": 400,
                                        "description": "Bad Request: chat not found"})]).start()
    s = seed(tmp_path, T, alerts_config(hook.url, tg.url))
    driver = Driver(s.cfg, tmp_path, T)
    driver.run(T, 0, 20)
    app = create_app(s.cfg, base_dir=tmp_path, testing=True, clock=lambda: NOW)
    add_users(app)
    yield World(app, driver, hook, tg, tmp_path)
    app.extensions["hotspot"].close()
    driver.close()
    hook.stop()
    tg.stop()


def csrf(client, path="/login"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def login(app, user):
    c = app.test_client()
    r = c.post("/login", data={"csrf_token": csrf(c), "username": user, "password": PW, "next": "/"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return c


def stored_alerts(w: World) -> list[dict]:
    """The state store's alert rows, read with plain SQL (not through the code under test)."""
    with w.driver.states.engine.connect() as c:
        rows = c.execute(text("SELECT id, rule, state, labels, suppressed, acked_by, ack_comment FROM alerts"))
        return [{**dict(r._mapping), "labels": json.loads(r.labels)} for r in rows]


def ids(rows, **match) -> set[int]:
    return {r["id"] for r in rows if all((r["labels"].get(k) if k in ("ap", "site") else r[k]) == v
                                         for k, v in match.items())}


def table_ids(html: str, table: str) -> set[int]:
    body = re.search(rf'<table class="data" id="{table}">(.*?)</table>', html, re.S).group(1)
    return {int(x) for x in re.findall(r'data-alert="(\d+)"', body)}


# -- lists ---------------------------------------------------------------------------------
def test_firing_pending_and_history_match_the_state_store(world):
    rows = stored_alerts(world)
    firing = {r["id"] for r in rows if r["state"] == "firing"}
    pending = {r["id"] for r in rows if r["state"] == "pending"}
    resolved = {r["id"] for r in rows if r["state"] == "resolved"}
    # by hand: bk-2, pg-1, pg-2 ap_down and Pasar Gedhé's site_down fire; sw-1 is pending
    # again after its first episode (the history)
    assert firing == ids(rows, ap="bk-2") | ids(rows, ap="pg-1") | ids(rows, ap="pg-2") | ids(rows, rule="site_down")
    assert len(firing) == 4 and len(pending) == 1 and len(resolved) == 1
    assert pending | resolved == ids(rows, ap="sw-1")

    c = login(world.app, "op")
    d = c.get("/api/v1/alerts?state=firing").get_json()
    assert {a["id"] for a in d["alerts"]} == firing
    assert d["counts"] == {"firing": 4, "acknowledged": 0, "pending": 1, "muted": 2}
    by_ap = {a["ap"] or a["site"]: a for a in d["alerts"]}
    # pg-1/pg-2 muted by the site alert, which is itself sent
    assert by_ap["pg-1"]["suppressed"] == {"reason": "inhibited", "ref": "site_down", "comment": None}
    assert by_ap["pasar-gede"]["suppressed"] is None and by_ap["pasar-gede"]["rule"] == "site_down"
    assert by_ap["pasar-gede"]["details"]["cause"] == "power_cut"
    # bk-2 down since T - 30 min = 04:10 UTC, fired at the first evaluation (T = 04:40)
    assert (by_ap["bk-2"]["starts_at"], by_ap["bk-2"]["fired_at"]) == ("2026-11-15T04:10:00Z", "2026-11-15T04:40:00Z")
    assert by_ap["bk-2"]["duration_s"] == 50 * 60.0
    assert by_ap["bk-2"]["title"] == "AP mati"  # web.locale id: the messages' words
    assert {a["id"] for a in c.get("/api/v1/alerts?state=pending").get_json()["alerts"]} == pending
    assert {a["id"] for a in c.get("/api/v1/alerts").get_json()["alerts"]} == firing | pending  # active
    hist = c.get("/api/v1/alerts?state=resolved").get_json()["alerts"]
    assert [(a["id"], a["starts_at"], a["ends_at"]) for a in hist] == [
        (min(resolved), "2026-11-15T04:41:00Z", "2026-11-15T04:49:00Z")]
    # 11 minutes before the clock: inside one hour of history, not inside 0.1 h
    assert c.get("/api/v1/alerts?state=resolved&hours=0.1").get_json()["alerts"] == []
    # filters
    assert [a["rule"] for a in c.get("/api/v1/alerts?severity=critical").get_json()["alerts"]] == ["site_down"]
    assert {a["ap"] for a in c.get("/api/v1/alerts?district=Jebres&rule=ap_down").get_json()["alerts"]} == {"pg-1", "pg-2"}
    assert {a["ap"] for a in c.get("/api/v1/alerts?site=balekambang").get_json()["alerts"]} == {"bk-2"}
    assert c.get("/api/v1/alerts?state=bogus").status_code == 400
    assert c.get("/api/v1/alerts?hours=-1").status_code == 400

    html = c.get("/alerts").get_data(as_text=True)
    assert table_ids(html, "alerts-firing") == firing
    assert table_ids(html, "alerts-pending") == pending
    assert table_ids(html, "alerts-resolved") == resolved
    assert "diredam oleh Lokasi mati" in html and "Listrik padam" in html  # muted by: site down; power cut
    assert html.count('class="note-form ack-form"') == 4  # an operator may acknowledge each firing one
    only_pending = c.get("/alerts?state=pending").get_data(as_text=True)
    assert 'id="alerts-firing"' not in only_pending and table_ids(only_pending, "alerts-pending") == pending
    # the overview counts the firing alerts and links to them
    ov = c.get("/").get_data(as_text=True)
    assert re.search(r'href="/alerts\?state=firing" data-kpi="alerts_firing">4<', ov)
    assert c.get("/api/v1/overview").get_json()["kpis"]["alerts_firing"] == 4
    assert c.get("/api/v1/kpis").get_json()["alerts_firing"] == 4


# -- acknowledgement ------------------------------------------------------------------------
def test_an_operator_acknowledges_viewers_and_partners_cannot_and_csrf_is_enforced(world):
    rows = stored_alerts(world)
    [bk2] = ids(rows, ap="bk-2")
    [site] = ids(rows, rule="site_down")
    [pending] = {r["id"] for r in rows if r["state"] == "pending"}

    def acked():
        return {r["id"]: (r["acked_by"], r["ack_comment"]) for r in stored_alerts(world) if r["acked_by"]}

    v = login(world.app, "view")
    html = v.get("/alerts").get_data(as_text=True)
    assert "ack-form" not in html  # nothing offered to a viewer
    assert v.post(f"/alerts/{bk2}/ack", data={"csrf_token": csrf(v, "/alerts"), "comment": "x"}).status_code == 403
    p = login(world.app, "telco-user")
    assert p.post(f"/alerts/{site}/ack", data={"csrf_token": csrf(p, "/"), "comment": "x"}).status_code == 403
    assert p.post(f"/api/v1/alerts/{site}/ack", json={"comment": "x"},
                  headers={"X-CSRFToken": csrf(p, "/")}).status_code == 403
    o = login(world.app, "op")
    assert o.post(f"/alerts/{bk2}/ack", data={"comment": "no token"}).status_code == 400
    assert o.post(f"/alerts/{bk2}/ack", data={"comment": "bad", "csrf_token": "forged"}).status_code == 400
    assert o.post(f"/api/v1/alerts/{bk2}/ack", json={"comment": "session, no token"}).status_code == 400
    assert acked() == {}

    token = csrf(o, "/alerts")
    r = o.post(f"/alerts/{bk2}/ack", data={"csrf_token": token, "comment": "teknisi berangkat"})
    assert r.status_code == 302
    assert acked() == {bk2: ("op", "teknisi berangkat")}
    html = o.get("/alerts").get_data(as_text=True)
    assert "<b>op</b>" in html and "teknisi berangkat" in html
    assert html.count('class="note-form ack-form"') == 3
    # twice: refused, the first stays
    o.post(f"/alerts/{bk2}/ack", data={"csrf_token": token, "comment": "again"})
    assert acked() == {bk2: ("op", "teknisi berangkat")}
    # the API with the session's CSRF token, and with an operator's bearer token (no CSRF needed)
    r = o.post(f"/api/v1/alerts/{site}/ack", json={"comment": "PLN dihubungi"}, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.get_json()["alert"]["acked_by"] == "op"
    assert o.post(f"/api/v1/alerts/{site}/ack", json={"comment": "again"}, headers={"X-CSRFToken": token}).status_code == 409
    acc = world.app.extensions["hotspot"].accounts
    op_token = acc.create_token("op", "pager-bot")
    view_token = acc.create_token("view", "wallboard")
    api = world.app.test_client()
    assert api.post(f"/api/v1/alerts/{pending}/ack", json={"comment": "x"},
                    headers={"Authorization": f"Bearer {op_token}"}).status_code == 409  # pending: not firing
    assert api.post("/api/v1/alerts/999999/ack", json={"comment": "x"},
                    headers={"Authorization": f"Bearer {op_token}"}).status_code == 404
    assert api.post(f"/api/v1/alerts/{bk2}/ack", json={"comment": "  "},
                    headers={"Authorization": f"Bearer {op_token}"}).status_code == 400
    assert api.post(f"/api/v1/alerts/{bk2}/ack", json={"comment": "x"},
                    headers={"Authorization": f"Bearer {view_token}"}).status_code == 403
    [pg1] = ids(rows, ap="pg-1")
    r = api.post(f"/api/v1/alerts/{pg1}/ack", json={"comment": "bersama lokasi"},
                 headers={"Authorization": f"Bearer {op_token}"})
    assert r.status_code == 200
    assert acked() == {bk2: ("op", "teknisi berangkat"), site: ("op", "PLN dihubungi"), pg1: ("op", "bersama lokasi")}
    counts = api.get("/api/v1/alerts", headers={"Authorization": f"Bearer {view_token}"}).get_json()["counts"]
    assert counts == {"firing": 4, "acknowledged": 3, "pending": 1, "muted": 2}
    assert [a["id"] for a in api.get("/api/v1/alerts?state=acknowledged", headers={
        "Authorization": f"Bearer {view_token}"}).get_json()["alerts"]] == [site, pg1, bk2]
    # the critical site alert first, then the newest start: pg-1 (04:41) before bk-2 (04:10)


# -- silences ----------------------------------------------------------------------------------
def test_a_silence_added_in_the_page_mutes_the_next_evaluation(world):
    d = world.driver
    sw1 = lambda: [r for r in stored_alerts(world) if r["labels"].get("ap") == "sw-1"]  # noqa: E731

    def sent_firing(ap):
        return [m for m in d.outbox.messages() if any(a.labels.get("ap") == ap and a.status == "firing"
                                                     for a in m["notification"].alerts)]

    # the first sw-1 episode was notified (firing at T + 7): messages do go out
    assert len(sent_firing("sw-1")) == 1
    o = login(world.app, "op")
    token = csrf(o, "/alerts/silences")
    r = o.post("/alerts/silences", data={"csrf_token": token, "kind": "silence", "site": "sriwedari",
                                         "schedule": "once", "duration": "2h", "comment": "ganti kabel LAN"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    [s] = o.get("/api/v1/silences").get_json()["silences"]
    assert (s["author"], s["kind"], s["matchers"], s["state"]) == ("op", "silence", {"site": "sriwedari"}, "active")
    # from the app's clock, for 2 h
    assert (s["starts_at"], s["ends_at"]) == ("2026-11-15T05:00:00Z", "2026-11-15T07:00:00Z")
    # sw-1 has been down since T + 17 min: ap_down fires at T + 22 min, muted by the silence
    d.run(T, 21, 23)
    [firing] = [a for a in sw1() if a["state"] == "firing"]
    assert firing["suppressed"] == f"silence:{s['id']}"
    assert len(sent_firing("sw-1")) == 1  # nothing new went to the outbox
    html = o.get("/alerts").get_data(as_text=True)
    assert f'href="/alerts/silences#silence-{s["id"]}">#{s["id"]}</a>: ganti kabel LAN (op)' in html
    # ended early in the page: the next evaluation unmutes it. Sriwedari's group went idle
    # after the resolution it sent at T + 12, so it waits group_wait (30 s) again: the
    # message goes out at the evaluation after that, T + 25.
    assert o.post(f"/alerts/silences/{s['id']}/expire", data={"csrf_token": token}).status_code == 302
    assert o.get("/api/v1/silences").get_json()["silences"] == []
    assert o.get("/api/v1/silences?state=all").get_json()["silences"][0]["state"] == "ended"
    d.run(T, 24, 24)
    [firing] = [a for a in sw1() if a["state"] == "firing"]
    assert firing["suppressed"] is None
    assert len(sent_firing("sw-1")) == 1
    d.run(T, 25, 25)
    assert len(sent_firing("sw-1")) == 2


def test_silence_forms_and_api_check_their_input(world):
    o = login(world.app, "op")
    token = csrf(o, "/alerts/silences")
    base = {"csrf_token": token, "kind": "silence", "schedule": "once", "duration": "2h"}
    # no comment, nothing chosen, an unknown AP, an unreadable duration: 400, nothing stored
    for data in [{**base, "site": "sriwedari", "comment": ""}, {**base, "comment": "x"},
                 {**base, "ap": "nope-9", "comment": "x"}, {**base, "site": "sriwedari", "duration": "soon",
                                                            "comment": "x"}]:
        assert o.post("/alerts/silences", data=data).status_code == 400, data
    r = o.post("/alerts/silences", data={**base, "site": "sriwedari", "schedule": "weekly", "days": ["someday"],
                                         "comment": "x"})
    assert r.status_code == 400 and "Hari:" in r.get_data(as_text=True)  # the field in error, by its label
    assert o.get("/api/v1/silences").get_json()["silences"] == []
    # everything, when ticked explicitly; a weekly maintenance window for a district
    assert o.post("/alerts/silences", data={**base, "everything": "y", "comment": "upgrade"}).status_code == 302
    r = o.post("/alerts/silences", data={**base, "kind": "maintenance", "district": "Jebres", "schedule": "weekly",
                                         "days": ["sun", "wed"], "time_from": "22:00", "time_to": "02:00",
                                         "comment": "jendela backup"})
    assert r.status_code == 302
    rows = {s["kind"]: s for s in o.get("/api/v1/silences").get_json()["silences"]}
    assert rows["silence"]["matchers"] == {} and rows["maintenance"]["weekly"] == {
        "days": ["sun", "wed"], "from": "22:00", "to": "02:00"}
    # 12:00 on a Sunday: outside 22:00-02:00
    assert rows["maintenance"]["state"] == "waiting" and rows["silence"]["state"] == "active"
    # API: a bearer token (no CSRF), a session (CSRF header)
    acc = world.app.extensions["hotspot"].accounts
    h = {"Authorization": f"Bearer {acc.create_token('op', 'ops-script')}"}
    api = world.app.test_client()
    r = api.post("/api/v1/silences", json={"ap": "bk-2", "rule": "ap_down", "starts_at": "2026-11-15T13:00",
                                           "duration_s": 3600, "comment": "ganti AP"}, headers=h)
    assert r.status_code == 201
    got = r.get_json()["silence"]
    # a naive time is local (WIB, UTC+7)
    assert (got["starts_at"], got["ends_at"], got["state"]) == ("2026-11-15T06:00:00Z", "2026-11-15T07:00:00Z",
                                                                "scheduled")
    for body in [{"site": "atlantis", "duration_s": 60, "comment": "x"}, {"site": "sriwedari", "comment": "x"},
                 {"site": "sriwedari", "duration_s": 60}, {"site": "sriwedari", "duration_s": 10, "comment": "x"},
                 {"site": "sriwedari", "ends_at": "2026-11-15T01:00:00Z", "comment": "x"},
                 {"site": "sriwedari", "weekly": {"days": [], "from": "01:00", "to": "02:00"}, "comment": "x"}]:
        r = api.post("/api/v1/silences", json=body, headers=h)
        assert r.status_code == 400 and r.get_json()["error"] == "bad_request", body
    assert o.post("/api/v1/silences", json={"site": "sriwedari", "duration_s": 600, "comment": "x"}).status_code == 400
    assert o.post("/api/v1/silences", json={"site": "sriwedari", "duration_s": 600, "comment": "x"},
                  headers={"X-CSRFToken": token}).status_code == 201
    assert len(o.get("/api/v1/silences").get_json()["silences"]) == 4
    sid = got["id"]
    assert api.post(f"/api/v1/silences/{sid}/expire", json={}, headers=h).status_code == 200
    assert api.post(f"/api/v1/silences/{sid}/expire", json={}, headers=h).status_code == 409
    assert api.post("/api/v1/silences/4242/expire", json={}, headers=h).status_code == 404
    # viewers read, never change
    v = login(world.app, "view")
    page = v.get("/alerts/silences").get_data(as_text=True)
    assert "silence-form" not in page and "End now" not in page and "Akhiri sekarang" not in page
    assert "jendela backup" in page
    assert v.post("/alerts/silences", data={**base, "site": "sriwedari", "comment": "x",
                                            "csrf_token": csrf(v, "/alerts/silences")}).status_code == 403
    assert v.post(f"/alerts/silences/{rows['silence']['id']}/expire",
                  data={"csrf_token": csrf(v, "/alerts/silences")}).status_code == 403


def test_maintenance_added_in_the_page_counts_as_planned_downtime(tmp_path):
    s = seed(tmp_path, NOW)  # the seed's plain story at 12:00, no alerting configured
    app = create_app(s.cfg, base_dir=tmp_path, testing=True, clock=lambda: NOW)
    add_users(app)
    try:
        o = login(app, "op")
        site = o.get("/api/v1/sites/balekambang").get_json()
        # (tests/test_dashboard_kpis.py) bk-1 and bk-2 monitored 10,500 s each, bk-2 down 1,500 s
        assert site["month_maintenance_s"] == 0.0
        assert site["month_availability_pct"] == pytest.approx(100 * (21_000 - 1_500) / 21_000, abs=1e-9)
        r = o.post("/alerts/silences", data={
            "csrf_token": csrf(o, "/alerts/silences"), "kind": "maintenance", "site": "balekambang",
            "schedule": "once", "start": "2026-11-15T11:20", "duration": "1h", "comment": "ganti switch PoE"})
        assert r.status_code == 302, r.get_data(as_text=True)[:2000]
        # 11:20-12:20 WIB = 04:20-05:20 UTC; the day so far ends at 05:00 (the clock).
        # Maintenance: 04:20-05:00 = 2,400 s for each of the 2 APs = 4,800 s.
        # Monitored: observations 02:00-04:55 minus the maintenance = 02:00-04:20 = 8,400 s each.
        # Down: bk-2's outage (04:30 on) lies inside the maintenance: 0.
        site = o.get("/api/v1/sites/balekambang").get_json()
        assert site["month_maintenance_s"] == 4_800.0
        assert site["month_availability_pct"] == 100.0
        # the fleet: 52,500 s monitored less 2 x 2,100 s; down 2,700 s less bk-2's 1,500 s
        k = o.get("/api/v1/kpis").get_json()
        assert k["month_availability_pct"] == pytest.approx(100 * (48_300 - 1_200) / 48_300, abs=1e-9)
        html = o.get("/sites/balekambang").get_data(as_text=True)
        assert re.search(r'<dd id="month-maintenance">1 j 20 mnt</dd>', html)  # 4,800 AP-seconds
        # no alerting configured here: the alert pages still answer, empty
        assert "Tidak ada kanal yang dikonfigurasi" in o.get("/alerts/channels").get_data(as_text=True)
        assert "Tidak ada alarm aktif." in o.get("/alerts").get_data(as_text=True)
        chart = o.get("/api/v1/sites/balekambang/series?range=24h").get_json()
        av = {c["id"]: c for c in chart["charts"]}["availability"]["traces"][0]
        assert av["y"][av["x"].index("2026-11-15")] == 100.0
    finally:
        app.extensions["hotspot"].close()


# -- channels ------------------------------------------------------------------------------
def test_channels_show_the_last_attempts_and_send_test_delivers_and_records(world):
    o = login(world.app, "op")
    html = o.get("/alerts/channels").get_data(as_text=True)
    assert html.count('class="panel channel"') == 2 and "Belum ada percobaan pengiriman" in html
    token = csrf(o, "/alerts/channels")
    r = o.post("/alerts/channels/noc-hook/test", data={"csrf_token": token})
    assert r.status_code == 302
    [req] = world.hook.requests
    assert req.path == "/hooks/wifi" and req.headers["x-hotspot-event"] == "firing"
    body = req.json()
    assert body["kind"] == "test" and body["channel"] == "noc-hook"
    assert req.headers["x-signature"].startswith("sha256=")
    [att] = world.driver.outbox.attempts(channel="noc-hook")
    assert (att.result, att.attempt, att.error) == ("ok", 1, None)
    page = o.get("/alerts/channels").get_data(as_text=True)
    assert "Pesan uji ke noc-hook: terkirim dalam" in page
    hook_card = re.search(r'id="channel-noc-hook".*?</section>', page, re.S).group(0)
    assert re.search(rf'<tr data-result="ok"><td>2026-11-15 12:00:00</td><td>#{att.outbox_id}</td><td>1</td>',
                     hook_card)
    # Telegram answers 400 (chat not found): permanent, the channel is flagged
    o.post("/alerts/channels/noc-tg/test", data={"csrf_token": token})
    [tg_req] = world.tg.requests
    assert tg_req.path == f"/bot{TG_TOKEN}/sendMessage"
    [att] = world.driver.outbox.attempts(channel="noc-tg")
    assert att.result == "permanent" and "chat not found" in att.error
    page = o.get("/alerts/channels").get_data(as_text=True)
    tg_card = re.search(r'id="channel-noc-tg".*?</section>', page, re.S).group(0)
    assert 'data-flagged="1"' in tg_card and "chat not found" in tg_card and 'data-result="permanent"' in tg_card
    assert "gagal (permanent)" in page  # the flash
    d = {c["id"]: c for c in o.get("/api/v1/channels").get_json()["channels"]}
    assert d["noc-tg"]["flagged"] is True and "chat not found" in d["noc-tg"]["reason"]
    assert d["noc-hook"]["flagged"] is False and d["noc-hook"]["attempts"][0]["result"] == "ok"
    assert d["noc-hook"]["target"] == {"host": world.hook.url.split("//")[1]}
    assert d["noc-tg"]["target"] == {"host": world.tg.url.split("//")[1], "chat": "-100123"}
    # no secret anywhere
    for path in ["/alerts", "/alerts/silences", "/alerts/channels", "/api/v1/channels", "/api/v1/alerts?state=all"]:
        body = o.get(path).get_data(as_text=True)
        assert HOOK_SECRET not in body and TG_TOKEN not in body and "tg-Token" not in body, path
    # unknown channel 404; viewer sees no button and may not send; partner sees no channels
    assert o.post("/alerts/channels/nope/test", data={"csrf_token": token}).status_code == 404
    v = login(world.app, "view")
    assert "send-test" not in v.get("/alerts/channels").get_data(as_text=True)
    assert v.post("/alerts/channels/noc-hook/test", data={"csrf_token": csrf(v, "/alerts")}).status_code == 403
    assert len(world.hook.requests) == 1


# -- partner ---------------------------------------------------------------------------------
def test_a_partner_sees_only_its_sites_site_and_missing_device_alerts(world):
    rows = stored_alerts(world)
    [site] = ids(rows, rule="site_down")
    p = login(world.app, "telco-user")
    d = p.get("/api/v1/alerts?state=all").get_json()
    # Pasar Gedhé is the partner's; its AP alerts and other sites' alerts are not shown
    assert [a["id"] for a in d["alerts"]] == [site]
    assert d["counts"] == {"firing": 1, "acknowledged": 0, "pending": 0, "muted": 0}
    assert d["alerts"][0]["acked_by"] is None and d["alerts"][0]["suppressed"] is None
    html = p.get("/alerts").get_data(as_text=True)
    assert table_ids(html, "alerts-firing") == {site}
    for word in ("Balekambang", "bk-2", "Sriwedari", "sw-1", "pg-1", "ack-form", "tab-silences"):
        assert word not in html, word
    assert re.search(r'data-kpi="alerts_firing">1<', p.get("/").get_data(as_text=True))
    for path in ["/alerts/silences", "/alerts/channels", "/api/v1/silences", "/api/v1/channels"]:
        assert p.get(path).status_code == 403, path
    assert p.post("/api/v1/silences", json={"site": "pasar-gede", "duration_s": 600, "comment": "x"},
                  headers={"X-CSRFToken": csrf(p, "/")}).status_code == 403
    # a partner token: the same cut
    tok = world.app.extensions["hotspot"].accounts.create_token("telco-user", "billing")
    got = world.app.test_client().get("/api/v1/alerts?state=all", headers={"Authorization": f"Bearer {tok}"})
    assert [a["id"] for a in got.get_json()["alerts"]] == [site]


# -- the OpenAPI document, against answers with real alerts in them ----------------------------
def test_answers_with_real_alerts_match_the_openapi_document(world):
    """schemathesis (tests/test_dashboard_openapi.py) sees a fleet without alerts; here every
    alert answer, with acknowledged, muted and silenced alerts, attempts and a flagged
    channel in it, is checked against the document."""
    import schemathesis

    o = login(world.app, "op")
    token = csrf(o, "/alerts")
    h = {"X-CSRFToken": token}
    doc = o.get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(doc)

    def check(method, path, template, response, status):
        assert response.status_code == status, (path, response.get_data(as_text=True)[:300])
        schema[template][method].validate_response(response)  # raises when it does not match

    rows = stored_alerts(world)
    [bk2] = ids(rows, ap="bk-2")
    check("POST", "ack", "/api/v1/alerts/{alert_id}/ack",
          o.post(f"/api/v1/alerts/{bk2}/ack", json={"comment": "otw"}, headers=h), 200)
    check("POST", "ack", "/api/v1/alerts/{alert_id}/ack",
          o.post(f"/api/v1/alerts/{bk2}/ack", json={"comment": "otw"}, headers=h), 409)
    check("POST", "ack", "/api/v1/alerts/{alert_id}/ack",
          o.post("/api/v1/alerts/77/ack", json={"comment": "otw"}, headers=h), 404)
    r = o.post("/api/v1/silences", json={"site": "sriwedari", "duration_s": 7200, "comment": "kabel"}, headers=h)
    check("POST", "add", "/api/v1/silences", r, 201)
    sid = r.get_json()["silence"]["id"]
    check("POST", "add", "/api/v1/silences",
          o.post("/api/v1/silences", json={"site": "x", "duration_s": 60, "comment": "x"}, headers=h), 400)
    check("POST", "add", "/api/v1/silences",
          o.post("/api/v1/silences", json={"kind": "maintenance", "weekly": {"days": ["sun"], "from": "01:00",
                                                                             "to": "03:00"}, "comment": "backup"},
                 headers=h), 201)
    world.driver.run(T, 21, 23)  # sw-1 fires, muted by the silence
    o.post("/alerts/channels/noc-hook/test", data={"csrf_token": token})
    o.post("/alerts/channels/noc-tg/test", data={"csrf_token": token})  # flagged
    got = o.get("/api/v1/alerts?state=all")
    check("GET", "alerts", "/api/v1/alerts", got, 200)
    reasons = {(a["suppressed"] or {}).get("reason") for a in got.get_json()["alerts"]}
    assert reasons == {None, "inhibited", "silence"}
    assert any(a["acked_by"] == "op" for a in got.get_json()["alerts"])
    check("GET", "silences", "/api/v1/silences", o.get("/api/v1/silences?state=all"), 200)
    check("GET", "channels", "/api/v1/channels", o.get("/api/v1/channels"), 200)
    check("POST", "expire", "/api/v1/silences/{silence_id}/expire",
          o.post(f"/api/v1/silences/{sid}/expire", json={}, headers=h), 200)
    check("POST", "expire", "/api/v1/silences/{silence_id}/expire",
          o.post(f"/api/v1/silences/{sid}/expire", json={}, headers=h), 409)
    for path in ("/api/v1/kpis", "/api/v1/overview", "/api/v1/sites"):
        check("GET", path, path, o.get(path), 200)
    check("GET", "site", "/api/v1/sites/{site_id}", o.get("/api/v1/sites/balekambang"), 200)
    p = login(world.app, "telco-user")
    check("GET", "alerts", "/api/v1/alerts", p.get("/api/v1/alerts?state=all"), 200)
    check("GET", "channels", "/api/v1/channels", p.get("/api/v1/channels"), 403)


def test_anonymous_visitors_are_sent_to_log_in_and_english_pages_speak_english(world):
    c = world.app.test_client()
    for path in ["/alerts", "/alerts/silences", "/alerts/channels"]:
        r = c.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), path
    for path in ["/api/v1/alerts", "/api/v1/silences", "/api/v1/channels"]:
        assert c.get(path).status_code == 401, path
    assert c.post("/api/v1/alerts/1/ack", json={"comment": "x"}).status_code == 401
    assert c.post("/api/v1/silences", json={"duration_s": 60, "comment": "x"}).status_code == 401
    world.app.extensions["hotspot"].accounts.add_user("op-en", PW, "operator", locale="en")
    e = login(world.app, "op-en")
    html = e.get("/alerts").get_data(as_text=True)
    assert "diredam" not in html and "inhibited by Site down" in html and "Power cut" in html
    assert "<h2>Firing</h2>" in html and "Acknowledge" in html
    assert "Send a test message" in e.get("/alerts/channels").get_data(as_text=True)
    assert "Add a silence or maintenance window" in e.get("/alerts/silences").get_data(as_text=True)
    assert e.get("/api/v1/alerts?site=balekambang").get_json()["alerts"][0]["title"] == "AP down"
