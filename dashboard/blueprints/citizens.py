"""The operators' queue of citizens' problem reports: merge, link, status, forward to the partner.

Needs ``handle_citizen_reports`` (operators and admins): these pages show the
reporters' contacts. Every POST carries the page's CSRF token (the app's
``CSRFProtect``). Contacts past ``citizens.contact_retention_days`` are
deleted whenever the queue is opened (and whenever a report is filed).
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hotspot_monitor.citizens.desk import DeskError, ReportDesk
from hotspot_monitor.citizens.evidence import build_evidence
from hotspot_monitor.citizens.forward import forward, partner_contacts
from hotspot_monitor.citizens.tables import STATUSES

from ..auth import page, principal
from ..fleet import ALL, OutageFilter
from .public import PROBLEM_WORDS, STATUS_WORDS

bp = Blueprint("citizens", __name__)
PERM = "handle_citizen_reports"


def _desk() -> ReportDesk:
    return current_app.extensions["citizens"].desk


def _changed() -> None:
    current_app.extensions["citizens"].cache.clear()  # the public pages show the new status


@bp.get("/citizens")
@page(PERM)
def queue():  # type: ignore[no-untyped-def]
    d = current_app.extensions["hotspot"]
    _desk().purge_contacts(d.fleet.clock())
    show_all = request.args.get("all") == "1"
    tickets = _desk().queue(include_closed=show_all)
    return render_template("citizens.html", tickets=tickets, show_all=show_all, sites=d.fleet.sites,
                           problem_words=PROBLEM_WORDS, status_words=STATUS_WORDS)


@bp.get("/citizens/<int:ticket_id>")
@page(PERM)
def ticket(ticket_id: int):  # type: ignore[no-untyped-def]
    d = current_app.extensions["hotspot"]
    now = d.fleet.clock()
    _desk().purge_contacts(now)
    t = _desk().ticket(ticket_id)
    if t is None:
        abort(404)
    others = [x for x in _desk().queue() if x.site == t.site and x.id != t.id]
    outages = d.fleet.outages(ALL, OutageFilter(site=t.site, start=now - timedelta(days=7)), limit=50)
    outage = d.fleet.outage(t.outage_id) if t.outage_id else None
    ch = d.cfg.citizens.forward_channel
    return render_template("citizen_ticket.html", t=t, site=d.fleet.sites.get(t.site), others=others,
                           outages=outages, outage=outage, now=now, statuses=STATUSES,
                           forwards=_desk().forwards(t.id), channel=ch,
                           recipients=partner_contacts(d.cfg, t.site),
                           problem_words=PROBLEM_WORDS, status_words=STATUS_WORDS)


def _back(ticket_id: int):  # type: ignore[no-untyped-def]
    return redirect(url_for("citizens.ticket", ticket_id=ticket_id))


def _who() -> str:
    return principal().user.username  # type: ignore[union-attr]


@bp.post("/citizens/<int:ticket_id>/status")
@page(PERM)
def set_status(ticket_id: int):  # type: ignore[no-untyped-def]
    try:
        _desk().set_status(ticket_id, request.form.get("status", ""), by=_who(),
                           now=current_app.extensions["hotspot"].fleet.clock())
        flash(_("Status changed."), "info")
        _changed()
    except DeskError as e:
        flash(str(e), "error")
    return _back(ticket_id)


@bp.post("/citizens/<int:ticket_id>/merge")
@page(PERM)
def merge(ticket_id: int):  # type: ignore[no-untyped-def]
    try:
        into = int(request.form.get("into", ""))
    except ValueError:
        flash(_("Choose the ticket to merge into."), "error")
        return _back(ticket_id)
    try:
        _desk().merge(ticket_id, into, by=_who(), now=current_app.extensions["hotspot"].fleet.clock())
        flash(_("Merged into ticket %(n)s.", n=into), "info")
        _changed()
        return _back(into)
    except DeskError as e:
        flash(str(e), "error")
        return _back(ticket_id)


@bp.post("/citizens/<int:ticket_id>/link")
@page(PERM)
def link(ticket_id: int):  # type: ignore[no-untyped-def]
    d = current_app.extensions["hotspot"]
    try:
        o = d.fleet.outage(int(request.form.get("outage", "")))
    except ValueError:
        o = None
    if o is None:
        flash(_("Choose an outage."), "error")
        return _back(ticket_id)
    try:
        _desk().link(ticket_id, o, by=_who(), now=d.fleet.clock())
        flash(_("Linked to outage %(n)s.", n=o.id), "info")
        _changed()
    except DeskError as e:
        flash(str(e), "error")
    return _back(ticket_id)


@bp.post("/citizens/<int:ticket_id>/forward")
@page(PERM)
def forward_to_partner(ticket_id: int):  # type: ignore[no-untyped-def]
    d = current_app.extensions["hotspot"]
    now = d.fleet.clock()
    t = _desk().ticket(ticket_id)
    if t is None:
        abort(404)
    outage = d.fleet.outage(t.outage_id) if t.outage_id else None
    try:
        ev = build_evidence(d.cfg, d.states, t, d.fleet.ap_rows(), outage, now)
        r = forward(d.cfg, _desk(), ev, by=_who(), now=now)
    except DeskError as e:
        flash(str(e), "error")
        return _back(ticket_id)
    if r.result == "ok":
        flash(_("Forwarded to the partner (%(to)s).", to=r.recipients), "info")
        _changed()
    else:
        flash(_("Forwarding failed (%(kind)s): %(error)s", kind=r.result, error=r.error or ""), "error")
    return _back(ticket_id)
