"""Security headers and the session signing key.

The CSP allows scripts only from the app itself (all JavaScript is in static
files, none inline), so an injected ``<script>`` cannot run. Styles allow
``'unsafe-inline'`` because plotly.js sets element styles at run time; the
map's MapLibre runs a worker from a ``blob:`` URL. With ``web.tile_url`` the
tile server's origin is added to ``img-src``/``connect-src``; without it no
request ever leaves the app's origin.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, request

from hotspot_monitor.config.models import Config


def csp(cfg: Config) -> str:
    extra = ""
    if cfg.web.tile_url:
        u = urlsplit(cfg.web.tile_url.replace("{s}", "a"))
        extra = f" {u.scheme}://{u.netloc}"
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob:{extra}",
        f"connect-src 'self'{extra}",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def init_app(app: Flask, cfg: Config) -> None:
    policy = csp(cfg)

    @app.after_request
    def headers(resp: Response) -> Response:
        h = resp.headers
        h.setdefault("Content-Security-Policy", policy)
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if cfg.web.secure_cookies:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint not in ("static", "vendor_plotly"):
            h.setdefault("Cache-Control", "no-store")
        return resp


def secret_key(cfg: Config, state_dir: Path) -> bytes:
    """``web.secret_key``, else a random key kept in ``state.dir/web-secret-key``
    (mode 0600), so sessions survive restarts and ``run`` and ``web`` agree."""
    if cfg.web.secret_key is not None:
        return cfg.web.secret_key.get_secret_value().encode()
    path = state_dir / "web-secret-key"
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) >= 32:
            return key
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    key = secrets.token_hex(32).encode()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key
