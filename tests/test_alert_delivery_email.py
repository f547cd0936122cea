"""E-mail against a real SMTP server (aiosmtpd) on loopback: STARTTLS, implicit TLS, login,
text + HTML parts in both languages, retries while the server is down, SMTP reply codes."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

from hotspot_monitor.alerts.dispatcher import Dispatcher
from hotspot_monitor.alerts.notification import Notification
from hotspot_monitor.alerts.outbox import Outbox
from hotspot_monitor.status.statestore import StateStore
from services.receivers import SmtpReceiver, T0, ap_down, delivery_config, notification_of

USER, PASSWORD = "noc@example.go.id", "Smtp-t3st-pw-71c"
# aiosmtpd counts only STARTTLS as TLS; with implicit TLS it warns about AUTH "without TLS"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    try:
        yield Outbox(store.engine)
    finally:
        store.close()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator:
    made: list[SmtpReceiver] = []

    def make(mode: str = "starttls", *, start: bool = True, auth: bool = True) -> SmtpReceiver:
        r = SmtpReceiver(cert_dir=tmp_path / f"certs{len(made)}", mode=mode,
                         username=USER if auth else None, password=PASSWORD if auth else None)
        made.append(r)
        return r.start() if start else r

    yield make
    for r in made:
        r.stop()


def mail_channel(srv: SmtpReceiver, **kw) -> dict:
    ch = {"id": "noc-mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": srv.port,
          "starttls": True, "username": USER, "password": PASSWORD, "from": "noc@example.go.id",
          "to": ["noc@example.go.id", "partner@telkom.example"],
          "ca_file": str(srv.ca_file) if srv.ca_file else None, "timeout_s": 5}
    ch.update(kw)
    return {k: v for k, v in ch.items() if v is not None}


def parts(mail) -> dict[str, str]:
    return {p.get_content_type(): p.get_content().replace("\r\n", "\n") for p in mail.message.iter_parts()}


def test_starttls_login_and_both_languages(outbox, smtp):
    srv = smtp("starttls")
    cfg = delivery_config([mail_channel(srv), mail_channel(srv, id="partner-mail", language="en",
                                                              to=["partner@telkom.example"])])
    outbox.enqueue(notification_of("noc-mail", [ap_down()], at=T0 + timedelta(minutes=12)))
    outbox.enqueue(notification_of("partner-mail", [ap_down("resolved", down_s=5700)],
                                   at=T0 + timedelta(minutes=96)))
    assert Dispatcher(outbox, cfg).run_once(T0 + timedelta(minutes=96)) == 2
    assert sorted(a.result for a in outbox.attempts()) == ["ok", "ok"]
    assert srv.logins == [(USER, True), (USER, True)]
    by_subject = {m.message["Subject"]: m for m in srv.mails}
    id_mail = by_subject["[PERINGATAN] AP mati · Taman Balekambang (AP bk-1)"]
    en_mail = by_subject["[RESOLVED] AP down · Taman Balekambang (AP bk-1)"]

    assert id_mail.mail_from == "noc@example.go.id"
    assert id_mail.rcpt_tos == ["noc@example.go.id", "partner@telkom.example"]
    assert id_mail.message["To"] == "noc@example.go.id, partner@telkom.example"
    assert id_mail.message.get_content_type() == "multipart/alternative"
    body = parts(id_mail)
    assert list(body) == ["text/plain", "text/html"]
    assert "Lokasi: Taman Balekambang, Kec. Laweyan, AP bk-1\n" in body["text/plain"]
    assert "Sejak: 14:05 WIB (12 menit lalu)\n" in body["text/plain"]
    assert "<strong>[PERINGATAN] AP mati · Taman Balekambang (AP bk-1)</strong>" in body["text/html"]
    assert "<td>14:05 WIB (12 menit lalu)</td>" in body["text/html"]

    assert en_mail.rcpt_tos == ["partner@telkom.example"]
    en = parts(en_mail)
    assert "Resolved: 15:40 WIB, down 1 h 35 min\n" in en["text/plain"]
    assert "<td>15:40 WIB, down 1 h 35 min</td>" in en["text/html"]
    for m in srv.mails:
        assert PASSWORD.encode() not in m.raw


def test_implicit_tls(outbox, smtp):
    srv = smtp("tls")
    cfg = delivery_config([mail_channel(srv, tls=True, starttls=False, language="en")])
    outbox.enqueue(notification_of("noc-mail", [ap_down()], at=T0))
    Dispatcher(outbox, cfg).run_once(T0)
    assert [a.result for a in outbox.attempts()] == ["ok"]
    [mail] = srv.mails
    assert mail.message["Subject"] == "[WARNING] AP down · Taman Balekambang (AP bk-1)"


def test_wrong_password_is_permanent_and_never_shows_the_password(outbox, smtp, caplog):
    srv = smtp("starttls")
    wrong = "Wr0ng-pw-for-test-3e"
    cfg = delivery_config([mail_channel(srv, password=wrong)])
    outbox.enqueue(notification_of("noc-mail", [ap_down()], at=T0))
    d = Dispatcher(outbox, cfg)
    d.run_once(T0)
    [a] = outbox.attempts()
    assert a.result == "permanent"
    assert a.error.startswith(f"127.0.0.1:{srv.port}: login failed: 535 ")
    assert outbox.channel_states()["noc-mail"].flagged
    assert srv.logins == [(USER, False)] and srv.mails == []
    for text in (a.error, outbox.channel_states()["noc-mail"].reason, caplog.text):
        assert wrong not in text
    assert d.run_once(T0 + timedelta(hours=1)) == 0


def test_server_down_then_up_mail_arrives_after_retries(outbox, smtp):
    srv = smtp("starttls", start=False)  # port chosen, nothing listening yet
    cfg = delivery_config([mail_channel(srv)])
    outbox.enqueue(notification_of("noc-mail", [ap_down()], at=T0))
    d = Dispatcher(outbox, cfg)

    assert d.run_once(T0) == 1
    [a1] = outbox.attempts()
    assert (a1.attempt, a1.result) == (1, "temporary")
    assert a1.error == f"127.0.0.1:{srv.port}: cannot connect: Connection refused"
    assert outbox.messages()[0]["due_at"] == a1.at + timedelta(seconds=30)

    assert d.run_once(T0 + timedelta(seconds=31)) == 1
    a2 = outbox.attempts()[0]
    assert (a2.attempt, a2.result) == (2, "temporary")
    assert outbox.messages()[0]["due_at"] == a2.at + timedelta(seconds=60)

    srv.start()
    assert d.run_once(T0 + timedelta(seconds=61)) == 0  # not due yet: backoff respected
    assert d.run_once(T0 + timedelta(seconds=92)) == 1
    a3, b2, b1 = outbox.attempts()
    assert (a3.attempt, a3.result, a3.error) == (3, "ok", None)
    assert (b1, b2) == (a1, a2)
    assert [m.message["Subject"] for m in srv.mails] == ["[PERINGATAN] AP mati · Taman Balekambang (AP bk-1)"]
    row = outbox.messages()[0]
    assert (row["state"], row["attempts"], row["sent_at"]) == ("sent", 3, a3.at)


def test_smtp_4xx_is_temporary_5xx_is_permanent(outbox, smtp):
    srv = smtp("starttls")
    srv.data_reply = "451 4.3.0 mailbox busy, try later"
    cfg = delivery_config([mail_channel(srv)])
    outbox.enqueue(notification_of("noc-mail", [ap_down()], at=T0))
    d = Dispatcher(outbox, cfg)
    d.run_once(T0)
    [a] = outbox.attempts()
    assert (a.result, a.error) == ("temporary", f"127.0.0.1:{srv.port}: 451 4.3.0 mailbox busy, try later")

    srv.data_reply = None
    srv.refuse_rcpt["partner@telkom.example"] = "550 5.1.1 no such user"
    d.run_once(T0 + timedelta(seconds=31))
    b = outbox.attempts()[0]
    assert b.result == "permanent"
    assert b.error == (f"127.0.0.1:{srv.port}: 1 of 2 recipients refused: "
                       "partner@telkom.example (550 5.1.1 no such user)")
    assert [m.rcpt_tos for m in srv.mails] == [["noc@example.go.id"]]  # the others still got it
    assert outbox.channel_states()["noc-mail"].flagged


def test_untrusted_certificate_or_missing_starttls_is_permanent(outbox, smtp):
    tls_srv, plain_srv = smtp("starttls"), smtp("plain", auth=False)
    cfg = delivery_config([{k: v for k, v in ch.items() if v is not None}
                           for ch in [mail_channel(tls_srv, id="no-ca", ca_file=None),
                                      {**mail_channel(plain_srv, id="no-starttls"), "username": None,
                                       "password": None}]])
    outbox.enqueue(notification_of("no-ca", [ap_down()], at=T0))
    outbox.enqueue(notification_of("no-starttls", [ap_down()], at=T0))
    Dispatcher(outbox, cfg).run_once(T0)
    by = {a.channel: a for a in outbox.attempts()}
    assert by["no-ca"].result == "permanent"
    assert by["no-ca"].error.startswith(f"127.0.0.1:{tls_srv.port}: TLS certificate not trusted: ")
    assert by["no-starttls"].result == "permanent"
    assert "STARTTLS" in by["no-starttls"].error
    assert tls_srv.mails == [] and plain_srv.mails == []


def test_mails_of_one_group_share_a_thread_reference():
    from hotspot_monitor.alerts.notifiers import notifier_for

    cfg = delivery_config([{"id": "m", "type": "email", "smtp_host": "127.0.0.1", "from": "noc@example.go.id",
                            "to": ["noc@example.go.id"]}])
    n = notifier_for(cfg.alerts.channel("m"), cfg)
    firing = n.build(notification_of("m", [ap_down()], at=T0))
    resolved = n.build(notification_of("m", [ap_down("resolved", down_s=60)], at=T0 + timedelta(minutes=2)))
    other = n.build(Notification("m", "default|site=pasar-gede", "firing", [ap_down()], T0))
    assert firing["References"] == resolved["References"] != other["References"]
    assert firing["References"].endswith("@example.go.id>")
    assert firing["Message-ID"] != resolved["Message-ID"]
    assert firing["Date"] == "Thu, 26 Nov 2026 07:05:00 -0000"
