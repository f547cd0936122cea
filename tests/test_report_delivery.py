"""Monthly reports e-mailed on the 1st to a real SMTP server (aiosmtpd on loopback):
exactly one mail per partner and month, across failures, workers and a killed service."""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotspot_monitor.reports.period import Month
from hotspot_monitor.reports.sender import ReportSender
from hotspot_monitor.status.statestore import StateStore
from hotspot_monitor.stores.factory import open_store
from report_fixture import JKT, build_month
from services.ports import free_port
from services.receivers import SmtpReceiver

SQLITE = '{kind: sqlite, sqlite: {path: "metrics.sqlite"}}'


def smtp_settings(port: int, **schedule: object) -> str:
    sched = ", ".join(f"{k}: {v}" for k, v in {"at": '"06:00"', "retry_after_s": 60, **schedule}.items())
    return (f"smtp: {{smtp_host: 127.0.0.1, smtp_port: {port}, starttls: false, timeout_s: 5, "
            f"from: laporan@surakarta.example}}, schedule: {{{sched}}}, ")


def local(day: int, h: int, m: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, h, m, tzinfo=JKT).astimezone(timezone.utc)


class Clock:
    def __init__(self, t: datetime):
        self.t = t

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture()
def smtp():
    r = SmtpReceiver().start()
    yield r
    r.stop()


def sender_for(m, clock):  # type: ignore[no-untyped-def]
    states = StateStore.from_config(m.cfg, m.base)
    store = open_store(m.cfg.store, m.base)
    return ReportSender(m.cfg, states, store, m.base / "var", clock=clock), states, store


def test_due_on_the_first_sent_once_with_pdf_and_xlsx(tmp_path, smtp) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    m = build_month(tmp_path, SQLITE, smtp_settings(smtp.port))
    clock = Clock(local(1, 5, 59))
    a, states, store = sender_for(m, clock)
    b, states_b, store_b = sender_for(m, clock)  # a second worker on the same state store
    try:
        assert a.run_once() == [] and smtp.mails == []  # 05:59 on the 1st: not yet due
        assert a.seconds_to_next(clock.t) == 60.5  # wakes up when it falls due
        clock.t = local(1, 6, 0)
        out = a.run_once()
        assert [(o.partner, o.month, o.result) for o in out] == [("telkom", "2026-10", "ok")]
        assert b.run_once() == [] and a.run_once() == []  # sent: nobody sends it again
        clock.t = local(3, 12)
        assert a.run_once() == [] and b.run_once() == []
        assert len(smtp.mails) == 1
        mail = smtp.mails[0]
        assert mail.rcpt_tos == ["noc@telkom.example"] and mail.mail_from == "laporan@surakarta.example"
        msg = mail.message
        assert msg["Subject"] == "Laporan Bulanan Wi-Fi Publik Oktober 2026 – Surakarta – PT Telkom Indonesia"
        parts = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
        assert sorted(parts) == ["report-telkom-2026-10-id.pdf", "report-telkom-2026-10-id.xlsx"]
        pdf = PdfReader(io.BytesIO(parts["report-telkom-2026-10-id.pdf"]))
        assert "Oktober 2026" in pdf.pages[0].extract_text() and "99,849 %" in pdf.pages[0].extract_text()
        wb = load_workbook(io.BytesIO(parts["report-telkom-2026-10-id.xlsx"]))
        assert wb["Kota"]["K2"].value == 99.849
        body = msg.get_body(("plain",)).get_content()
        assert "Ketersediaan: 99,849 % (SLA 99,900 %: tidak tercapai)" in body
        # recorded: one delivery, sent; one attempt with what was sent (sizes and hashes)
        d = a.deliveries.get("telkom", "2026-10")
        assert (d.state, d.attempts, d.sent_at) == ("sent", 1, local(1, 6, 0))
        [att] = a.deliveries.attempts("telkom")
        assert (att.result, att.trigger, att.recipients) == ("ok", "schedule", ["noc@telkom.example"])
        assert {f["name"]: f["bytes"] for f in att.files} == {k: len(v) for k, v in parts.items()}
        # the files the partner got are the ones kept for the dashboard
        kept = m.base / "var" / "reports" / "telkom" / "2026-10" / "report-telkom-2026-10-id.pdf"
        assert kept.read_bytes() == parts["report-telkom-2026-10-id.pdf"]
        # the partner without a way to send (kota) has no delivery row at all
        assert a.deliveries.get("kota", "2026-10") is None
    finally:
        for x in (store, store_b):
            x.close()
        states.close()
        states_b.close()


def test_server_down_is_retried_and_a_dead_workers_claim_taken_over(tmp_path) -> None:
    port = free_port()
    m = build_month(tmp_path, SQLITE, smtp_settings(port, claim_timeout_s=120))
    clock = Clock(local(1, 6, 30))
    a, states, store = sender_for(m, clock)
    smtp = SmtpReceiver()
    smtp.port = port
    try:
        out = a.run_once()  # nothing listens on the port yet
        assert [(o.result, "cannot connect" in (o.error or "")) for o in out] == [("temporary", True)]
        d = a.deliveries.get("telkom", "2026-10")
        assert (d.state, d.due_at) == ("retry", local(1, 6, 31))  # retry_after_s 60
        assert a.run_once() == []  # not due again yet
        assert a.seconds_to_next(clock.t) == 60.5  # the service sleeps until the retry falls due
        # a worker claims it and dies (no send, no outcome): nobody may send until its claim expires
        clock.t = local(1, 6, 32)
        assert a.deliveries.claim(d.id, clock.t, 120, "dead-worker") is not None
        smtp.controller.port = port
        smtp.start()
        assert a.run_once() == [] and smtp.mails == []
        clock.t = local(1, 6, 34) + timedelta(seconds=1)  # past the dead worker's 120 s: taken over
        assert [o.result for o in a.run_once()] == ["ok"]
        assert len(smtp.mails) == 1 and a.run_once() == []
        assert a.seconds_to_next(clock.t) == 600.0  # next: December 1st, checked at least every 10 min
        results = [(x.result, x.trigger) for x in reversed(a.deliveries.attempts("telkom"))]
        assert results == [("temporary", "schedule"), ("ok", "schedule")]
        assert a.deliveries.get("telkom", "2026-10").attempts == 3  # ours, the dead one's, ours
        # an operator's resend sends it again, once, and is recorded as such
        assert a.resend("telkom", Month(2026, 10), by="op").result == "ok"
        assert len(smtp.mails) == 2
        last = a.deliveries.attempts("telkom")[0]
        assert (last.trigger, last.by, last.result) == ("resend", "op", "ok")
    finally:
        smtp.stop()
        store.close()
        states.close()


class SilentServer:
    """Accepts SMTP connections and never greets: a send hangs in the middle."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(5)
        self.sock.settimeout(0.1)
        self.accepted: list[socket.socket] = []
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self) -> None:
        self.closing.set()
        self.thread.join(5)
        for c in self.accepted:
            c.close()
        self.sock.close()


def _delivery(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT state, attempts, claim_until FROM report_deliveries").fetchone()
        n_ok = con.execute("SELECT count(*) FROM report_attempts WHERE result = 'ok'").fetchone()[0] \
            if row else 0
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()
    return {} if row is None else {"state": row[0], "attempts": row[1], "ok": n_ok}


def _wait(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_run_killed_after_claiming_sends_exactly_one_mail_after_restart(tmp_path) -> None:
    """The real service: killed (SIGKILL) after it claimed the report and while it talks
    to the mail server; started again, it takes the claim over once it expired and sends
    one mail; started a third time, it sends nothing."""
    port = free_port()
    now = datetime.now(timezone.utc)
    # the previous month's report is due since the 1st at 00:00: at once
    m = build_month(tmp_path, SQLITE, smtp_settings(port, at='"00:00"', claim_timeout_s=3).replace(
        "timeout_s: 5", "timeout_s: 60"))
    db = tmp_path / "state.sqlite"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def start(name: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "wb")
        return subprocess.Popen([sys.executable, "-m", "hotspot_monitor", "run", str(m.config_path),
                                 "--base-dir", str(tmp_path)], stdout=log, stderr=subprocess.STDOUT, env=env)

    silent = SilentServer(port)
    first = start("first")
    try:
        _wait(lambda: _delivery(db).get("state") == "claimed" and silent.accepted, 60, "the claim and a connection")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
        silent.close()
    assert _delivery(db) == {"state": "claimed", "attempts": 1, "ok": 0}
    smtp = SmtpReceiver()
    smtp.port = port
    smtp.controller.port = port
    smtp.start()
    try:
        second = start("second")
        try:
            _wait(lambda: len(smtp.mails) >= 1 and _delivery(db).get("state") == "sent", 90, "the mail")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
        third = start("third")
        try:
            runtime = tmp_path / "var" / "runtime.json"
            _wait(lambda: runtime.exists() and json.loads(runtime.read_text()).get("pid") == third.pid, 60,
                  "the third run's first housekeeping")
        finally:
            third.send_signal(signal.SIGTERM)
            assert third.wait(30) == 0
        assert len(smtp.mails) == 1
        assert _delivery(db) == {"state": "sent", "attempts": 2, "ok": 1}
        prev = (now.astimezone(JKT).replace(day=1) - timedelta(days=1))
        month_id = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
                    "Oktober", "November", "Desember"][prev.month - 1]
        assert smtp.mails[0].message["Subject"].startswith(f"Laporan Bulanan Wi-Fi Publik {month_id} {prev.year}")
    finally:
        smtp.stop()


def test_email_channel_sends_attachments(smtp) -> None:
    """The alert e-mail channel carries files (what the report needs), its text and HTML kept."""
    from hotspot_monitor.alerts.notifiers.email import Attachment, EmailNotifier
    from services.receivers import T0, ap_down, delivery_config, notification_of

    cfg = delivery_config([{"id": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                            "starttls": False, "from": "noc@kota.example", "to": ["a@x.example", "b@x.example"]}])
    n = EmailNotifier(cfg.alerts.channels[0], cfg)
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 4
    n.send(notification_of("mail", [ap_down()], at=T0), [Attachment("laporan.pdf", pdf, "application/pdf"),
                                                       Attachment("data.csv", b"a,b\r\n1,2\r\n", "text/csv")])
    [got] = smtp.mails
    msg = got.message
    assert got.rcpt_tos == ["a@x.example", "b@x.example"] and msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(("plain",)).get_content().strip() and msg.get_body(("html",)) is not None
    files = {p.get_filename(): (p.get_content_type(), p.get_content()) for p in msg.iter_attachments()}
    assert files == {"laporan.pdf": ("application/pdf", pdf), "data.csv": ("text/csv", "a,b\r\n1,2\r\n")}
