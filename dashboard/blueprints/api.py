"""``/api/v1``: JSON for sites, APs, states, outages, series, KPIs (OpenAPI at /api/v1/openapi.json).

The dashboard's own pages refresh from these same endpoints. Every endpoint
answers within the caller's scope: a partner's token or session sees only
that partner's sites, and another site is a 404 (not a 403), so the API does
not even tell which sites exist.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from flask import Blueprint, Response, abort, current_app, jsonify, request

from hotspot_monitor import catalogue as cat

from .. import geo
from ..auth import api, scope
from ..fleet import Kpis, OutageFilter, SiteView, duration
from ..i18n import locale_code
from ..openapi import document
from ..series import ChartBuilder, parse_range, reboots

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_OUTAGES = 5000
EARLIEST = datetime(1970, 1, 2, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 30, tzinfo=timezone.utc)


class BadRequest(Exception):
    pass


@bp.errorhandler(BadRequest)
def _bad(e: BadRequest):  # type: ignore[no-untyped-def]
    return jsonify(error="bad_request", message=str(e)), 400


def ctx() -> Any:
    return current_app.extensions["hotspot"]


def iso(t: Optional[datetime]) -> Optional[str]:
    return None if t is None else t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# -- serializers (also used by the pages' live refresh) -----------------------------------
def kpis_json(k: Kpis) -> dict[str, Any]:
    return {
        "at": iso(k.at),
        "aps": {"up": k.aps_up, "down": k.aps_down, "unknown": k.aps_unknown},
        "sites": {"up": k.sites_up, "degraded": k.sites_degraded, "down": k.sites_down,
                  "closed": k.sites_closed, "unknown": k.sites_unknown},
        "clients_now": k.clients_now,
        "traffic_today": {"rx_bytes": k.rx_bytes_today, "tx_bytes": k.tx_bytes_today},
        "month_availability_pct": k.month_availability_pct,
        "sla_target_pct": k.sla_target_pct,
        "open_outages": k.open_outages,
        "stale": k.stale,
        "problems": k.problems,
    }


def site_json(v: SiteView) -> dict[str, Any]:
    s = v.site
    return {"id": s.id, "name": s.name, "kind": s.kind, "district": s.district, "lat": s.lat,
            "lon": s.lon, "state": v.state, "engine_state": v.engine_state, "open_now": v.open_now,
            "aps": v.aps, "aps_up": v.up, "aps_down": v.down, "aps_unknown": v.unknown,
            "clients": v.clients, "rx_bytes_today": v.usage_today.rx_bytes,
            "tx_bytes_today": v.usage_today.tx_bytes,
            "month_availability_pct": v.month.pct, "month_maintenance_s": v.month.maintenance_s,
            "backhaul_mbps": s.backhaul_mbps}


def outage_json(o: Any, now: datetime) -> dict[str, Any]:
    return {"id": o.id, "ap": o.ap, "site": o.site, "start": iso(o.start), "end": iso(o.end),
            "duration_s": round(duration(o, now), 3), "open": o.end is None, "reason": o.reason,
            "source": o.source}


def ap_rows_json(site: Optional[str] = None) -> list[dict[str, Any]]:
    f = ctx().fleet
    clients = f.clients_now()
    usage = f.usage_today()
    out = []
    for r in f.ap_rows():
        if not scope().allows(r.site) or (site is not None and r.site != site):
            continue
        c = clients.get(r.ap, {}) if r.state == "up" else {}
        u = usage.get(r.ap)
        out.append({"id": r.ap, "site": r.site, "state": r.state, "since": iso(r.since),
                    "last_seen": iso(r.last_seen), "flapping": r.flapping, "reason": r.reason,
                    "clients": c.get("all"), "clients_per_radio": {k: v for k, v in c.items() if k != "all"},
                    "rx_bytes_today": u.rx_bytes if u else 0, "tx_bytes_today": u.tx_bytes if u else 0})
    return out


def site_or_404(site_id: str) -> SiteView:
    views = [v for v in ctx().fleet.site_views(scope()) if v.site.id == site_id]
    if not views:
        abort(404)
    return views[0]


def ap_or_404(ap_id: str) -> Any:
    a = ctx().fleet.ap_cfg.get(ap_id)
    if a is None or not scope().allows(a.site):
        abort(404)
    return a


def series_range():  # type: ignore[no-untyped-def]
    f = ctx().fleet
    try:
        return parse_range(request.args.get("range"), request.args.get("start"), request.args.get("end"),
                           f.clock(), ctx().cfg.tz)
    except ValueError as e:
        raise BadRequest(str(e)) from None


def outage_filter() -> OutageFilter:
    a = request.args
    now = ctx().fleet.clock()
    tz = ctx().cfg.tz

    def when(name: str, default: Optional[datetime], end_of_day: bool = False) -> Optional[datetime]:
        v = a.get(name)
        if not v:
            return default
        try:
            t = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest(f"{name}: not an ISO date or time") from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=tz)
        if len(v) == 10 and end_of_day and t.year < 9999:
            t += timedelta(days=1)
        # the outage log starts well after 1970: clamp far-away dates instead of overflowing
        return min(max(t, EARLIEST), LATEST).astimezone(timezone.utc)

    try:
        min_d = float(a.get("min_duration_s") or 0)
    except ValueError:
        raise BadRequest("min_duration_s: not a number") from None
    if min_d < 0 or min_d != min_d or min_d == float("inf"):
        raise BadRequest("min_duration_s: must be a finite number >= 0")
    state = a.get("state") or None
    if state not in (None, "open", "closed"):
        raise BadRequest("state must be open or closed")
    start = when("start", now - timedelta(days=30))
    end = when("end", None, end_of_day=True)
    return OutageFilter(start=start, end=end, district=a.get("district") or None,
                        kind=a.get("kind") or None, reason=a.get("reason") or None,
                        min_duration_s=min_d, site=a.get("site") or None, ap=a.get("ap") or None,
                        state=state)


def limit_arg(default: int, maximum: int) -> int:
    v = request.args.get("limit")
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise BadRequest("limit: not an integer") from None
    if not 1 <= n <= maximum:
        raise BadRequest(f"limit must be 1..{maximum}")
    return n


def map_json() -> dict[str, Any]:
    views = ctx().fleet.site_views(scope())
    kec = geo.kecamatan()
    per: dict[str, dict[str, Any]] = {a.id: {"id": a.id, "name": a.name, "sites": 0, "sites_up": 0,
                                              "monitored_s": 0.0, "downtime_s": 0.0} for a in kec}
    sites = []
    for v in views:
        area = geo.locate(kec, v.site.lat, v.site.lon)
        d = site_json(v)
        d["kecamatan"] = area.name if area else None
        d["symbol"] = cat.STATE_STYLE[v.state]["symbol"]
        d["colour"] = cat.STATE_STYLE[v.state]["colour"]
        sites.append(d)
        if area is not None:
            p = per[area.id]
            p["sites"] += 1
            p["sites_up"] += 1 if v.engine_state == "up" else 0
            p["monitored_s"] += v.month.monitored_s
            p["downtime_s"] += v.month.downtime_s
    districts = []
    for p in per.values():
        mon = p.pop("monitored_s")
        down = p.pop("downtime_s")
        p["share_up"] = None if not p["sites"] else p["sites_up"] / p["sites"]
        p["month_availability_pct"] = None if mon <= 0 else 100.0 * (mon - down) / mon
        districts.append(p)
    cfg = ctx().cfg
    return {"sites": sites, "districts": districts,
            "boundaries": {"kecamatan": f"/static/geo/{geo.KECAMATAN_FILE}",
                           "kelurahan": f"/static/geo/{geo.KELURAHAN_FILE}"},
            "tile_url": cfg.web.tile_url, "tile_attribution": cfg.web.tile_attribution if cfg.web.tile_url else None,
            "states": {k: {"colour": v["colour"], "symbol": v["symbol"]} for k, v in cat.STATE_STYLE.items()}}


# -- endpoints ------------------------------------------------------------------------------
@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document(request.host_url.rstrip("/")))


@bp.get("/catalogue")
@api()
def catalogue() -> Response:
    return jsonify(cat.as_document(locale_code()))


def kpis_with_alerts() -> dict[str, Any]:
    """The KPIs and the number of alerts firing that the caller may see."""
    from .alerts_api import audience

    return {**kpis_json(ctx().fleet.kpis(scope())), "alerts_firing": ctx().alerts.firing_count(audience())}


@bp.get("/kpis")
@api()
def kpis() -> Response:
    return jsonify(kpis_with_alerts())


@bp.get("/overview")
@api()
def overview() -> Response:
    f = ctx().fleet
    now = f.clock()
    return jsonify({
        "kpis": kpis_with_alerts(),
        "open_outages": [outage_json(o, now) for o in f.open_outages(scope())[:200]],
        "events": [{"at": iso(e.at), "ap": e.ap, "site": e.site, "state": e.state, "reason": e.reason,
                    "duration_s": e.duration_s, "outage_id": e.outage_id} for e in f.events(scope())],
    })


@bp.get("/map")
@api()
def map_data() -> Response:
    return jsonify(map_json())


@bp.get("/sites")
@api()
def sites() -> Response:
    return jsonify({"sites": [site_json(v) for v in ctx().fleet.site_views(scope())]})


@bp.get("/sites/<site_id>")
@api()
def site(site_id: str) -> Response:
    v = site_or_404(site_id)
    d = site_json(v)
    s = v.site
    d["service_hours"] = None if s.service_hours is None else s.service_hours.model_dump()
    d["aps_list"] = ap_rows_json(site_id)
    return jsonify(d)


@bp.get("/sites/<site_id>/series")
@api()
def site_series(site_id: str) -> Response:
    v = site_or_404(site_id)
    r = series_range()
    b = ChartBuilder(ctx().cfg, ctx().store, ctx().fleet, locale_code())
    return jsonify({"site": site_id, "start": iso(r.start), "end": iso(r.end),
                    "every_s": int(r.every.total_seconds()), "timezone": ctx().cfg.timezone,
                    "charts": [c.to_dict() for c in b.site_charts(v.site, r)]})


@bp.get("/aps")
@api()
def aps() -> Response:
    site_id = request.args.get("site") or None
    state = request.args.get("state") or None
    if state not in (None, "up", "down", "unknown"):
        raise BadRequest("state must be up, down or unknown")
    rows = ap_rows_json(site_id)
    if state:
        rows = [r for r in rows if r["state"] == state]
    return jsonify({"aps": rows})


@bp.get("/states")
@api()
def states() -> Response:
    rows = [r for r in ctx().fleet.ap_rows() if scope().allows(r.site)]
    return jsonify({"at": iso(ctx().fleet.clock()),
                    "aps": [{"id": r.ap, "site": r.site, "state": r.state, "since": iso(r.since)} for r in rows],
                    "sites": [{"id": v.site.id, "state": v.state, "engine_state": v.engine_state}
                              for v in ctx().fleet.site_views(scope())]})


def ap_detail(ap_id: str) -> dict[str, Any]:
    a = ap_or_404(ap_id)
    f = ctx().fleet
    row = next((r for r in f.ap_rows() if r.ap == ap_id), None)
    track = f.ap_track(ap_id)
    sources = {}
    if track is not None:
        for name, s in track.sources.items():
            sources[name] = {"last_seen": iso(s.last_seen), "ok": s.ok, "failures": s.failures,
                             "down": s.down, "reason": s.reason}
    polls = []
    for s in ctx().store.latest(cat.AP_STATUS, tags={"ap": ap_id}, since=f.clock() - timedelta(days=30)):
        polls.append({"source": s.tags.get("source"), "at": iso(s.time), "up": s.fields.get("up"),
                      "response_ms": s.fields.get("response_ms"), "reason": s.fields.get("reason"),
                      "uptime_s": s.fields.get("uptime_s")})
    c = f.clients_now().get(ap_id, {})
    return {"id": a.id, "site": a.site, "name": a.label, "host": a.host, "profile": a.profile,
            "mqtt_id": a.mqtt_id, "controller": a.controller, "metrics_from": a.metrics_source,
            "state": row.state if row else "unknown", "since": iso(row.since) if row else None,
            "last_seen": iso(row.last_seen) if row else None, "flapping": bool(row and row.flapping),
            "reason": row.reason if row else None, "sources": sources, "last_polls": polls,
            "clients": c.get("all") if row and row.state == "up" else None,
            "clients_per_radio": {k: v for k, v in c.items() if k != "all"} if row and row.state == "up" else {}}


@bp.get("/aps/<ap_id>")
@api()
def ap(ap_id: str) -> Response:
    return jsonify(ap_detail(ap_id))


@bp.get("/aps/<ap_id>/series")
@api()
def ap_series(ap_id: str) -> Response:
    ap_or_404(ap_id)
    r = series_range()
    b = ChartBuilder(ctx().cfg, ctx().store, ctx().fleet, locale_code())
    return jsonify({"ap": ap_id, "start": iso(r.start), "end": iso(r.end),
                    "every_s": int(r.every.total_seconds()), "timezone": ctx().cfg.timezone,
                    "charts": [c.to_dict() for c in b.ap_charts(ap_id, r)],
                    "reboots": [iso(t) for t in reboots(ctx().store, ap_id, r)]})


@bp.get("/outages")
@api()
def outages() -> Response:
    f = ctx().fleet
    flt = outage_filter()
    limit = limit_arg(500, MAX_OUTAGES)
    rows = f.outages(scope(), flt, limit=limit)
    now = f.clock()
    return jsonify({"outages": [outage_json(o, now) for o in rows], "limit": limit,
                    "truncated": len(rows) >= limit})


@bp.get("/health")
@api("view_health")
def health() -> Response:
    from .health import health_data

    return jsonify(health_data())
