"""Stand-ins for the outside services alerts are delivered to, on loopback.

* :class:`HttpRecorder`: an ``http.server`` in a thread that records every
  request (method, path, headers, body) and answers from a script of
  responses (the last one repeats), e.g. ``[Reply(503), Reply(200)]``. It
  stands in for the Telegram Bot API, WAHA, Fonnte, a generic gateway and
  webhook receivers.
* :class:`SmtpReceiver`: a real SMTP server (aiosmtpd) that keeps every mail;
  optionally STARTTLS or implicit TLS with a throwaway CA (the one the
  mosquitto fixture makes) and AUTH with a user and password. It can be
  started late on a port chosen early ("the mail server was down").

Both fail loudly (never skip) when they cannot start.
"""
from __future__ import annotations

import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

from services.ports import free_port, tcp_open, wait_for


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay_s: float = 0.0  # answer this late (a slow gateway)

    @classmethod
    def json(cls, status: int, doc: object, **headers: str) -> "Reply":
        return cls(status, json.dumps(doc).encode(), {"Content-Type": "application/json", **headers})


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    received: float  # time.monotonic() when the body was read

    def json(self) -> object:
        return json.loads(self.body.decode("utf-8"))


class HttpRecorder:
    def __init__(self, replies: Optional[list[Reply]] = None):
        self.replies = list(replies or [Reply()])
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                reply = recorder._record(Recorded(self.command, self.path,
                                                  {k.lower(): v for k, v in self.headers.items()},
                                                  body, time.monotonic()))
                if reply.delay_s:
                    recorder._closing.wait(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="http-recorder", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _record(self, r: Recorded) -> Reply:
        with self._lock:
            self.requests.append(r)
            n = len(self.requests)
        return self.replies[min(n, len(self.replies)) - 1]

    def start(self) -> "HttpRecorder":
        self.thread.start()
        wait_for(lambda: tcp_open(self.port), 10, "HTTP recorder")
        return self

    def stop(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class _Keeper:
    def __init__(self, receiver: "SmtpReceiver"):
        self.receiver = receiver

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        code = self.receiver.refuse_rcpt.get(address)
        if code:
            return code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.receiver.data_reply:
            return self.receiver.data_reply
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.receiver.lock:
            self.receiver.mails.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg,
                                                envelope.content))
        return "250 Message accepted"


class SmtpReceiver:
    """An aiosmtpd server on ``port`` (picked now, started by :meth:`start`)."""

    def __init__(self, *, cert_dir: Optional[Path] = None, mode: str = "plain",
                 username: Optional[str] = None, password: Optional[str] = None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.port = free_port()
        self.mails: list[Received] = []
        self.lock = threading.Lock()
        self.refuse_rcpt: dict[str, str] = {}
        self.data_reply: Optional[str] = None
        self.logins: list[tuple[str, bool]] = []
        self.ca_file: Optional[Path] = None
        kw: dict = {}
        if mode in ("starttls", "tls"):
            from services.mosquitto import make_ca_and_server_cert

            assert cert_dir is not None, "TLS needs a directory for the throwaway certificates"
            cert_dir.mkdir(parents=True, exist_ok=True)
            ca, cert, key = make_ca_and_server_cert(cert_dir)
            self.ca_file = ca
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(cert), str(key))
            if mode == "starttls":
                kw.update(tls_context=ctx, require_starttls=True)
            else:
                kw.update(ssl_context=ctx)
        if username is not None:
            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = (auth_data.login.decode() == username and auth_data.password.decode() == password)
                self.logins.append((auth_data.login.decode(), ok))
                return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

            # aiosmtpd only counts STARTTLS as TLS: with implicit TLS, AUTH would not be offered
            kw.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=mode == "starttls")
        self.controller = Controller(_Keeper(self), hostname="127.0.0.1", port=self.port, **kw)
        self.running = False

    def start(self) -> "SmtpReceiver":
        self.controller.start()  # waits until the server answers; raises if it cannot start
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False


# -- helpers for the delivery tests ----------------------------------------------------
from datetime import datetime, timedelta, timezone  # noqa: E402

from hotspot_monitor.alerts.notification import AlertView, Notification  # noqa: E402
from hotspot_monitor.config.models import Config  # noqa: E402

T0 = datetime(2026, 11, 26, 7, 5, tzinfo=timezone.utc)  # 14:05 WIB
SITE_LABELS = {"site": "balekambang", "site_name": "Taman Balekambang", "district": "Laweyan"}
SITE_DETAILS = {"lat": -7.5544, "lon": 110.8046}


def delivery_config(channels: list[dict], *, mqtt: Optional[dict] = None, max_attempts: int = 8,
                    dashboard_url: Optional[str] = None, timezone_name: str = "Asia/Jakarta") -> Config:
    """A Config with these alert channels (secrets given as plain strings)."""
    alerts: dict = {"channels": channels, "max_attempts": max_attempts}
    if dashboard_url:
        alerts["dashboard_url"] = dashboard_url
    data: dict = {"timezone": timezone_name, "alerts": alerts}
    if mqtt:
        data["mqtt"] = mqtt
    return Config.model_validate(data)


def ap_down(status: str = "firing", *, ap: str = "bk-1", minutes: int = 0, down_s: Optional[int] = None,
            severity: str = "warning") -> AlertView:
    """An ``ap_down`` alert at Taman Balekambang that started ``minutes`` after T0."""
    start = T0 + timedelta(minutes=minutes)
    details: dict = dict(SITE_DETAILS)
    end = None
    if status == "resolved":
        assert down_s is not None
        end = start + timedelta(seconds=down_s)
        details["down_s"] = down_s
    return AlertView(fingerprint=f"rule=ap_down|ap={ap}|site=balekambang", rule="ap_down",
                     severity=severity, status=status, starts_at=start, ends_at=end,
                     labels={**SITE_LABELS, "ap": ap}, details=details)


def notification_of(channel: str, alerts: list[AlertView], *, at: datetime, kind: str = "alert",
                    dashboard_url: Optional[str] = None) -> Notification:
    status = "firing" if any(a.status == "firing" for a in alerts) else "resolved"
    return Notification(channel=channel, group_key="default|site=balekambang", status=status,
                        alerts=alerts, created_at=at, kind=kind, dashboard_url=dashboard_url,
                        group_labels={"site": "balekambang"})
