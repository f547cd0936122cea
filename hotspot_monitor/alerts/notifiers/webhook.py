"""Webhook: the notification as versioned JSON, signed with a shared secret.

Body (schema version 1, docs/alerts_channels.md): the notification exactly as
the outbox keeps it (:meth:`Notification.to_json`: ``version``, ``kind``,
``status``, ``channel``, ``group_key``, ``group_labels``, ``created_at``,
``dashboard_url``, ``alerts[]``) plus ``message`` (``subject`` and ``text`` in
the channel's language) for receivers that only forward text. Keys are sorted
and the bytes are UTF-8, compact separators.

``X-Signature: sha256=<hex>`` is the HMAC-SHA256 of those exact bytes with
the channel's ``secret``; receivers compute it over the raw body before
parsing it. ``X-Hotspot-Id`` is the same for every retry of one message, so
a receiver can drop duplicates (delivery is at least once).
"""
from __future__ import annotations

import hashlib
import hmac
import json

from .base import Notifier, register
from .http_post import HttpPoster
from ..notification import Notification

SCHEMA_VERSION = 1


def webhook_body(notification: Notification, subject: str, text: str) -> bytes:
    doc = json.loads(notification.to_json())
    doc["version"] = SCHEMA_VERSION
    doc["message"] = {"subject": subject, "text": text}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@register
class WebhookNotifier(Notifier):
    type = "webhook"

    def __init__(self, channel, config):
        super().__init__(channel, config)
        self.http = HttpPoster(channel.timeout_s)

    def send(self, notification: Notification) -> None:
        msg = self.message(notification)
        body = webhook_body(notification, msg.subject, msg.text)
        headers = {k: v.get_secret_value() for k, v in self.channel.headers.items()}
        headers.update({
            "Content-Type": "application/json; charset=utf-8",
            "X-Hotspot-Event": notification.status,
            "X-Hotspot-Id": hashlib.sha256(notification.to_json().encode("utf-8")).hexdigest()[:32],
        })
        if self.channel.secret is not None:
            headers["X-Signature"] = signature(self.channel.secret.get_secret_value(), body)
        self.http.post(self.channel.url, body=body, headers=headers)

    def close(self) -> None:
        self.http.close()
