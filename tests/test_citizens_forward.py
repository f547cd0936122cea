"""Forwarding a ticket's evidence to the partner: a signed webhook to a local recording HTTP
server, e-mail to the partner's contacts through a real local SMTP server, failures recorded."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from dashboard_seed import fixed_now, seed
from hotspot_monitor.citizens.desk import DeskError, ReportDesk
from hotspot_monitor.citizens.evidence import build_evidence
from hotspot_monitor.citizens.forward import forward
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from services.receivers import HttpRecorder, Reply, SmtpReceiver

SECRET = "hook-Secret-4410"


@pytest.fixture()
def world(tmp_path, monkeypatch):
    hook = HttpRecorder([Reply(503, b"busy"), Reply()]).start()
    smtp = SmtpReceiver().start()
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    extra = f"""alerts:
  channels:
    - {{id: partner-hook, type: webhook, url: "{hook.url}/hooks/k3y-in-path", secret: "${{HOOK_SECRET}}"}}
    - {{id: partner-mail, type: email, smtp_host: 127.0.0.1, smtp_port: {smtp.port}, starttls: false,
       from: wifi@surakarta.example, to: [noc@city.example], language: en}}
citizens: {{forward_channel: partner-hook}}
"""
    now = fixed_now()
    s = seed(tmp_path, now, extra)
    states = StateStore.from_config(s.cfg, tmp_path)
    yield {"cfg": s.cfg, "states": states, "now": now, "hook": hook, "smtp": smtp}
    states.close()
    hook.stop()
    smtp.stop()


def evidence_for(w, desk, site, text=""):
    filed = desk.file(site=site, problem="cannot_connect", noticed_at=w["now"] - timedelta(hours=1), text=text,
                      contact="0812-9", now=w["now"])
    t = desk.ticket(filed.ticket_id)
    outage = next((o for o in w["states"].outages(open_only=True) if o.id == t.outage_id), None)
    rows = StatusEngine(w["cfg"], w["states"]).snapshot().aps
    return t, build_evidence(w["cfg"], w["states"], t, rows, outage, w["now"])


def test_webhook_signed_retried_by_hand_and_recorded(world):
    desk = ReportDesk(world["states"])
    t, ev = evidence_for(world, desk, "balekambang", "sinyal hilang")
    first = forward(world["cfg"], desk, ev, by="op", now=world["now"])
    assert first.result == "temporary" and "503" in first.error
    assert desk.ticket(t.id).status == "received"  # not forwarded yet
    second = forward(world["cfg"], desk, ev, by="op", now=world["now"] + timedelta(minutes=1))
    assert second.result == "ok"
    assert desk.ticket(t.id).status == "forwarded"
    assert [f.result for f in desk.forwards(t.id)] == ["temporary", "ok"]
    assert "k3y-in-path" not in second.recipients and second.recipients == world["hook"].url
    r = world["hook"].requests[1]
    assert r.path == "/hooks/k3y-in-path" and r.headers["x-hotspot-event"] == "citizen_report"
    assert r.headers["x-signature"] == "sha256=" + hmac.new(SECRET.encode(), r.body, hashlib.sha256).hexdigest()
    doc = json.loads(r.body)
    assert doc["version"] == 1 and doc["kind"] == "citizen_report"
    e = doc["evidence"]
    assert e["site"] == "balekambang" and e["affected_aps"] == ["bk-2"]
    assert [a["ap"] for a in e["aps"]] == ["bk-1", "bk-2"]
    assert e["outage_start"] == (world["now"] - timedelta(minutes=30)).isoformat()
    assert e["outage_open"] is True and e["outage_duration_s"] == 1800
    assert e["reports"][0]["text"] == "sinyal hilang" and "0812-9" not in r.body.decode()
    assert SECRET not in json.dumps([f.evidence for f in desk.forwards(t.id)])


def test_email_goes_to_the_partners_contacts_and_a_refusal_is_recorded(world):
    cfg = world["cfg"]
    cfg = cfg.model_copy(update={"citizens": cfg.citizens.model_copy(update={"forward_channel": "partner-mail"})})
    desk = ReportDesk(world["states"])
    t, ev = evidence_for(world, desk, "pasar-gede")  # the partner "telco" covers pasar-gede
    assert ev.outage_id is None and ev.affected_aps == []
    r = forward(cfg, desk, ev, by="op", now=world["now"])
    assert r.result == "ok" and r.recipients == "noc@telko.example"
    m = world["smtp"].mails[0]
    assert m.rcpt_tos == ["noc@telko.example"]
    assert m.message["Subject"] == f"Citizens report a Wi-Fi problem at Pasar Gedhé (ticket #{t.id})"
    body = m.message.get_body(preferencelist=("plain",)).get_content()
    assert "no outage in the monitor's log for this ticket" in body and "cannot connect" in body
    world["smtp"].data_reply = "554 5.7.1 rejected by policy"
    r = forward(cfg, desk, ev, by="op", now=world["now"] + timedelta(minutes=2))
    assert r.result == "permanent" and "554" in r.error
    assert [f.result for f in desk.forwards(t.id)] == ["ok", "permanent"]
    none = cfg.model_copy(update={"citizens": cfg.citizens.model_copy(update={"forward_channel": None})})
    with pytest.raises(DeskError, match="forward_channel"):
        forward(none, desk, ev, by="op", now=world["now"])
