"""Coverage map: sites by state and clients, the city's kecamatan and kelurahan."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..auth import page, scope

bp = Blueprint("map", __name__)


@bp.get("/map")
@page()
def index():  # type: ignore[no-untyped-def]
    f = current_app.extensions["hotspot"].fleet
    return render_template("map.html", sites=f.site_views(scope()))
