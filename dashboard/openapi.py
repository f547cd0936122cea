"""The OpenAPI 3 document of /api/v1 (served at /api/v1/openapi.json).

Written as data next to the endpoints it describes; schemathesis checks the
live app against it in the tests, so a drift between the two fails a test.
"""
from __future__ import annotations

from typing import Any

from hotspot_monitor import catalogue as cat

NUM = {"type": "number"}
INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}


def nullable(s: dict[str, Any]) -> dict[str, Any]:
    return {**s, "nullable": True}


def obj(props: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"type": "object", "properties": props, **({"required": list(props)} if required else {})}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def alert_schemas() -> dict[str, Any]:
    from hotspot_monitor.alerts.rules import DEFAULTS
    from hotspot_monitor.config.models import WEEKDAYS

    start = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
    end = {"type": "string", "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"}
    text = {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "\\S"}
    return {
        "Alert": obj({
            "id": INT, "rule": STR, "title": STR,
            "severity": {"type": "string", "enum": ["critical", "warning", "info"]},
            "state": {"type": "string", "enum": ["pending", "firing", "resolved"]}, "acknowledged": BOOL,
            "starts_at": TIME, "fired_at": nullable(TIME), "ends_at": nullable(TIME), "duration_s": NUM,
            "site": nullable(STR), "site_name": nullable(STR), "district": nullable(STR), "ap": nullable(STR),
            "labels": {"type": "object", "additionalProperties": STR}, "value": nullable(NUM),
            "details": {"type": "object"},
            "suppressed": nullable(obj({
                "reason": {"type": "string", "enum": ["silence", "maintenance", "inhibited",
                                                      "outside_service_hours"]},
                "ref": nullable(STR), "comment": nullable(STR)})),
            "acked_at": nullable(TIME), "acked_by": nullable(STR), "ack_comment": nullable(STR),
        }),
        "AlertCounts": obj({"firing": INT, "acknowledged": INT, "pending": INT, "muted": INT}),
        "AckRequest": obj({"comment": text}),
        "Weekly": obj({"days": {"type": "array", "minItems": 1,
                                "items": {"type": "string", "enum": list(WEEKDAYS)}},
                       "from": start, "to": end}),
        "Silence": obj({
            "id": INT, "kind": {"type": "string", "enum": ["silence", "maintenance"]},
            "matchers": {"type": "object", "properties": {"ap": STR, "site": STR, "district": STR, "rule": STR},
                         "additionalProperties": False},
            "starts_at": TIME, "ends_at": TIME, "weekly": nullable(ref("Weekly")), "author": STR,
            "comment": STR, "created_at": TIME, "expired_at": nullable(TIME),
            "state": {"type": "string", "enum": ["active", "waiting", "scheduled", "ended"]},
            "from_config": BOOL,
        }),
        "SilenceRequest": {
            "type": "object", "required": ["comment"],
            "description": "what to mute (all given must match; none: everything) and when: a one-off "
                           "window needs ends_at or duration_s; a weekly one recurs until ends_at (one year)",
            "properties": {
                "kind": {"type": "string", "enum": ["silence", "maintenance"], "default": "silence"},
                "ap": STR, "site": STR, "district": STR,
                "rule": {"type": "string", "enum": list(DEFAULTS)},
                "starts_at": {**TIME, "description": "default now; a naive time is local"},
                "ends_at": TIME,
                "duration_s": {"type": "number", "minimum": 60, "maximum": 366 * 86400},
                "weekly": ref("Weekly"),
                "comment": text,
            }},
        "Attempt": obj({"outbox_id": INT, "at": TIME, "attempt": INT,
                        "result": {"type": "string", "enum": ["ok", "temporary", "permanent"]},
                        "error": nullable(STR), "duration_ms": NUM}),
        "Channel": obj({
            "id": STR, "type": STR, "language": STR, "send_resolved": BOOL,
            "target": {"type": "object", "additionalProperties": STR}, "flagged": BOOL,
            "flagged_at": nullable(TIME), "reason": nullable(STR), "last_ok_at": nullable(TIME),
            "attempts": arr(ref("Attempt")),
        }),
    }


STATES = ["up", "degraded", "down", "unknown", "closed"]
SCHEMAS: dict[str, Any] = {
    "Error": obj({"error": STR, "message": STR}),
    "Kpis": obj({
        "at": TIME,
        "aps": obj({"up": INT, "down": INT, "unknown": INT}),
        "sites": obj({"up": INT, "degraded": INT, "down": INT, "closed": INT, "unknown": INT}),
        "clients_now": INT,
        "traffic_today": obj({"rx_bytes": INT, "tx_bytes": INT}),
        "month_availability_pct": nullable(NUM),
        "sla_target_pct": NUM,
        "open_outages": INT,
        "alerts_firing": INT,
        "stale": BOOL,
        "problems": arr({"type": "string", "enum": ["no_runtime", "service_stopped", "service_silent",
                                                    "store_down", "spool_full", "no_observations"]}),
    }),
    "Site": obj({
        "id": STR, "name": STR, "kind": STR, "district": nullable(STR), "lat": NUM, "lon": NUM,
        "state": {"type": "string", "enum": STATES},
        "engine_state": {"type": "string", "enum": ["up", "degraded", "down", "unknown"]},
        "open_now": BOOL, "aps": INT, "aps_up": INT, "aps_down": INT, "aps_unknown": INT,
        "clients": nullable(INT), "rx_bytes_today": INT, "tx_bytes_today": INT,
        "month_availability_pct": nullable(NUM), "month_maintenance_s": nullable(NUM),
        "backhaul_mbps": nullable(NUM),
    }),
    "Ap": obj({
        "id": STR, "site": STR, "state": {"type": "string", "enum": ["up", "down", "unknown"]},
        "since": nullable(TIME), "last_seen": nullable(TIME), "flapping": BOOL, "reason": nullable(STR),
        "clients": nullable(INT), "clients_per_radio": {"type": "object", "additionalProperties": INT},
        "rx_bytes_today": INT, "tx_bytes_today": INT,
    }),
    "Outage": obj({
        "id": INT, "ap": STR, "site": STR, "start": TIME, "end": nullable(TIME), "duration_s": NUM,
        "open": BOOL, "reason": STR, "source": STR,
    }),
    "Event": obj({
        "at": TIME, "ap": STR, "site": STR, "state": {"type": "string", "enum": ["up", "down"]},
        "reason": STR, "duration_s": nullable(NUM), "outage_id": INT,
    }),
    "Trace": obj({
        "name": STR, "x": arr({}), "y": arr({}),
        "kind": {"type": "string", "enum": ["line", "step", "stacked", "bar", "timeline"]},
        "colour": STR, "base": nullable(arr({})), "text": nullable(arr(STR)),
    }),
    "Chart": obj({
        "id": STR, "title": STR, "unit": STR, "traces": arr(ref("Trace")), "threshold": nullable(NUM),
        "threshold_label": nullable(STR), "y_range": nullable(arr(NUM)),
        "x_type": {"type": "string", "enum": ["date", "category"]}, "points": INT,
    }),
}
SCHEMAS.update(alert_schemas())
SCHEMAS["SiteDetail"] = {"allOf": [ref("Site"), obj({
    "service_hours": nullable({"type": "object", "additionalProperties": nullable(STR)}),
    "aps_list": arr(ref("Ap"))})]}
SCHEMAS["SeriesBase"] = obj({"start": TIME, "end": TIME, "every_s": INT, "timezone": STR,
                             "charts": arr(ref("Chart"))})


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "bad query parameters", 401: "no session and no valid bearer token",
            403: "the caller's role lacks the permission", 404: "unknown, or outside the caller's scope",
            409: "not possible in the current state"}
    return {str(c): {"description": text[c],
                     "content": {"application/json": {"schema": ref("Error")}}} for c in codes}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _p(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STR}


RANGE_PARAMS = [
    _q("range", {"type": "string", "enum": ["24h", "7d", "30d"]}, "a preset range (default 24h)"),
    _q("start", {"type": "string", "format": "date-time"}, "custom range start (ISO; local zone if naive)"),
    _q("end", {"type": "string", "format": "date-time"}, "custom range end"),
]


def _get(summary: str, schema: dict[str, Any], params: list[dict[str, Any]] = (), errors=(401,),
         public: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "parameters": list(params),
                          "responses": {**_ok(schema), **_errors(*errors)}}
    if public:
        op["security"] = []
    return {"get": op}


def _post(summary: str, body: dict[str, Any], schema: dict[str, Any], status: int = 200,
          errors=(400, 401, 403, 404)) -> dict[str, Any]:
    return {"post": {"summary": summary, "parameters": [],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                     "responses": {str(status): {"description": "OK", "content": {
                         "application/json": {"schema": schema}}}, **_errors(*errors)}}}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def alert_paths() -> dict[str, Any]:
    """Alerts, acknowledgements, silences and channels (dashboard/blueprints/alerts_api.py)."""
    from .alert_board import MAX_HISTORY_H, STATE_FILTERS

    return {
        "/api/v1/alerts": _get("Alerts in the caller's scope: firing, pending, acknowledged, recently "
                               "resolved (a partner: its sites' site_down and missing_device only)", obj({
            "alerts": arr(ref("Alert")), "counts": ref("AlertCounts"), "limit": INT, "truncated": BOOL}), [
            _q("state", {"type": "string", "enum": list(STATE_FILTERS)},
               "active (default: pending and firing), firing, acknowledged, pending, resolved, all"),
            _q("severity", {"type": "string", "enum": ["critical", "warning", "info"]}, "only this severity"),
            _q("rule", STR, "only this rule"), _q("district", STR, "only this district"),
            _q("site", STR, "only this site"),
            _q("hours", {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": MAX_HISTORY_H},
               "resolved alerts that ended within this many hours (24)"),
            _q("limit", {"type": "integer", "minimum": 1, "maximum": 5000}, "at most this many (500)")],
            errors=(400, 401)),
        "/api/v1/alerts/{alert_id}/ack": {"parameters": [_id("alert_id")], **_post(
            "Acknowledge a firing alert (no more repeats, no escalation); needs manage_alerts, and "
            "X-CSRFToken with a session", ref("AckRequest"), obj({"alert": ref("Alert")}),
            errors=(400, 401, 403, 404, 409))},
        "/api/v1/silences": {
            **_get("Silences and maintenance windows (current, or all with the last 30 days' ended ones)",
                   obj({"silences": arr(ref("Silence"))}),
                   [_q("state", {"type": "string", "enum": ["current", "all"]}, "current (default) or all")],
                   errors=(400, 401, 403)),
            **_post("Add a silence or a maintenance window (author: the caller); needs manage_alerts",
                    ref("SilenceRequest"), obj({"silence": ref("Silence")}), status=201,
                    errors=(400, 401, 403))},
        "/api/v1/silences/{silence_id}/expire": {"parameters": [_id("silence_id")], **_post(
            "End a silence now; needs manage_alerts", {"type": "object"}, obj({"silence": ref("Silence")}),
            errors=(400, 401, 403, 404, 409))},
        "/api/v1/channels": _get("Alert channels: type, where (no secrets), flagged state, last attempts",
                                 obj({"channels": arr(ref("Channel"))}), errors=(401, 403)),
    }


def document(server: str = "") -> dict[str, Any]:
    measurements = [m.name for m in cat.CATALOGUE.values()]
    paths = {
        "/api/v1/kpis": _get("Fleet KPIs in the caller's scope", ref("Kpis")),
        "/api/v1/overview": _get("KPIs, open outages and latest events", obj({
            "kpis": ref("Kpis"), "open_outages": arr(ref("Outage")), "events": arr(ref("Event"))})),
        "/api/v1/map": _get("Sites with state and clients; districts with share of sites up", obj({
            "sites": arr({"type": "object"}), "districts": arr({"type": "object"}),
            "boundaries": obj({"kecamatan": STR, "kelurahan": STR}), "tile_url": nullable(STR),
            "tile_attribution": nullable(STR), "states": {"type": "object"}})),
        "/api/v1/sites": _get("Sites", obj({"sites": arr(ref("Site"))})),
        "/api/v1/sites/{site_id}": {"parameters": [_p("site_id")],
                                    **_get("One site and its APs", ref("SiteDetail"), errors=(401, 404))},
        "/api/v1/sites/{site_id}/series": {"parameters": [_p("site_id")], **_get(
            "Charts of one site: clients per radio, uplink traffic and utilisation, availability per "
            "day, outage timeline", {"allOf": [ref("SeriesBase"), obj({"site": STR})]},
            RANGE_PARAMS, errors=(400, 401, 404))},
        "/api/v1/aps": _get("APs", obj({"aps": arr(ref("Ap"))}), [
            _q("site", STR, "only this site"),
            _q("state", {"type": "string", "enum": ["up", "down", "unknown"]}, "only this state")],
            errors=(400, 401)),
        "/api/v1/aps/{ap_id}": {"parameters": [_p("ap_id")], **_get("One AP: state, sources, last polls", {
            "type": "object", "required": ["id", "site", "state", "sources", "last_polls"],
            "properties": {"id": STR, "site": STR, "state": STR, "sources": {"type": "object"},
                           "last_polls": arr({"type": "object"})}}, errors=(401, 404))},
        "/api/v1/aps/{ap_id}/series": {"parameters": [_p("ap_id")], **_get(
            "Charts of one AP: state per source, clients, traffic per interface, system, uptime, outages",
            {"allOf": [ref("SeriesBase"), obj({"ap": STR, "reboots": arr(TIME)})]},
            RANGE_PARAMS, errors=(400, 401, 404))},
        "/api/v1/states": _get("State of every AP and site", obj({
            "at": TIME, "aps": arr(obj({"id": STR, "site": STR, "state": STR, "since": nullable(TIME)})),
            "sites": arr(obj({"id": STR, "state": STR, "engine_state": STR}))})),
        "/api/v1/outages": _get("Outages overlapping a range (default: the last 30 days), newest first",
                                obj({"outages": arr(ref("Outage")), "limit": INT, "truncated": BOOL}), [
            _q("state", {"type": "string", "enum": ["open", "closed"]}, "open or closed only"),
            _q("start", {"type": "string", "format": "date-time"}, "range start"),
            _q("end", {"type": "string", "format": "date-time"}, "range end"),
            _q("district", STR, "site district"), _q("kind", STR, "site kind"),
            _q("reason", STR, "outage reason"), _q("site", STR, "site id"), _q("ap", STR, "AP id"),
            _q("min_duration_s", {"type": "number", "minimum": 0}, "only outages at least this long"),
            _q("limit", {"type": "integer", "minimum": 1, "maximum": 5000}, "at most this many (500)")],
            errors=(400, 401)),
        "/api/v1/health": _get("The monitor's own health (runtime.json, spool, dead letters)",
                               {"type": "object"}, errors=(401, 403)),
        "/api/v1/catalogue": _get("The measurement catalogue: units, labels, charts, thresholds",
                                  obj({"measurements": arr(obj({
                                      "name": {"type": "string", "enum": measurements}, "label": STR,
                                      "tags": arr(STR), "fields": arr({"type": "object"})})),
                                      "derived": arr({"type": "object"})})),
    }
    paths.update(alert_paths())
    paths["/api/v1/reports"] = _get(
        "Monthly reports the caller may download (its partner's, or every partner's and the city's), the "
        "past months, and the e-mail deliveries; download a file at /reports/{scope}/{month}.{format} "
        "with a session", obj({
            "scopes": arr(obj({"id": STR, "name": STR})), "months": arr({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}),
            "formats": arr({"type": "string", "enum": ["csv", "xlsx", "html", "pdf"]}), "download": STR,
            "deliveries": arr(obj({"partner": STR, "month": STR,
                                   "state": {"type": "string", "enum": ["pending", "claimed", "sent", "retry",
                                                                        "failed"]},
                                   "attempts": INT, "sent_at": nullable(TIME), "last_error": nullable(STR)}))}))
    return {
        "openapi": "3.0.3",
        "info": {"title": "hotspot-monitor API", "version": "1",
                 "description": "JSON for the city's public Wi-Fi: every answer is limited to the "
                                "caller's scope (a partner sees its own sites only). Everything is "
                                "read-only except acknowledging alerts and silences (POST)."},
        "servers": [{"url": server or "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "an API token (hotspot-monitor user token ...)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "hotspot_session"},
            },
        },
    }
