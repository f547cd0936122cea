"""Overview: the whole fleet at a glance, refreshing itself from /api/v1/overview."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..auth import page, scope
from .alerts_api import audience

bp = Blueprint("overview", __name__)


@bp.get("/")
@page()
def index():  # type: ignore[no-untyped-def]
    f = current_app.extensions["hotspot"].fleet
    sc = scope()
    firing = current_app.extensions["hotspot"].alerts.firing_count(audience())
    return render_template("overview.html", k=f.kpis(sc), outages=f.open_outages(sc)[:50],
                           events=f.events(sc), now=f.clock(), alerts_firing=firing)
