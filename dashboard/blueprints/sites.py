"""Sites list and one site's page (charts load from /api/v1/sites/<id>/series)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from ..auth import page, scope
from ..series import RANGES

bp = Blueprint("sites", __name__)


@bp.get("/sites")
@page()
def index():  # type: ignore[no-untyped-def]
    f = current_app.extensions["hotspot"].fleet
    return render_template("sites.html", sites=f.site_views(scope()))


@bp.get("/sites/<site_id>")
@page()
def site(site_id: str):  # type: ignore[no-untyped-def]
    d = current_app.extensions["hotspot"]
    views = [v for v in d.fleet.site_views(scope()) if v.site.id == site_id]
    if not views:
        abort(404)
    from .api import ap_rows_json

    rng = request.args.get("range") if request.args.get("range") in RANGES else "24h"
    return render_template("site.html", v=views[0], aps=ap_rows_json(site_id), range=rng,
                           start=request.args.get("start", ""), end=request.args.get("end", ""),
                           ranges=list(RANGES))
