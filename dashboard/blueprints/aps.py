"""One AP: state history, clients, traffic per interface, system, reboots, outages, sources."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..auth import page
from ..series import RANGES

bp = Blueprint("aps", __name__)


@bp.get("/aps/<ap_id>")
@page()
def ap(ap_id: str):  # type: ignore[no-untyped-def]
    from .api import ap_detail

    d = current_app.extensions["hotspot"]
    a = ap_detail(ap_id)  # 404 outside the caller's scope
    outages = d.fleet.states.outages(aps=[ap_id])[-50:][::-1]
    rng = request.args.get("range") if request.args.get("range") in RANGES else "24h"
    return render_template("ap.html", a=a, site=d.fleet.sites.get(a["site"]), outages=outages,
                           now=d.fleet.clock(), range=rng, start=request.args.get("start", ""),
                           end=request.args.get("end", ""), ranges=list(RANGES))
