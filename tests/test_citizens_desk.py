"""The report desk and the monthly figures on real state stores (SQLite and a PostgreSQL server
started for the module), worked out by hand."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from hotspot_monitor.citizens.desk import DeskError, ReportDesk
from hotspot_monitor.citizens.monthly import report_stats
from hotspot_monitor.status.statestore import StateStore
from test_status_postgres import pg_server, pg_url  # noqa: F401 (fixtures: a real PostgreSQL)

T0 = datetime(2026, 11, 2, 2, 40, tzinfo=timezone.utc)  # 09:40 in Surakarta


@pytest.fixture(params=["sqlite", "postgresql"])
def states(request, tmp_path):
    if request.param == "postgresql":
        request.getfixturevalue("pg_server")
    url = f"sqlite:///{tmp_path}/state.sqlite" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = StateStore(url)
    yield s
    s.close()


def test_a_report_during_an_open_outage_is_already_known_and_joins_its_ticket(states):
    desk = ReportDesk(states)
    oid = states.open_outage(ap="bk-2", site="balekambang", start=T0, reason="snmp_timeout", source="snmp")
    a = desk.file(site="balekambang", problem="no_signal", noticed_at=T0, now=T0 + timedelta(minutes=5))
    b = desk.file(site="balekambang", problem="slow", noticed_at=T0, text=" lemot ", now=T0 + timedelta(minutes=9))
    assert a.known_since == T0 and b.known_since == T0
    assert a.ticket_id == b.ticket_id  # one ticket follows one outage
    t = desk.ticket(a.ticket_id)
    assert t.outage_id == oid and t.status == "received" and [r.problem for r in t.reports] == ["no_signal", "slow"]
    assert t.reports[1].text == "lemot"
    # another place, no outage: a ticket of its own each time (operators merge duplicates)
    c = desk.file(site="sriwedari", problem="cannot_connect", noticed_at=T0, now=T0 + timedelta(minutes=10))
    d = desk.file(site="sriwedari", problem="cannot_connect", noticed_at=T0, now=T0 + timedelta(minutes=11))
    assert c.known_since is None and c.ticket_id != d.ticket_id
    assert [x.id for x in desk.queue()] == [d.ticket_id, c.ticket_id, a.ticket_id]  # newest first
    # after the outage closed, a new report opens a new ticket, not linked
    states.close_outage(oid, T0 + timedelta(hours=1))
    e = desk.file(site="balekambang", problem="other", noticed_at=T0, now=T0 + timedelta(hours=2))
    assert e.known_since is None and e.ticket_id != a.ticket_id


def test_merge_link_status_and_forward_records(states):
    desk = ReportDesk(states)
    c = desk.file(site="sriwedari", problem="slow", noticed_at=T0, now=T0)
    d = desk.file(site="sriwedari", problem="slow", noticed_at=T0, now=T0 + timedelta(minutes=3))
    other = desk.file(site="balekambang", problem="slow", noticed_at=T0, now=T0)
    with pytest.raises(DeskError, match="another place"):
        desk.merge(d.ticket_id, other.ticket_id, by="op", now=T0)
    desk.merge(d.ticket_id, c.ticket_id, by="op", now=T0 + timedelta(minutes=20))
    t = desk.ticket(c.ticket_id)
    assert len(t.reports) == 2 and t.acked_at == T0 + timedelta(minutes=20) and t.updated_by == "op"
    assert desk.ticket(d.ticket_id).merged_into == c.ticket_id
    assert d.ticket_id not in [x.id for x in desk.queue()]
    with pytest.raises(DeskError, match="merged into"):
        desk.set_status(d.ticket_id, "fixed", by="op", now=T0)
    oid = states.open_outage(ap="sw-1", site="sriwedari", start=T0 - timedelta(minutes=1), reason="x", source="snmp")
    [o] = states.outages(open_only=True)
    desk.link(c.ticket_id, o, by="op2", now=T0 + timedelta(minutes=30))
    t = desk.ticket(c.ticket_id)
    assert t.outage_id == oid and t.known_since == T0 - timedelta(minutes=1)
    assert t.acked_at == T0 + timedelta(minutes=20)  # the first action acknowledged it
    fid = desk.record_forward(c.ticket_id, by="op", channel="mail", recipients="noc@x", result="temporary",
                              error="no answer", evidence="{}", now=T0 + timedelta(minutes=40))
    assert desk.ticket(c.ticket_id).status == "received"  # a failed send changes nothing
    desk.record_forward(c.ticket_id, by="op", channel="mail", recipients="noc@x", result="ok",
                        error=None, evidence="{}", now=T0 + timedelta(minutes=41))
    t = desk.ticket(c.ticket_id)
    assert t.status == "forwarded" and t.forwarded_at == T0 + timedelta(minutes=41)
    assert [f.result for f in desk.forwards(c.ticket_id)] == ["temporary", "ok"] and fid > 0
    desk.set_status(c.ticket_id, "fixed", by="op", now=T0 + timedelta(hours=3))
    assert desk.ticket(c.ticket_id).fixed_at == T0 + timedelta(hours=3)
    assert c.ticket_id not in [x.id for x in desk.queue()]
    assert c.ticket_id in [x.id for x in desk.queue(include_closed=True)]
    with pytest.raises(DeskError, match="unknown status"):
        desk.set_status(c.ticket_id, "closed", by="op", now=T0)
    with pytest.raises(DeskError, match="unknown problem"):
        desk.file(site="sriwedari", problem="mati", noticed_at=T0, now=T0)


def test_contacts_are_deleted_after_the_retention(states):
    desk = ReportDesk(states, contact_retention_days=2)
    a = desk.file(site="sriwedari", problem="slow", noticed_at=T0, contact="0812-555", now=T0)
    b = desk.file(site="sriwedari", problem="slow", noticed_at=T0, contact="warga@example.id",
                  now=T0 + timedelta(days=1))
    assert desk.purge_contacts(T0 + timedelta(days=2) - timedelta(seconds=1)) == 0
    assert desk.purge_contacts(T0 + timedelta(days=2)) == 1  # a's two days are up, b's not
    assert desk.ticket(a.ticket_id).reports[0].contact is None
    assert desk.ticket(b.ticket_id).reports[0].contact == "warga@example.id"
    assert desk.purge_contacts(T0 + timedelta(days=3)) == 1
    assert desk.ticket(b.ticket_id).reports[0].contact is None
    with states.engine.connect() as c:
        rows = c.execute(text("select contact, contact_purge_at from citizen_reports")).all()
    assert [tuple(r) for r in rows] == [(None, None), (None, None)]  # gone from the database


def test_public_notices_prefer_open_tickets_and_hide_old_fixes(states):
    desk = ReportDesk(states)
    a = desk.file(site="sriwedari", problem="slow", noticed_at=T0, now=T0)
    desk.set_status(a.ticket_id, "fixed", by="op", now=T0 + timedelta(hours=1))
    n = desk.public_notices(T0 + timedelta(hours=2), timedelta(hours=24))
    assert n["sriwedari"].status == "fixed"
    assert desk.public_notices(T0 + timedelta(hours=26), timedelta(hours=24)) == {}
    b = desk.file(site="sriwedari", problem="slow", noticed_at=T0, now=T0 + timedelta(hours=3))
    desk.file(site="sriwedari", problem="other", noticed_at=T0, now=T0 + timedelta(hours=3))
    n = desk.public_notices(T0 + timedelta(hours=4), timedelta(hours=24))
    assert n["sriwedari"].status == "received" and n["sriwedari"].reports == 1 and b.ticket_id


def test_monthly_figures_by_hand(states):
    desk = ReportDesk(states)
    start = datetime(2026, 10, 31, 17, 0, tzinfo=timezone.utc)  # November in Asia/Jakarta
    end = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)
    h = timedelta(hours=1)
    # balekambang: three tickets in the month
    t1 = desk.file(site="balekambang", problem="slow", noticed_at=T0, now=T0).ticket_id
    desk.set_status(t1, "received", by="op", now=T0 + 10 * timedelta(minutes=1))   # ack after 600 s
    desk.set_status(t1, "fixed", by="op", now=T0 + 2 * h)                           # fixed after 7,200 s
    t2 = desk.file(site="balekambang", problem="slow", noticed_at=T0, now=T0 + 5 * h).ticket_id
    desk.set_status(t2, "forwarded", by="op", now=T0 + 5 * h + timedelta(minutes=30))  # ack 1,800 s
    desk.set_status(t2, "fixed", by="op", now=T0 + 9 * h)                              # fix 14,400 s
    t3 = desk.file(site="balekambang", problem="slow", noticed_at=T0, now=T0 + 20 * h).ticket_id
    desk.set_status(t3, "received", by="op", now=T0 + 21 * h)                          # ack 3,600 s, open
    # a duplicate merged away counts as a report, not as a ticket
    dup = desk.file(site="balekambang", problem="slow", noticed_at=T0, now=T0 + 20 * h + timedelta(minutes=1))
    desk.merge(dup.ticket_id, t3, by="op", now=T0 + 22 * h)
    # sriwedari: one report in the month, acknowledged only after the month's end; one before the month
    t4 = desk.file(site="sriwedari", problem="slow", noticed_at=T0, now=end - h).ticket_id
    desk.set_status(t4, "received", by="op", now=end + h)
    desk.file(site="sriwedari", problem="slow", noticed_at=T0, now=start - h)
    rows = {r.site: r for r in report_stats(states, start, end, ["balekambang", "sriwedari", "pasar-gede"])}
    b = rows["balekambang"]
    assert (b.reports, b.tickets, b.acknowledged, b.fixed) == (4, 3, 3, 2)
    assert b.median_ack_s == 1800.0 and b.mean_ack_s == (600 + 1800 + 3600) / 3
    assert b.median_fix_s == (7200 + 14400) / 2 and b.mean_fix_s == 10800.0
    s = rows["sriwedari"]
    assert (s.reports, s.tickets, s.acknowledged, s.fixed) == (1, 1, 0, 0)
    assert s.median_ack_s is None and s.mean_fix_s is None
    p = rows["pasar-gede"]
    assert (p.reports, p.tickets, p.median_ack_s) == (0, 0, None)
    assert [r.site for r in report_stats(states.engine, start, end, ["pasar-gede", "sriwedari"])] == \
        ["pasar-gede", "sriwedari"]


def test_the_running_service_deletes_contacts_past_their_retention(tmp_path):
    """Without anyone opening the queue: `run`'s housekeeping purges (hotspot_monitor/runner.py)."""
    import asyncio

    from hotspot_monitor.config import load_config
    from hotspot_monitor.runner import Service

    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(
        f'state: {{url: "sqlite:///{tmp_path}/state.sqlite", dir: "{tmp_path}/var"}}\n'
        'store: {kind: sqlite, sqlite: {path: metrics.sqlite}}\n'
        "citizens: {contact_retention_days: 1}\n"
        "sites: [{id: sriwedari, name: Taman Sriwedari, lat: -7.568, lon: 110.81}]\n"
        "aps: []\n")
    cfg = load_config(cfg_path)
    now = datetime.now(timezone.utc)
    states = StateStore.from_config(cfg, tmp_path)
    desk = ReportDesk(states, 1)
    old = desk.file(site="sriwedari", problem="slow", noticed_at=now, contact="0812-old", now=now - timedelta(days=2))
    new = desk.file(site="sriwedari", problem="slow", noticed_at=now, contact="0812-new", now=now)
    service = Service(cfg, base_dir=tmp_path, housekeeping_s=0.2)

    async def go():
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and desk.ticket(old.ticket_id).reports[0].contact is not None:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 30)
    try:
        asyncio.run(go())
        assert desk.ticket(old.ticket_id).reports[0].contact is None
        assert desk.ticket(new.ticket_id).reports[0].contact == "0812-new"  # its day is not up
    finally:
        states.close()
