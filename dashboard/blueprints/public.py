"""The public Wi-Fi status pages (no login) and the citizens' problem report form.

``/status`` lists the public places grouped by kecamatan with a search and a
light SVG map; ``/status/<site>`` is one place with its report form, QR code
(``qr.svg``) and printable poster (``poster.pdf``). No plotly, no external
request, one small CSS and JS file. Pages are cached for ``citizens.cache_s``
and rate-limited per client address (kept only as a salted hash in memory).

The report form is a public form without a session, so it carries no CSRF
token (there is no ambient credential to abuse); it is exempt from the app's
CSRF check and defended instead by an ``Origin`` check, a honeypot field, a
per-address limit and size limits.
"""
from __future__ import annotations

import gzip
import io
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Optional
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotspot_monitor.citizens.desk import Filed
from hotspot_monitor.citizens.tables import PROBLEMS

from .. import public_status
from ..citizens_web import CitizensWeb, client_key
from ..forms import DAY_LABELS
from ..i18n import LOCALES

bp = Blueprint("public", __name__)

PROBLEM_WORDS = {"no_signal": _l("No Wi-Fi signal"), "cannot_connect": _l("Cannot connect"),
                 "slow": _l("Very slow"), "login_page": _l("Login page does not work"), "other": _l("Something else")}
WHEN = {"now": 0, "1h": 3600, "3h": 3 * 3600, "1d": 24 * 3600}
WHEN_WORDS = {"now": _l("Right now"), "1h": _l("About an hour ago"), "3h": _l("A few hours ago"),
              "1d": _l("Yesterday")}
STATE_WORDS = {"works": _l("Works"), "partly": _l("Partly working"), "down": _l("Down"),
               "closed": _l("Outside service hours"), "unknown": _l("No data")}
STATUS_WORDS = {"received": _l("Report received"), "forwarded": _l("Forwarded to the network partner"),
                "fixed": _l("Fixed")}
DAY_WORDS = DAY_LABELS


def citizens() -> CitizensWeb:
    return current_app.extensions["citizens"]


@bp.before_request
def _guard():  # type: ignore[no-untyped-def]
    if not current_app.extensions["hotspot"].cfg.citizens.enabled:
        abort(404)
    lang = request.args.get("lang")
    g.public_lang = lang if lang in LOCALES else current_app.extensions["hotspot"].cfg.citizens.locale
    if request.method == "GET":
        wait = citizens().pages.hit(client_key(request.remote_addr))
        if wait is not None:
            return _refused(429, _("Too many requests from your connection: try again in %(s)s seconds.",
                                   s=math.ceil(wait)), wait)
    return None


def _refused(code: int, message: str, wait: Optional[float] = None) -> Response:
    r = Response(render_template("public/message.html", code=code, message=message, **_common()), status=code)
    if wait is not None:
        r.headers["Retry-After"] = str(math.ceil(wait))
    return r


def _common() -> dict:
    lang = g.get("public_lang", "id")
    return {"lang": lang, "other_lang": "en" if lang == "id" else "id", "state_words": STATE_WORDS,
            "status_words": STATUS_WORDS, "day_words": DAY_WORDS, "city": current_app.extensions["hotspot"].cfg.city}


def _places() -> list[public_status.Place]:
    d = current_app.extensions["hotspot"]
    return public_status.places(d.fleet, citizens().desk, d.cfg.citizens.fixed_shown_h)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A page as sent: the bytes and, made once, their gzip (a phone on mobile data)."""

    raw: bytes
    gz: bytes


def _render_once(key: tuple, make: Callable[[], bytes]) -> Rendered:
    def both() -> Rendered:
        raw = make()
        return Rendered(raw, gzip.compress(raw, 6, mtime=0))

    return citizens().cache.get(key, both)  # type: ignore[return-value]


def _cached(page: Rendered, mimetype: str = "text/html") -> Response:
    gz = "gzip" in request.headers.get("Accept-Encoding", "")
    r = Response(page.gz if gz else page.raw, mimetype=mimetype)
    if gz:
        r.headers["Content-Encoding"] = "gzip"
    r.headers["Vary"] = "Accept-Encoding"
    r.headers["Cache-Control"] = f"public, max-age={int(current_app.extensions['hotspot'].cfg.citizens.cache_s)}"
    return r


@bp.get("/status")
def index():  # type: ignore[no-untyped-def]
    q = (request.args.get("q") or "").strip()[:60]
    lang = g.public_lang

    def render() -> bytes:
        places = _places()
        ql = q.lower()
        shown = [p for p in places if not ql or ql in p.name.lower() or ql in (p.kecamatan or "").lower()]
        groups: dict[str, list] = {}
        for p in sorted(shown, key=lambda p: ((p.kecamatan or "~"), p.name)):
            groups.setdefault(p.kecamatan or "–", []).append(p)
        counts = {s: sum(1 for p in places if p.state == s) for s in STATE_WORDS}
        dots = public_status.dots(places)
        return render_template("public/index.html", groups=groups, q=q, counts=counts, total=len(places),
                               shapes=public_status.map_shapes(), dots=dots, map_w=public_status.MAP_W,
                               map_h=public_status.map_height(), now=current_app.extensions["hotspot"].fleet.clock(),
                               **_common()).encode()

    return _cached(_render_once(("index", lang, q), render))


@bp.get("/status.json")
def index_json():  # type: ignore[no-untyped-def]
    def render() -> bytes:
        return current_app.json.dumps({"places": [p.to_json() for p in _places()]}).encode()

    return _cached(_render_once(("json",), render), "application/json")


def _place(site: str) -> public_status.Place:
    p = next((x for x in _places() if x.id == site), None)
    if p is None:  # unknown, or not public: the same answer
        abort(_refused(404, _("There is no such public place.")))
    return p


def _render_place(site: str, *, filed: Optional[Filed] = None, error: Optional[str] = None,
                  form: Optional[dict] = None) -> str:
    return render_template("public/place.html", p=_place(site), problems=PROBLEMS, problem_words=PROBLEM_WORDS,
                           when_words=WHEN_WORDS, filed=filed, error=error, form=form or {},
                           limits=current_app.extensions["hotspot"].cfg.citizens,
                           now=current_app.extensions["hotspot"].fleet.clock(), **_common())


@bp.get("/status/<site>")
def place(site: str):  # type: ignore[no-untyped-def]
    return _cached(_render_once(("place", g.public_lang, site), lambda: _render_place(site).encode()))


def _page_url(site: str) -> str:
    base = current_app.extensions["hotspot"].cfg.citizens.public_url or request.host_url
    return base.rstrip("/") + url_for("public.place", site=site)


def _qr_svg(site: str) -> bytes:
    import segno

    url = _page_url(site)

    def make() -> bytes:
        buf = io.BytesIO()
        segno.make(url, error="m").save(buf, kind="svg", scale=8, border=2, xmldecl=False, svgns=True,
                                        title=url)
        return buf.getvalue()

    return citizens().posters.get(("qr", url), make)  # type: ignore[return-value]


@bp.get("/status/<site>/qr.svg")
def qr(site: str):  # type: ignore[no-untyped-def]
    _place(site)
    r = Response(_qr_svg(site), mimetype="image/svg+xml")
    r.headers["Cache-Control"] = "public, max-age=3600"
    return r


@bp.get("/status/<site>/poster.pdf")
def poster(site: str):  # type: ignore[no-untyped-def]
    p = _place(site)
    import base64

    url = _page_url(site)
    qr_uri = "data:image/svg+xml;base64," + base64.b64encode(_qr_svg(site)).decode()

    def make() -> bytes:
        from weasyprint import HTML

        html = render_template("public/poster.html", p=p, url=url, qr_uri=qr_uri, **_common())
        return HTML(string=html).write_pdf()

    pdf = citizens().posters.get(("poster", g.public_lang, url, p.name), make)
    r = Response(pdf, mimetype="application/pdf")
    r.headers["Content-Disposition"] = f"inline; filename=wifi-{site}.pdf"
    r.headers["Cache-Control"] = "public, max-age=3600"
    return r


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


@bp.post("/status/<site>/report")
def report(site: str):  # type: ignore[no-untyped-def]
    _place(site)
    cw = citizens()
    lim = current_app.extensions["hotspot"].cfg.citizens
    f = request.form
    form = {k: f.get(k, "") for k in ("problem", "when", "text", "contact")}
    if not _same_origin():
        return _refused(403, _("Reports are accepted only from this site's own form."))
    key = client_key(request.remote_addr)
    wait = cw.reports.blocked(key)
    if wait is not None:
        r = Response(_render_place(site, error=_("Too many reports from your connection: please try again in "
                                                 "%(m)s minutes.", m=math.ceil(wait / 60)), form=form), 429)
        r.headers["Retry-After"] = str(math.ceil(wait))
        return r
    if f.get("website"):  # the honeypot: hidden from people, filled in by bots
        cw.reports.count(key)
        return Response(_render_place(site, error=_("Report not accepted."), form={}), 400)
    errors = []
    if form["problem"] not in PROBLEMS:
        errors.append(_("Please choose what is wrong."))
    if form["when"] not in WHEN:
        errors.append(_("Please choose when it happened."))
    if len(form["text"]) > lim.text_max:
        errors.append(_("The description is too long: at most %(max)s characters (yours has %(n)s).",
                        max=lim.text_max, n=len(form["text"])))
    if len(form["contact"]) > lim.contact_max:
        errors.append(_("The contact is too long: at most %(max)s characters (yours has %(n)s).",
                        max=lim.contact_max, n=len(form["contact"])))
    if errors:
        return Response(_render_place(site, error=" ".join(errors), form=form), 400)
    now = current_app.extensions["hotspot"].fleet.clock()
    cw.desk.purge_contacts(now)
    filed = cw.desk.file(site=site, problem=form["problem"], noticed_at=now - timedelta(seconds=WHEN[form["when"]]),
                         text=form["text"], contact=form["contact"], now=now)
    cw.reports.count(key)
    cw.cache.clear()  # the place's page now shows the report
    return Response(_render_place(site, filed=filed), 201)


@bp.app_errorhandler(413)
def too_large(e):  # type: ignore[no-untyped-def]
    if request.path.startswith("/status"):
        g.setdefault("public_lang", current_app.extensions["hotspot"].cfg.citizens.locale)
        return _refused(413, _("The report is too large. Please shorten the description."))
    return render_template("error.html", code=413, message=getattr(e, "description", "")), 413
