"""Outages, open and past, with filters, notes (operators) and CSV export."""
from __future__ import annotations

import csv
import io
from typing import Iterator

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..accounts import AccountError
from ..auth import page, principal, scope
from ..fleet import duration
from ..forms import NoteForm
from .api import BadRequest, iso, outage_filter

bp = Blueprint("outages", __name__)
PAGE_ROWS = 500


def _filter_or_400():  # type: ignore[no-untyped-def]
    try:
        return outage_filter()
    except BadRequest as e:
        abort(400, str(e))


@bp.get("/outages")
@page()
def index():  # type: ignore[no-untyped-def]
    d = current_app.extensions["hotspot"]
    flt = _filter_or_400()
    rows = d.fleet.outages(scope(), flt, limit=PAGE_ROWS)
    sites = [s for s in d.cfg.sites if scope().allows(s.id)]
    notes = d.accounts.notes([o.id for o in rows])
    return render_template("outages.html", rows=rows, notes=notes, now=d.fleet.clock(), flt=flt,
                           args=request.args, districts=sorted({s.district for s in sites if s.district}),
                           kinds=sorted({s.kind for s in sites}), limit=PAGE_ROWS,
                           reasons=["snmp_timeout", "snmp_error", "snmp_auth", "lwt_offline", "stale",
                                    "controller_reports_down"],
                           note_form=NoteForm(), site_names={s.id: s.name for s in sites})


@bp.get("/outages.csv")
@page()
def export_csv():  # type: ignore[no-untyped-def]
    d = current_app.extensions["hotspot"]
    flt = _filter_or_400()
    rows = d.fleet.outages(scope(), flt)
    now = d.fleet.clock()
    names = {s.id: s for s in d.cfg.sites}

    def gen() -> Iterator[str]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", "ap", "site", "site_name", "district", "kind", "start", "end",
                    "duration_s", "open", "reason", "source"])
        for o in rows:
            s = names.get(o.site)
            w.writerow([o.id, o.ap, o.site, s.name if s else "", (s.district or "") if s else "",
                        s.kind if s else "", iso(o.start), iso(o.end) or "", f"{duration(o, now):.3f}",
                        "1" if o.end is None else "0", o.reason, o.source])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()

    return Response(gen(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=outages.csv"})


@bp.post("/outages/<int:outage_id>/notes")
@page("annotate")
def add_note(outage_id: int):  # type: ignore[no-untyped-def]
    d = current_app.extensions["hotspot"]
    o = d.fleet.outage(outage_id)
    if o is None or not scope().allows(o.site):
        abort(404)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            d.accounts.add_note(outage_id, principal().user.username, form.text.data)
            flash(_("Note added."), "info")
        except AccountError as e:
            flash(str(e), "error")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("outages.index"))

