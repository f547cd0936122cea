"""Language per user (Indonesian / English), times in the configured zone, numbers per locale.

The language is the user's saved choice, else the one picked on the login
page (kept in the session), else ``web.locale``. Every number, date and
duration on a page goes through the filters here, so Indonesian pages show
``1.234,5`` and English ones ``1,234.5``.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from flask import Flask, current_app, g, session
from flask_babel import Babel, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user

LOCALES = {"id": "Bahasa Indonesia", "en": "English"}
babel = Babel()


def select_locale() -> str:
    public = g.get("public_lang")  # the public status pages: ?lang=, no session
    if public in LOCALES:
        return public
    try:
        if current_user and current_user.is_authenticated and current_user.user.locale in LOCALES:
            return current_user.user.locale
    except Exception:  # outside a request with a user (CLI, errors)
        pass
    lang = session.get("lang")
    if lang in LOCALES:
        return lang
    return current_app.extensions["hotspot"].cfg.web.locale


def select_timezone() -> str:
    return current_app.extensions["hotspot"].cfg.timezone


def locale_code() -> str:
    return str(get_locale() or "en")


def fmt_num(v: Any, digits: int = 0) -> str:
    if v is None:
        return "–"
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(v, format=fmt)


def fmt_pct(v: Optional[float], digits: int = 2) -> str:
    if v is None:
        return "–"
    return fmt_num(v, digits) + " %"


def fmt_bytes(v: Optional[float]) -> str:
    if v is None:
        return "–"
    units = ["B", "KB", "MB", "GB", "TB", "PB"]
    x, i = float(v), 0
    while abs(x) >= 1000 and i < len(units) - 1:
        x, i = x / 1000, i + 1
    return f"{fmt_num(x, 0 if i == 0 else 1)} {units[i]}"


def fmt_dt(t: Optional[datetime], fmt: str = "yyyy-MM-dd HH:mm:ss") -> str:
    if t is None:
        return "–"
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return format_datetime(t, fmt)


def fmt_isodt(s: Any, fmt: str = "yyyy-MM-dd HH:mm:ss") -> str:
    if isinstance(s, datetime) or s is None:
        return fmt_dt(s, fmt)
    try:
        return fmt_dt(datetime.fromisoformat(str(s).replace("Z", "+00:00")), fmt)
    except ValueError:
        return "–"


def fmt_duration(s: Optional[float]) -> str:
    if s is None:
        return "–"
    s = int(round(s))
    d, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    if d:
        return _("%(d)sd %(h)sh %(m)sm", d=d, h=h, m=m)
    if h:
        return _("%(h)sh %(m)sm", h=h, m=m)
    if m:
        return _("%(m)sm %(s)ss", m=m, s=sec)
    return _("%(s)ss", s=sec)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(num=fmt_num, pct=fmt_pct, bytes=fmt_bytes, dt=fmt_dt, isodt=fmt_isodt,
                                 dur=fmt_duration)
    app.jinja_env.globals.update(locales=LOCALES, locale_code=locale_code)
