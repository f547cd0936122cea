"""Alert pages: alerts (firing, pending, history) with acknowledgement, silences and
maintenance, channels with their last delivery attempts and a "send test" button.

Server-rendered forms (they work without JavaScript); the alert list notices
changes through ``/api/v1/alerts`` and offers a reload. Operators and admins
change things (``manage_alerts``); viewers read; a partner sees the alerts
of its own sites only (``alert_board.PARTNER_RULES``) and neither silences
nor channels.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Optional

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hotspot_monitor.alerts.config import parse_duration
from hotspot_monitor.alerts.messages import texts

from ..alert_board import (PARTNER_RULES, RULES, SEVERITIES, STATE_FILTERS, AlertBoard, SilenceError, SilenceRequest,
                           Suppression, parse_local, silence_state, weekly_window)
from ..auth import page, principal
from ..forms import AckForm, ActionForm, SilenceForm, choice
from ..i18n import locale_code
from .alerts_api import alert_filter, audience
from .api import BadRequest

bp = Blueprint("alerts", __name__)
log = logging.getLogger("dashboard.alerts")
PAGE_ROWS = 500


def board() -> AlertBoard:
    return current_app.extensions["hotspot"].alerts


def rule_names() -> dict[str, str]:
    """Rule id -> its name in the page's language (the words the messages use)."""
    t = texts(locale_code())["rules"]
    return {r: " ".join(t.get(r, r).replace("{value}", "").replace("{reason}", "").split()).rstrip(":")
            for r in RULES}


def _back(default: str) -> Any:
    ref = request.referrer
    return redirect(ref if ref and ref.startswith(request.host_url) else default)


@bp.get("/alerts")
@page()
def index():  # type: ignore[no-untyped-def]
    try:
        f = alert_filter(request.args, PAGE_ROWS, default_state="all")  # firing, pending, history
    except BadRequest as e:
        abort(400, str(e))
    b = board()
    who = audience()
    got = b.alerts(who, f)
    me = principal()
    silences = {s.id: s for s in b.silences.all()} if me.can("view_alert_setup") else {}
    sites = [s for s in b.cfg.sites if who.scope.allows(s.id)]
    by_state: dict[str, list] = {"firing": [], "pending": [], "resolved": []}
    for a in got.alerts:
        by_state.setdefault(a.state, []).append(a)
    return render_template(
        "alerts.html", by_state=by_state, counts=got.counts, truncated=got.truncated, flt=f,
        args=request.args, now=b.clock(), silences=silences, suppression=Suppression.parse,
        title=lambda a: b.title(a, locale_code()), rule_names=rule_names(), severities=SEVERITIES,
        states=[s for s in STATE_FILTERS if s != "active"], sites=sites,
        districts=sorted({s.district for s in sites if s.district}), limit=PAGE_ROWS,
        rules=[r for r in RULES if who.all_rules or r in PARTNER_RULES])


@bp.post("/alerts/<int:alert_id>/ack")
@page("manage_alerts")
def acknowledge(alert_id: int):  # type: ignore[no-untyped-def]
    b = board()
    if b.alert(audience(), alert_id) is None:
        abort(404)
    form = AckForm()
    if not form.validate_on_submit() or not form.comment.data.strip():
        flash(_("An acknowledgement needs a comment."), "error")
    elif b.acknowledge(alert_id, by=principal().user.username, comment=form.comment.data):
        flash(_("Alert %(id)s acknowledged.", id=alert_id), "info")
    else:
        flash(_("Alert %(id)s is not firing or already acknowledged.", id=alert_id), "error")
    return _back(url_for("alerts.index"))


# -- silences and maintenance ------------------------------------------------------------------
def _silence_form(form: Optional[SilenceForm] = None) -> SilenceForm:
    b = board()
    form = form or SilenceForm()
    anything = choice("", _("any"))
    form.site.choices = [anything] + [choice(s.id, s.name) for s in b.cfg.sites]
    form.district.choices = [anything] + [choice(d, d) for d in b.districts]
    form.rule.choices = [anything] + [choice(r, f"{name} ({r})") for r, name in rule_names().items()]
    return form


def request_from_form(form: SilenceForm, board: AlertBoard) -> SilenceRequest:
    """The form's fields as a request; SilenceError with a message for the operator."""
    tz = board.cfg.tz
    now = board.clock()
    matchers = {k: v.strip() for k, v in (("ap", form.ap.data or ""), ("site", form.site.data or ""),
                                          ("district", form.district.data or ""), ("rule", form.rule.data or ""))
                if v and v.strip()}
    if not matchers and not form.everything.data:
        raise SilenceError(_("Choose an AP, a site, a district or a rule, or tick 'everything'."))
    try:
        start = parse_local(form.start.data, tz) if (form.start.data or "").strip() else now
    except (ValueError, OverflowError):
        raise SilenceError(_("The start is not a date and time.")) from None
    weekly = None
    end = None
    if form.schedule.data == "weekly":
        try:
            weekly = weekly_window(list(form.days.data or []), (form.time_from.data or "").strip(),
                                   (form.time_to.data or "").strip())
        except ValueError:
            raise SilenceError(_("A weekly window needs at least one day and times like 22:00.")) from None
        if (form.weekly_until.data or "").strip():
            try:
                end = parse_local(form.weekly_until.data, tz)
            except (ValueError, OverflowError):
                raise SilenceError(_("The end is not a date and time.")) from None
    elif (form.until.data or "").strip():
        try:
            end = parse_local(form.until.data, tz)
        except (ValueError, OverflowError):
            raise SilenceError(_("The end is not a date and time.")) from None
    else:
        try:
            seconds = parse_duration(form.duration.data or "")
            end = start + timedelta(seconds=seconds)
        except (ValueError, OverflowError):
            raise SilenceError(_("Give how long (e.g. 2h, 30m, 3d) or an end.")) from None
    return SilenceRequest(form.kind.data, matchers, start, end, weekly, form.comment.data or "")


def _render_silences(form: SilenceForm, status: int = 200):  # type: ignore[no-untyped-def]
    b = board()
    now = b.clock()
    rows = b.silence_list()
    return render_template("silences.html", rows=rows, form=form, action=ActionForm(), now=now,
                           state_of=lambda s: silence_state(s, now, b.cfg.tz), rule_names=rule_names(),
                           site_names={s.id: s.name for s in b.cfg.sites}, aps=sorted(b.ap_ids),
                           tz=b.cfg.tz), status


@bp.get("/alerts/silences")
@page("view_alert_setup")
def silences():  # type: ignore[no-untyped-def]
    return _render_silences(_silence_form())


@bp.post("/alerts/silences")
@page("manage_alerts")
def add_silence():  # type: ignore[no-untyped-def]
    b = board()
    form = _silence_form()
    if not form.validate_on_submit():
        if form.comment.errors:
            flash(_("A comment is required (why, for the record)."), "error")
        for name, errors in form.errors.items():
            if name not in ("comment", "csrf_token"):
                flash(f"{form[name].label.text}: {' '.join(str(e) for e in errors)}", "error")
        return _render_silences(form, 400)
    try:
        sid = b.add_silence(request_from_form(form, b), author=principal().user.username)
    except SilenceError as e:
        flash(str(e), "error")
        return _render_silences(form, 400)
    flash(_("Silence %(id)s added: it takes effect at the next evaluation.", id=sid)
          if form.kind.data == "silence" else
          _("Maintenance %(id)s added: it takes effect at the next evaluation and counts as planned "
            "downtime in availability.", id=sid), "info")
    return redirect(url_for("alerts.silences"))


@bp.post("/alerts/silences/<int:silence_id>/expire")
@page("manage_alerts")
def expire_silence(silence_id: int):  # type: ignore[no-untyped-def]
    b = board()
    if b.silence(silence_id) is None:
        abort(404)
    form = ActionForm()
    if form.validate_on_submit() and b.expire_silence(silence_id):
        flash(_("Silence %(id)s ended.", id=silence_id), "info")
    else:
        flash(_("Silence %(id)s is already over or comes from the config.", id=silence_id), "error")
    return redirect(url_for("alerts.silences"))


# -- channels ---------------------------------------------------------------------------------
@bp.get("/alerts/channels")
@page("view_alert_setup")
def channels():  # type: ignore[no-untyped-def]
    return render_template("channels.html", channels=board().channels(), action=ActionForm())


@bp.post("/alerts/channels/<channel_id>/test")
@page("manage_alerts")
def send_test(channel_id: str):  # type: ignore[no-untyped-def]
    b = board()
    if channel_id not in {c.id for c in b.cfg.alerts.channels}:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    d = b.send_test(channel_id)
    log.info("test message to %s by %s: %s", channel_id, principal().user.username, d.result)
    if d.result == "ok":
        flash(_("Test message to %(ch)s: delivered in %(ms)s ms.", ch=channel_id, ms=round(d.duration_ms)),
              "info")
    else:
        flash(_("Test message to %(ch)s failed (%(result)s): %(error)s", ch=channel_id,
                result=d.result, error=d.error or ""), "error")
    return redirect(url_for("alerts.channels"))
