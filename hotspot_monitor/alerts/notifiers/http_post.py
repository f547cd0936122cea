"""One HTTP POST for the HTTP notifiers (urllib3, already a dependency), classified.

* 2xx: sent.
* 408, 425, 429 and 5xx: :class:`TemporaryError` (``Retry-After`` honoured).
* any other status (400 wrong chat id, 401/403 bad token, 404 wrong URL, 3xx):
  :class:`PermanentError`.
* timeouts, refused or reset connections, DNS failures: temporary; a TLS
  certificate the machine does not trust: permanent (someone must fix it).

Error texts name the host (``https://api.telegram.org``) but never the path or
query: the Telegram token is part of the path, and generic gateways may carry
keys in the query.
"""
from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Optional

import urllib3
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    SSLError,
    TimeoutError as Urllib3Timeout,
)
from urllib3.util import parse_url

from ... import __version__
from .base import PermanentError, TemporaryError

USER_AGENT = f"hotspot-monitor/{__version__}"
TEMPORARY_STATUS = frozenset({408, 425, 429})
MAX_BODY_EXCERPT = 200


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


def body_excerpt(resp: HttpResponse) -> str:
    return " ".join(resp.body.decode("utf-8", errors="replace").split())[:MAX_BODY_EXCERPT]


def site_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what an error may show of it."""
    u = parse_url(url)
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme or 'http'}://{u.host or '?'}{port}"


def retry_after(value: Optional[str], now: Optional[datetime] = None) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return max(0.0, (at - (now or datetime.now(timezone.utc))).total_seconds())


class HttpPoster:
    """A connection pool for one channel; :meth:`post` raises the classified errors."""

    def __init__(self, timeout_s: float, ca_file: Optional[str] = None):
        self.timeout_s = timeout_s
        self.pool = urllib3.PoolManager(num_pools=4, maxsize=2, retries=False,
                                        timeout=urllib3.Timeout(total=timeout_s),
                                        ca_certs=ca_file)

    def post(self, url: str, *, body: Optional[bytes] = None, fields: Optional[dict[str, str]] = None,
             headers: Optional[dict[str, str]] = None,
             detail: Callable[[HttpResponse], str] = body_excerpt,
             wait_of: Optional[Callable[[HttpResponse], Optional[float]]] = None) -> HttpResponse:
        """POST ``body`` (bytes as given) or ``fields`` (form-encoded); a 2xx response or an error.

        ``detail`` turns an error response into the short text kept in the
        attempt log (Telegram's ``description``, a gateway's ``reason``...);
        ``wait_of`` finds how long the server asked us to wait (default: the
        ``Retry-After`` header).
        """
        hdrs = {"User-Agent": USER_AGENT, **(headers or {})}
        site = site_of(url)
        try:
            if fields is not None:
                r = self.pool.request("POST", url, fields=fields, encode_multipart=False,
                                      headers=hdrs, redirect=False)
            else:
                r = self.pool.request("POST", url, body=body, headers=hdrs, redirect=False)
        except HTTPError as e:
            raise network_error(e, site, self.timeout_s) from None
        resp = HttpResponse(r.status, {k.lower(): v for k, v in r.headers.items()}, r.data or b"")
        check_status(resp, site, detail, wait_of)
        return resp

    def close(self) -> None:
        self.pool.clear()


def header_wait(resp: HttpResponse) -> Optional[float]:
    return retry_after(resp.headers.get("retry-after"))


def check_status(resp: HttpResponse, site: str, detail: Callable[[HttpResponse], str] = body_excerpt,
                 wait_of: Optional[Callable[[HttpResponse], Optional[float]]] = None) -> None:
    if 200 <= resp.status < 300:
        return
    text = f"{site}: HTTP {resp.status}"
    extra = detail(resp)
    if extra:
        text += f": {extra}"
    if resp.status in TEMPORARY_STATUS or resp.status >= 500:
        raise TemporaryError(text, retry_after=(wait_of or header_wait)(resp))
    raise PermanentError(text)


def network_error(e: HTTPError, site: str, timeout_s: float) -> Exception:
    """A urllib3 error as a classified delivery error (its own text may hold the URL: not used)."""
    if isinstance(e, MaxRetryError) and isinstance(e.reason, HTTPError):
        e = e.reason
    cause = e.__cause__ or e.__context__ or next((a for a in e.args if isinstance(a, BaseException)), None)
    if isinstance(e, NameResolutionError):
        return TemporaryError(f"{site}: cannot resolve host name")
    if isinstance(e, NewConnectionError):
        reason = (getattr(cause, "strerror", None) or type(cause).__name__) if cause else "failed"
        return TemporaryError(f"{site}: cannot connect: {reason}")
    if isinstance(e, Urllib3Timeout):
        return TemporaryError(f"{site}: no answer within {timeout_s:g} s")
    if isinstance(e, SSLError):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return PermanentError(f"{site}: TLS certificate not trusted: {cause.verify_message}")
        return TemporaryError(f"{site}: TLS error: {type(cause).__name__ if cause else 'handshake failed'}")
    if isinstance(e, ProtocolError):
        return TemporaryError(f"{site}: connection broken before a response")
    return TemporaryError(f"{site}: {type(e).__name__}")
