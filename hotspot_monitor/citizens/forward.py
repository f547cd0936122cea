"""Forward a ticket's evidence to the partner through an alert channel, and record it.

``citizens.forward_channel`` names an ``email`` channel (the mail goes to the
contacts of the partners covering the site, else to the channel's own ``to``;
the evidence JSON is attached) or a ``webhook`` (the evidence as signed JSON,
``X-Signature`` as for alerts). The send uses the notifiers' own delivery code
(TLS, login, error classes); every attempt, ok or not, is a row of
``citizen_forwards`` with the evidence as sent.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Optional

from ..alerts.config import EmailChannel, WebhookChannel
from ..alerts.notifiers.base import DeliveryError, redact, secret_values
from ..alerts.notifiers.email import Attachment, EmailNotifier, attach
from ..alerts.notifiers.http_post import HttpPoster, site_of
from ..alerts.notifiers.webhook import signature
from ..config.models import Config
from . import evidence as ev_text
from .desk import DeskError, ReportDesk
from .evidence import Evidence

WEBHOOK_VERSION = 1


@dataclass(frozen=True, slots=True)
class Forwarded:
    forward_id: int
    result: str  # ok | temporary | permanent
    error: Optional[str]
    channel: str
    recipients: str


def partner_contacts(cfg: Config, site: str) -> list[str]:
    out: list[str] = []
    for p in cfg.partners:
        if p.covers(site):
            out += [c for c in p.contacts if c not in out]
    return out


def _mail(cfg: Config, ch: EmailChannel, to: list[str], ev: Evidence, now: datetime) -> EmailMessage:
    lang = ch.language
    mail = EmailMessage()
    mail["Subject"] = ev_text.subject(ev, lang)
    mail["From"] = ch.from_
    mail["To"] = ", ".join(to)
    mail["Date"] = formatdate(now.timestamp(), localtime=False)
    domain = ch.from_.rpartition("@")[2] or "hotspot-monitor"
    mail["Message-ID"] = make_msgid("citizens", domain=domain)
    mail["X-Hotspot-Ticket"] = str(ev.ticket)
    mail.set_content(ev_text.text(ev, cfg, lang))
    mail.add_alternative(ev_text.html_body(ev, cfg, lang), subtype="html")
    attach(mail, [Attachment(f"evidence-ticket-{ev.ticket}.json",
                             json.dumps(ev.to_dict(), ensure_ascii=False, indent=1).encode(), "application/json")])
    return mail


def webhook_body(cfg: Config, ev: Evidence, language: str, channel: str) -> bytes:
    doc = {"version": WEBHOOK_VERSION, "kind": "citizen_report", "channel": channel, "evidence": ev.to_dict(),
           "message": {"subject": ev_text.subject(ev, language), "text": ev_text.text(ev, cfg, language)}}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def forward(cfg: Config, desk: ReportDesk, ev: Evidence, *, by: str, now: datetime) -> Forwarded:
    """Send ``ev`` through the forward channel now and record the attempt (raises
    :class:`DeskError` when no channel is configured)."""
    name = cfg.citizens.forward_channel
    if name is None:
        raise DeskError("no citizens.forward_channel is configured")
    ch = cfg.alerts.channel(name)
    result, error, recipients = "ok", None, ""
    try:
        if isinstance(ch, EmailChannel):
            to = partner_contacts(cfg, ev.site) or list(ch.to)
            recipients = ", ".join(to)
            EmailNotifier(ch.model_copy(update={"to": to}), cfg).deliver(_mail(cfg, ch, to, ev, now))
        elif isinstance(ch, WebhookChannel):
            recipients = site_of(ch.url)  # never the path: it may hold a key
            body = webhook_body(cfg, ev, ch.language, ch.id)
            headers = {k: v.get_secret_value() for k, v in ch.headers.items()}
            headers.update({"Content-Type": "application/json; charset=utf-8",
                            "X-Hotspot-Event": "citizen_report",
                            "X-Hotspot-Id": hashlib.sha256(body).hexdigest()[:32]})
            if ch.secret is not None:
                headers["X-Signature"] = signature(ch.secret.get_secret_value(), body)
            poster = HttpPoster(ch.timeout_s)
            try:
                poster.post(ch.url, body=body, headers=headers)
            finally:
                poster.close()
        else:
            raise DeskError(f"channel {name!r} cannot carry evidence (email or webhook)")
    except DeliveryError as e:
        result = "permanent" if e.permanent else "temporary"
        error = redact(e.message, secret_values(ch))
    evidence = json.dumps(ev.to_dict(), ensure_ascii=False, sort_keys=True)
    fid = desk.record_forward(ev.ticket, by=by, channel=name, recipients=recipients, result=result,
                              error=error, evidence=evidence, now=now)
    return Forwarded(fid, result, error, name, recipients)
