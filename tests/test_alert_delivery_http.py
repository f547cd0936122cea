"""HTTP channels (Telegram, WhatsApp gateways, webhook) against local recording servers,
driven through the outbox and the dispatcher with simulated time."""
from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs

import pytest

from hotspot_monitor.alerts.dispatcher import Dispatcher, backoff_s
from hotspot_monitor.alerts.outbox import Outbox
from hotspot_monitor.status.statestore import StateStore
from services.ports import free_port
from services.receivers import HttpRecorder, Reply, T0, ap_down, delivery_config, notification_of

TOKEN = "123456:AAH-t3st-b0t-t0ken-x9"
API_KEY = "waha-k3y-7f2e91"
FONNTE_TOKEN = "fonnte-t0k-Q8w"
HOOK_SECRET = "h00k-s3cret-5d1c"
BEARER = "Bearer gw-s3cret-88a"
SECRETS = (TOKEN, API_KEY, FONNTE_TOKEN, HOOK_SECRET, BEARER.split()[1])
SUBJECT_ID = "[PERINGATAN] AP mati · Taman Balekambang (AP bk-1)"
SUBJECT_EN = "[WARNING] AP down · Taman Balekambang (AP bk-1)"


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    try:
        yield Outbox(store.engine)
    finally:
        store.close()


@pytest.fixture
def recorder() -> Iterator:
    started: list[HttpRecorder] = []

    def make(*replies: Reply) -> HttpRecorder:
        r = HttpRecorder(list(replies) or None).start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


def telegram(url: str, **kw) -> dict:
    return {"id": "tg", "type": "telegram", "bot_token": TOKEN, "chat_id": "-1001234", "base_url": url, **kw}


def webhook(url: str, **kw) -> dict:
    return {"id": "hook", "type": "webhook", "url": f"{url}/hooks/alerts", "secret": HOOK_SECRET,
            "language": "en", **kw}


def send(outbox: Outbox, cfg, channel: str, now=T0, **kw) -> Dispatcher:
    outbox.enqueue(notification_of(channel, [ap_down()], at=now, **kw))
    d = Dispatcher(outbox, cfg)
    assert d.run_once(now) == 1
    return d


def test_backoff_doubles_from_30_s_and_stops_at_30_min():
    assert [backoff_s(n) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]


def test_telegram_request_is_exactly_the_bot_api_call(outbox, recorder):
    srv = recorder(Reply.json(200, {"ok": True, "result": {"message_id": 7}}))
    send(outbox, delivery_config([telegram(srv.url)]), "tg")
    [req] = srv.requests
    assert (req.method, req.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert req.headers["content-type"] == "application/json"
    body = req.json()
    assert set(body) == {"chat_id", "text", "disable_web_page_preview"}
    assert body["chat_id"] == "-1001234"
    lines = body["text"].splitlines()
    assert lines[0] == SUBJECT_ID
    assert "Sejak: 14:05 WIB (0 detik lalu)" in lines
    [a] = outbox.attempts()
    assert (a.channel, a.attempt, a.result, a.error) == ("tg", 1, "ok", None)
    assert a.duration_ms > 0
    assert outbox.messages()[0]["state"] == "sent"
    assert outbox.channel_states()["tg"].flagged is False


def test_a_400_is_permanent_flags_the_channel_and_is_not_retried(outbox, recorder):
    srv = recorder(Reply.json(400, {"ok": False, "error_code": 400,
                                    "description": "Bad Request: chat not found"}))
    cfg = delivery_config([telegram(srv.url)])
    d = send(outbox, cfg, "tg")
    [a] = outbox.attempts()
    assert a.result == "permanent"
    assert a.error == f"http://127.0.0.1:{srv.port}: HTTP 400: Bad Request: chat not found"
    state = outbox.channel_states()["tg"]
    assert state.flagged and state.reason == a.error
    assert outbox.messages()[0]["state"] == "failed"
    assert d.run_once(T0 + timedelta(hours=2)) == 0
    assert len(srv.requests) == 1


def test_a_503_is_retried_after_the_backoff_and_then_succeeds(outbox, recorder):
    srv = recorder(Reply(503, b"upstream down"), Reply(200, b"{}"))
    d = send(outbox, delivery_config([webhook(srv.url)]), "hook")
    [first] = outbox.attempts()
    assert (first.result, first.error) == ("temporary", f"http://127.0.0.1:{srv.port}: HTTP 503: upstream down")
    [row] = outbox.messages()
    assert row["state"] == "pending" and row["attempts"] == 1
    assert row["due_at"] == first.at + timedelta(seconds=30)
    assert d.run_once(T0 + timedelta(seconds=10)) == 0  # not due yet
    assert d.run_once(T0 + timedelta(seconds=31)) == 1
    second, again = outbox.attempts()  # newest first
    assert (second.attempt, second.result) == (2, "ok")
    assert again == first
    assert outbox.messages()[0]["state"] == "sent"
    assert [r.body for r in srv.requests][0] == srv.requests[1].body
    assert srv.requests[0].headers["x-hotspot-id"] == srv.requests[1].headers["x-hotspot-id"]
    assert outbox.channel_states()["hook"].last_ok_at == second.at


def test_retry_after_from_the_server_is_honoured(outbox, recorder):
    srv = recorder(Reply(503, b"", {"Retry-After": "90"}))
    send(outbox, delivery_config([webhook(srv.url)]), "hook")
    [a] = outbox.attempts()
    assert outbox.messages()[0]["due_at"] == a.at + timedelta(seconds=90)
    srv2 = recorder(Reply.json(429, {"ok": False, "description": "Too Many Requests: retry after 120",
                                     "parameters": {"retry_after": 120}}))
    outbox2_cfg = delivery_config([telegram(srv2.url)])
    send(outbox, outbox2_cfg, "tg")
    [b] = outbox.attempts(channel="tg")
    assert b.result == "temporary" and "HTTP 429" in b.error
    [row] = outbox.messages(channel="tg")
    assert row["due_at"] == b.at + timedelta(seconds=120)


def test_gives_up_after_max_attempts(outbox, recorder):
    srv = recorder(Reply(502, b"bad gateway"))
    cfg = delivery_config([webhook(srv.url)], max_attempts=2)
    d = send(outbox, cfg, "hook")
    assert d.run_once(T0 + timedelta(seconds=31)) == 1
    last, first = outbox.attempts()
    assert (first.attempt, first.result, last.attempt, last.result) == (1, "temporary", 2, "temporary")
    row = outbox.messages()[0]
    assert (row["state"], row["attempts"]) == ("failed", 2)
    assert d.run_once(T0 + timedelta(hours=5)) == 0
    assert len(srv.requests) == 2
    # out of retries: the channel does not work either, so it is flagged (monitor_unhealthy)
    st = outbox.channel_states()["hook"]
    assert st.flagged and st.reason.startswith("gave up after 2 attempts: ") and "HTTP 502" in st.reason


def test_webhook_body_is_versioned_json_signed_with_hmac(outbox, recorder):
    srv = recorder(Reply(204, b""))
    send(outbox, delivery_config([webhook(srv.url, headers={"X-Tenant": "surakarta"})]), "hook",
         dashboard_url="https://wifi.example/")
    [req] = srv.requests
    assert (req.method, req.path) == ("POST", "/hooks/alerts")
    assert req.headers["content-type"] == "application/json; charset=utf-8"
    assert req.headers["x-tenant"] == "surakarta"
    assert req.headers["x-hotspot-event"] == "firing"
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), req.body, hashlib.sha256).hexdigest()
    assert req.headers["x-signature"] == expected
    doc = req.json()
    assert doc["version"] == 1
    assert (doc["channel"], doc["status"], doc["kind"]) == ("hook", "firing", "alert")
    assert doc["group_key"] == "default|site=balekambang"
    assert doc["dashboard_url"] == "https://wifi.example/"
    assert doc["created_at"] == "2026-11-26T07:05:00+00:00"
    [alert] = doc["alerts"]
    assert alert["fingerprint"] == "rule=ap_down|ap=bk-1|site=balekambang"
    assert alert["labels"] == {"site": "balekambang", "site_name": "Taman Balekambang",
                               "district": "Laweyan", "ap": "bk-1"}
    assert alert["starts_at"] == "2026-11-26T07:05:00+00:00" and alert["ends_at"] is None
    assert doc["message"]["subject"] == SUBJECT_EN
    assert HOOK_SECRET not in req.body.decode()


def test_a_tampered_body_does_not_verify():
    from hotspot_monitor.alerts.notifiers.webhook import signature

    body = b'{"version":1}'
    sig = signature(HOOK_SECRET, body)
    assert hmac.compare_digest(sig, "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest())
    assert not hmac.compare_digest(sig, signature(HOOK_SECRET, body + b" "))


def test_waha_request(outbox, recorder):
    srv = recorder(Reply.json(201, {"id": "true_62812@c.us_3EB0"}))
    ch = {"id": "wa", "type": "whatsapp", "preset": "waha", "url": srv.url + "/", "api_key": API_KEY,
          "session": "noc", "chat_id": "120363025@g.us", "language": "en"}
    send(outbox, delivery_config([ch]), "wa")
    [req] = srv.requests
    assert (req.method, req.path) == ("POST", "/api/sendText")
    assert req.headers["x-api-key"] == API_KEY
    assert req.headers["content-type"] == "application/json"
    body = req.json()
    assert set(body) == {"session", "chatId", "text"}
    assert (body["session"], body["chatId"]) == ("noc", "120363025@g.us")
    assert body["text"].splitlines()[0] == SUBJECT_EN
    assert outbox.attempts()[0].result == "ok"


def test_fonnte_request_is_a_form_with_the_token_header(outbox, recorder):
    srv = recorder(Reply.json(200, {"status": True, "id": ["80367170"], "process": "pending"}))
    ch = {"id": "fon", "type": "whatsapp", "preset": "fonnte", "url": srv.url, "api_key": FONNTE_TOKEN,
          "chat_id": "081234567890", "country_code": "62"}
    send(outbox, delivery_config([ch]), "fon")
    [req] = srv.requests
    assert (req.method, req.path) == ("POST", "/send")
    assert req.headers["authorization"] == FONNTE_TOKEN
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(req.body.decode(), strict_parsing=True)
    assert set(form) == {"target", "message", "countryCode"}
    assert form["target"] == ["081234567890"] and form["countryCode"] == ["62"]
    assert form["message"][0].splitlines()[0] == SUBJECT_ID
    assert outbox.attempts()[0].result == "ok"


def test_fonnte_refusal_inside_a_200_is_permanent(outbox, recorder):
    srv = recorder(Reply.json(200, {"status": False, "reason": "token invalid"}))
    ch = {"id": "fon", "type": "whatsapp", "preset": "fonnte", "url": srv.url, "api_key": FONNTE_TOKEN,
          "chat_id": "081234567890"}
    send(outbox, delivery_config([ch]), "fon")
    [a] = outbox.attempts()
    assert (a.result, a.error) == ("permanent", f"http://127.0.0.1:{srv.port}: refused: token invalid")
    assert outbox.channel_states()["fon"].flagged


def test_generic_gateway_fills_the_body_template(outbox, recorder):
    srv = recorder(Reply(200, b"queued"))
    ch = {"id": "gw", "type": "whatsapp", "preset": "generic", "url": srv.url + "/v1/messages?src=hm",
          "chat_id": "6281234", "headers": {"Authorization": BEARER}, "language": "en",
          "body_template": '{"to": "{chat_id}", "msg": {"title": "{subject}", "body": "{text}"}, "n": 1}'}
    send(outbox, delivery_config([ch]), "gw")
    [req] = srv.requests
    assert req.path == "/v1/messages?src=hm"
    assert req.headers["authorization"] == BEARER
    body = req.json()
    assert body["to"] == "6281234" and body["n"] == 1
    assert body["msg"]["title"] == SUBJECT_EN
    assert body["msg"]["body"].startswith(SUBJECT_EN + "\n")


def test_secrets_never_reach_attempt_errors_channel_flags_or_logs(outbox, recorder, caplog):
    """A hostile gateway echoes our request (path with the token, headers with keys) in its errors."""
    def echo(status: int) -> Reply:
        return Reply(status, f"you sent /bot{TOKEN}/sendMessage with {API_KEY} {FONNTE_TOKEN} "
                             f"{HOOK_SECRET} {BEARER}".encode())

    srv_perm, srv_temp = recorder(echo(401)), recorder(echo(500))
    dead = f"http://127.0.0.1:{free_port()}"
    channels = [
        telegram(srv_perm.url),
        {**telegram(dead), "id": "tg-dead"},
        {"id": "wa", "type": "whatsapp", "preset": "waha", "url": srv_temp.url, "api_key": API_KEY,
         "chat_id": "62812@c.us"},
        {"id": "fon", "type": "whatsapp", "preset": "fonnte", "url": srv_perm.url, "api_key": FONNTE_TOKEN,
         "chat_id": "0812"},
        webhook(srv_temp.url, headers={"Authorization": BEARER}),
    ]
    cfg = delivery_config(channels)
    for ch in channels:
        outbox.enqueue(notification_of(ch["id"], [ap_down()], at=T0))
    caplog.set_level(logging.DEBUG)
    assert Dispatcher(outbox, cfg).run_once(T0) == len(channels)
    attempts = outbox.attempts()
    assert {a.channel: a.result for a in attempts} == {
        "tg": "permanent", "tg-dead": "temporary", "wa": "temporary", "fon": "permanent", "hook": "temporary"}
    texts = [a.error for a in attempts] + [s.reason for s in outbox.channel_states().values()] + [caplog.text]
    assert all("***" in a.error for a in attempts if a.channel != "tg-dead")
    assert "cannot connect" in next(a.error for a in attempts if a.channel == "tg-dead")
    for text in texts:
        for secret in SECRETS:
            assert secret not in (text or ""), f"secret leaked into {text!r}"
    assert "tg" in caplog.text  # the failures were logged (without the secrets)


def test_a_slow_channel_does_not_hold_up_another(outbox, recorder):
    slow = recorder(Reply(200, b"{}", delay_s=6.0))
    fast = recorder(Reply(200, b"{}"))
    cfg = delivery_config([webhook(slow.url, id="slow", timeout_s=2.0), webhook(fast.url, id="fast")])
    outbox.enqueue(notification_of("slow", [ap_down()], at=T0))  # first in line
    outbox.enqueue(notification_of("fast", [ap_down()], at=T0))
    t = time.monotonic()
    assert Dispatcher(outbox, cfg).run_once(T0) == 2
    elapsed = time.monotonic() - t
    assert fast.requests[0].received - t < 1.5, "the fast channel waited for the slow one"
    by = {a.channel: a for a in outbox.attempts()}
    assert by["fast"].result == "ok"
    assert (by["slow"].result, by["slow"].error) == (
        "temporary", f"http://127.0.0.1:{slow.port}: no answer within 2 s")
    assert 1900 <= by["slow"].duration_ms < 5000
    assert elapsed < 5.5  # bounded by the timeout, not by the server's 6 s


def test_a_channel_removed_from_the_config_fails_permanently(outbox, recorder):
    srv = recorder()
    cfg = delivery_config([webhook(srv.url)])
    outbox.enqueue(notification_of("old-telegram", [ap_down()], at=T0))
    assert Dispatcher(outbox, cfg).run_once(T0) == 1
    [a] = outbox.attempts()
    assert (a.channel, a.result) == ("old-telegram", "permanent")
    assert a.error == "channel 'old-telegram' is not configured (removed?)"
    assert outbox.channel_states()["old-telegram"].flagged
    assert srv.requests == []


def test_background_thread_sends_when_woken(outbox, recorder):
    """poll_s is 30 s: a message sent within seconds was sent because of wake()."""
    srv = recorder()
    d = Dispatcher(outbox, delivery_config([webhook(srv.url)]), poll_s=30.0)

    def sent(n: int) -> None:
        deadline = time.monotonic() + 10
        while len(outbox.messages(state="sent")) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(outbox.messages(state="sent")) == n, "not sent within 10 s"

    d.start()
    try:
        for n in (1, 2):
            outbox.enqueue(notification_of("hook", [ap_down(ap=f"bk-{n}")],
                                           at=datetime.now(timezone.utc)))  # due on the real clock
            d.wake()
            sent(n)
    finally:
        d.stop()
    assert [a.result for a in outbox.attempts()] == ["ok", "ok"]
    assert len(srv.requests) == 2
