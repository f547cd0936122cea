"""WhatsApp through an HTTP gateway (there is no free official API).

Presets, one small request builder each (:data:`PRESETS`):

* ``waha`` (self-hosted WAHA): ``POST {url}/api/sendText``, header
  ``X-Api-Key``, JSON ``{"session", "chatId", "text"}``; ``chatId`` is
  ``62...@c.us`` for a person or ``...@g.us`` for a group.
* ``fonnte``: ``POST {url}/send``, header ``Authorization: <token>``, form
  fields ``target``, ``message``, ``countryCode``. Fonnte answers HTTP 200
  even when it refuses (``{"status": false, "reason": "..."}``), so the
  body decides: a refusal is permanent (bad token, bad target, no quota)
  unless its reason says to wait.
* ``generic``: ``POST {url}`` with the configured headers and
  ``body_template``: JSON whose string values may contain ``{chat_id}``,
  ``{text}`` and ``{subject}`` (replaced inside the parsed JSON, so the text
  is always escaped correctly).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .base import Notifier, PermanentError, TemporaryError, register
from .http_post import HttpPoster, HttpResponse, body_excerpt, site_of
from ..messages import Message
from ..notification import Notification

DEFAULT_GENERIC_TEMPLATE = '{"chat_id": "{chat_id}", "text": "{text}"}'
FONNTE_WAIT_WORDS = ("wait", "try again", "limit", "timeout", "busy")


@dataclass(frozen=True)
class GatewayRequest:
    url: str
    headers: dict[str, str]
    body: Optional[bytes] = None
    fields: Optional[dict[str, str]] = None
    detail: Callable[[HttpResponse], str] = body_excerpt
    check: Optional[Callable[[HttpResponse, str], None]] = None  # refusals inside a 2xx answer


def _waha(ch: Any, msg: Message) -> GatewayRequest:
    headers = {"Content-Type": "application/json"}
    if ch.api_key is not None:
        headers["X-Api-Key"] = ch.api_key.get_secret_value()
    body = {"session": ch.session, "chatId": ch.chat_id, "text": msg.text}
    return GatewayRequest(f"{ch.url.rstrip('/')}/api/sendText", headers,
                          body=json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _fonnte_detail(resp: HttpResponse) -> str:
    data = resp.json()
    if isinstance(data, dict) and data.get("reason"):
        return str(data["reason"])
    return body_excerpt(resp)


def _fonnte_check(resp: HttpResponse, site: str) -> None:
    data = resp.json()
    if isinstance(data, dict) and data.get("status") is True:
        return
    reason = _fonnte_detail(resp) or "no status in the answer"
    text = f"{site}: refused: {reason}"
    if any(w in reason.lower() for w in FONNTE_WAIT_WORDS):
        raise TemporaryError(text)
    raise PermanentError(text)


def _fonnte(ch: Any, msg: Message) -> GatewayRequest:
    if ch.api_key is None:
        raise PermanentError("fonnte preset needs api_key (the device token)")
    fields = {"target": ch.chat_id, "message": msg.text, "countryCode": ch.country_code}
    return GatewayRequest(f"{ch.url.rstrip('/')}/send",
                          {"Authorization": ch.api_key.get_secret_value()}, fields=fields,
                          detail=_fonnte_detail, check=_fonnte_check)


def _fill(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        for k, v in values.items():
            node = node.replace("{" + k + "}", v)
        return node
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


def _generic(ch: Any, msg: Message) -> GatewayRequest:
    try:
        template = json.loads(ch.body_template or DEFAULT_GENERIC_TEMPLATE)
    except ValueError as e:
        raise PermanentError(f"body_template is not valid JSON: {e}") from None
    body = _fill(template, {"chat_id": ch.chat_id, "text": msg.text, "subject": msg.subject})
    headers = {"Content-Type": "application/json"}
    return GatewayRequest(ch.url, headers, body=json.dumps(body, ensure_ascii=False).encode("utf-8"))


PRESETS: dict[str, Callable[[Any, Message], GatewayRequest]] = {
    "waha": _waha,
    "fonnte": _fonnte,
    "generic": _generic,
}


@register
class WhatsappNotifier(Notifier):
    type = "whatsapp"

    def __init__(self, channel, config):
        super().__init__(channel, config)
        self.http = HttpPoster(channel.timeout_s)

    def send(self, notification: Notification) -> None:
        req = PRESETS[self.channel.preset](self.channel, self.message(notification))
        headers = {**req.headers,
                   **{k: v.get_secret_value() for k, v in self.channel.headers.items()}}
        resp = self.http.post(req.url, body=req.body, fields=req.fields, headers=headers,
                              detail=req.detail)
        if req.check is not None:
            req.check(resp, site_of(req.url))

    def close(self) -> None:
        self.http.close()
