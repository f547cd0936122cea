"""Monthly partner reports: download any past month (CSV, XLSX, HTML, PDF); operators
regenerate and resend (hotspot_monitor/reports, docs/report.md).

A partner sees only its own report (its sites, its rules); another partner's
is a 404. The file of a month is the one kept when it was generated or sent
(what the partner received), generated on first download otherwise.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hotspot_monitor.reports.deliveries import Deliveries, Delivery
from hotspot_monitor.reports.files import ReportFiles
from hotspot_monitor.reports.period import Month, month_label
from hotspot_monitor.reports.render import FORMATS, MIME
from hotspot_monitor.reports.sender import ReportSender, sends
from hotspot_monitor.runner import ServicePaths

from ..auth import api, page, principal, scope
from ..forms import ActionForm
from ..i18n import locale_code
from .api import bp as api_bp

bp = Blueprint("reports", __name__)
MONTHS_LISTED = 24
CITY = "city"


def _ctx() -> Any:
    return current_app.extensions["hotspot"]


def _sender() -> ReportSender:
    d = _ctx()
    return ReportSender(d.cfg, d.states, d.store, ServicePaths(d.base_dir).state_dir(d.cfg), clock=d.fleet.clock)


def _now() -> datetime:
    return _ctx().fleet.clock()


def _scopes() -> list[tuple[str, str]]:
    """(key, name) of the reports the caller may see: its partner only, or every partner and the city."""
    cfg = _ctx().cfg
    s = scope()
    if s.partner is not None:
        return [(p.id, p.name) for p in cfg.partners if p.id == s.partner]
    if s.sites is not None:
        return []
    return [(CITY, _("Whole city")), *((p.id, p.name) for p in cfg.partners)]


def _scope_or_404(key: str) -> str:
    if key not in dict(_scopes()):
        abort(404)
    return key


def _past_months() -> list[Month]:
    this = Month.of(_now(), _ctx().cfg.tz)
    out, m = [], this.previous()
    for _i in range(MONTHS_LISTED):
        out.append(m)
        m = m.previous()
    return out


def _month_or_404(text: str) -> Month:
    try:
        m = Month.parse(text)
    except ValueError:
        abort(404)
    if m >= Month.of(_now(), _ctx().cfg.tz):
        abort(404, _("Only complete months have a report."))
    return m


def _language(key: str) -> str:
    lang = request.args.get("lang")
    if lang in ("id", "en"):
        return lang
    p = next((x for x in _ctx().cfg.partners if x.id == key), None)
    return p.report.language if p is not None else locale_code()[:2] if locale_code()[:2] in ("id", "en") else "id"


def _partner_arg(key: str) -> Optional[str]:
    return None if key == CITY else key


def delivery_json(d: Delivery, partner_view: bool) -> dict[str, Any]:
    return {"partner": d.partner, "month": d.month, "state": d.state, "attempts": d.attempts,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            "last_error": None if partner_view else d.last_error}


@bp.get("/reports")
@page()
def index():  # type: ignore[no-untyped-def]
    d = _ctx()
    scopes = _scopes()
    chosen = request.args.get("scope") or (scopes[0][0] if scopes else CITY)
    if scopes and chosen not in dict(scopes):
        abort(404)
    months = _past_months()
    asked = request.args.get("month")
    if asked:
        months = [_month_or_404(asked)] + [m for m in months if str(m) != asked]
    deliveries = {x.month: x for x in Deliveries(d.states.engine).all(chosen)} if chosen != CITY else {}
    partner = next((p for p in d.cfg.partners if p.id == chosen), None)
    attempts = Deliveries(d.states.engine).attempts(chosen, limit=20) if chosen != CITY else []
    me = principal()
    return render_template("reports.html", scopes=scopes, chosen=chosen, months=months,
                           labels={str(m): month_label(m, locale_code()[:2]) for m in months},
                           deliveries=deliveries, attempts=attempts, formats=FORMATS, form=ActionForm(),
                           can_manage=me is not None and me.can("manage_reports"),
                           sends=partner is not None and sends(partner), partner=partner)


@bp.get("/reports/<key>/<month>.<fmt>")
@page()
def download(key: str, month: str, fmt: str):  # type: ignore[no-untyped-def]
    _scope_or_404(key)
    m = _month_or_404(month)
    if fmt not in FORMATS:
        abort(404)
    lang = _language(key)
    files = ReportFiles(ServicePaths(_ctx().base_dir).state_dir(_ctx().cfg))
    kept = files.get(key, m, fmt, lang)
    if kept is None:
        _report, made = _sender().generate(_partner_arg(key), m, [fmt], lang)
        kept = made[0]
    return Response(kept.path.read_bytes(), mimetype=MIME[fmt],
                    headers={"Content-Disposition": f"attachment; filename={kept.name}",
                             "Cache-Control": "private, no-store"})


@bp.post("/reports/<key>/<month>/regenerate")
@page("manage_reports")
def regenerate(key: str, month: str):  # type: ignore[no-untyped-def]
    _scope_or_404(key)
    m = _month_or_404(month)
    if ActionForm().validate_on_submit():
        _sender().generate(_partner_arg(key), m, list(FORMATS), _language(key))
        flash(_("The report of %(month)s was generated again.", month=month_label(m, locale_code()[:2])), "info")
    return redirect(url_for("reports.index", scope=key))


@bp.post("/reports/<key>/<month>/resend")
@page("manage_reports")
def resend(key: str, month: str):  # type: ignore[no-untyped-def]
    _scope_or_404(key)
    m = _month_or_404(month)
    p = next((x for x in _ctx().cfg.partners if x.id == key), None)
    if p is None or not sends(p):
        abort(404)
    if ActionForm().validate_on_submit():
        out = _sender().resend(p.id, m, by=principal().user.username)
        if out.result == "ok":
            flash(_("The report was sent to %(to)s.", to=", ".join(p.contacts)), "info")
        else:
            flash(_("The report was not sent: %(error)s", error=out.error or out.result), "error")
    return redirect(url_for("reports.index", scope=key))


@api_bp.get("/reports")
@api()
def reports_api() -> Response:
    """The reports the caller may download, and the e-mail deliveries of its partners."""
    d = _ctx()
    s = scope()
    keys = [k for k, _n in _scopes()]
    dels = [x for x in Deliveries(d.states.engine).all() if x.partner in keys]
    return jsonify({
        "scopes": [{"id": k, "name": n} for k, n in _scopes()],
        "months": [str(m) for m in _past_months()],
        "formats": list(FORMATS),
        "download": "/reports/{scope}/{month}.{format}",
        "deliveries": [delivery_json(x, s.partner is not None) for x in dels],
    })
