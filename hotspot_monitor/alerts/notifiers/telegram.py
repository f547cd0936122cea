"""Telegram: the Bot API's ``sendMessage`` over plain HTTPS.

``POST {base_url}/bot<token>/sendMessage`` with JSON ``{chat_id, text}``; the
text is plain (no parse mode), so nothing in a site name can break the
markup. Telegram answers errors with ``{"ok": false, "description": ...}``
(400 "chat not found", 401 "Unauthorized") and 429 with
``parameters.retry_after``; both end up in the attempt log without the token,
which is part of the URL path and so never shown (see ``http_post``).
"""
from __future__ import annotations

import json
from typing import Optional

from .base import Notifier, register
from .http_post import HttpPoster, HttpResponse, body_excerpt, header_wait
from ..notification import Notification

MAX_TEXT = 4096  # Telegram's limit for one message


def _detail(resp: HttpResponse) -> str:
    data = resp.json()
    if isinstance(data, dict) and data.get("description"):
        return str(data["description"])
    return body_excerpt(resp)


def _wait(resp: HttpResponse) -> Optional[float]:
    data = resp.json()
    params = data.get("parameters") if isinstance(data, dict) else None
    if isinstance(params, dict) and isinstance(params.get("retry_after"), (int, float)):
        return float(params["retry_after"])
    return header_wait(resp)


@register
class TelegramNotifier(Notifier):
    type = "telegram"

    def __init__(self, channel, config):
        super().__init__(channel, config)
        self.http = HttpPoster(channel.timeout_s)

    @property
    def url(self) -> str:
        token = self.channel.bot_token.get_secret_value()
        return f"{self.channel.base_url.rstrip('/')}/bot{token}/sendMessage"

    def send(self, notification: Notification) -> None:
        text = self.message(notification).text
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT - 1] + "…"
        body = json.dumps({"chat_id": self.channel.chat_id, "text": text,
                           "disable_web_page_preview": True}, ensure_ascii=False).encode("utf-8")
        self.http.post(self.url, body=body, headers={"Content-Type": "application/json"},
                       detail=_detail, wait_of=_wait)

    def close(self) -> None:
        self.http.close()
