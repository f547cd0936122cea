"""``/api/v1`` alert endpoints: alerts (list, acknowledge), silences (list, add, expire), channels.

They live on the ``api`` blueprint (same prefix, error answers and scope
rules as the rest of the API). A partner sees only alerts about its own
sites and only the rules meant for it, and has no silences or channels.

The POST endpoints accept a bearer token or the dashboard's session. A
token is no ambient credential, a cookie is: so they are exempt from the
form-wide CSRF check and, for a session, check ``X-CSRFToken`` themselves.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from flask import Response, abort, current_app, jsonify, request

from hotspot_monitor.alerts.manager import Alert
from hotspot_monitor.alerts.silences import Silence

from ..alert_board import (MAX_HISTORY_H, SEVERITIES, STATE_FILTERS, AlertBoard, AlertFilter, Audience,
                           ChannelView, SilenceError, SilenceRequest, Suppression, parse_local,
                           silence_state, weekly_window)
from ..app import csrf
from ..auth import api, principal
from ..i18n import locale_code
from .api import BadRequest, bp, iso, limit_arg

MAX_ALERTS = 5000
MAX_SILENCE_S = 366 * 86400.0
MIN_SILENCE_S = 60.0


def board() -> AlertBoard:
    return current_app.extensions["hotspot"].alerts


def audience() -> Audience:
    p = principal()
    return Audience(p.scope, p.can("view_all"))


def check_csrf_for_sessions() -> None:
    if not principal().via_token:
        csrf.protect()


# -- serializers (the pages' live refresh reads the same) -----------------------------------
def alert_json(a: Alert, now: datetime, silences: Optional[dict[int, Silence]] = None) -> dict[str, Any]:
    sup = Suppression.parse(a.suppressed) if a.state == "firing" else None
    muted = None
    if sup is not None:
        s = (silences or {}).get(sup.silence_id) if sup.silence_id is not None else None
        muted = {"reason": sup.reason, "ref": sup.ref, "comment": s.comment if s else None}
    end = a.ends_at or now
    return {
        "id": a.id, "rule": a.rule, "title": board().title(a, locale_code()), "severity": a.severity,
        "state": a.state, "acknowledged": a.acked_at is not None,
        "starts_at": iso(a.starts_at), "fired_at": iso(a.fired_at), "ends_at": iso(a.ends_at),
        "duration_s": round(max(0.0, (end - a.starts_at).total_seconds()), 3),
        "site": a.labels.get("site"), "site_name": a.labels.get("site_name"),
        "district": a.labels.get("district"), "ap": a.labels.get("ap"),
        "labels": {k: str(v) for k, v in a.labels.items()}, "value": a.value, "details": a.details,
        "suppressed": muted, "acked_at": iso(a.acked_at), "acked_by": a.acked_by,
        "ack_comment": a.ack_comment,
    }


def silence_json(s: Silence, now: datetime) -> dict[str, Any]:
    tz = current_app.extensions["hotspot"].cfg.tz
    return {"id": s.id, "kind": s.kind, "matchers": dict(s.matchers), "starts_at": iso(s.starts_at),
            "ends_at": iso(s.ends_at), "weekly": s.weekly.to_dict() if s.weekly else None,
            "author": s.author, "comment": s.comment, "created_at": iso(s.created_at),
            "expired_at": iso(s.expired_at), "state": silence_state(s, now, tz), "from_config": s.id < 0}


def channel_json(c: ChannelView) -> dict[str, Any]:
    st = c.state
    return {"id": c.id, "type": c.type, "language": c.language, "send_resolved": c.send_resolved,
            "target": c.target, "flagged": c.flagged, "flagged_at": iso(st.flagged_at) if st else None,
            "reason": st.reason if st and st.flagged else None, "last_ok_at": iso(st.last_ok_at) if st else None,
            "attempts": [{"outbox_id": a.outbox_id, "at": iso(a.at), "attempt": a.attempt, "result": a.result,
                          "error": a.error, "duration_ms": round(a.duration_ms, 1)} for a in c.attempts]}


def counts_json(counts: Any) -> dict[str, int]:
    return {"firing": counts.firing, "acknowledged": counts.acknowledged, "pending": counts.pending,
            "muted": counts.muted}


# -- parsing -------------------------------------------------------------------------------
def alert_filter(args: Any, default_limit: int = 500, default_state: str = "active") -> AlertFilter:
    state = args.get("state") or default_state
    if state not in STATE_FILTERS:
        raise BadRequest(f"state must be one of {', '.join(STATE_FILTERS)}")
    severity = args.get("severity") or None
    if severity not in (None, *SEVERITIES):
        raise BadRequest(f"severity must be one of {', '.join(SEVERITIES)}")
    try:
        hours = float(args.get("hours") or 24)
    except ValueError:
        raise BadRequest("hours: not a number") from None
    if not 0 < hours <= MAX_HISTORY_H:
        raise BadRequest(f"hours must be more than 0 and at most {MAX_HISTORY_H}")
    return AlertFilter(state=state, severity=severity, rule=args.get("rule") or None,
                       district=args.get("district") or None, site=args.get("site") or None,
                       hours=hours, limit=limit_arg(default_limit, MAX_ALERTS))


def _int_id(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        abort(404)
    return n


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("send a JSON object (Content-Type: application/json)")
    return data


def _string(data: dict[str, Any], key: str) -> Optional[str]:
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise BadRequest(f"{key}: must be a string")
    return v


def _when(data: dict[str, Any], key: str) -> Optional[datetime]:
    v = _string(data, key)
    if v is None:
        return None
    try:
        return parse_local(v, current_app.extensions["hotspot"].cfg.tz)
    except (ValueError, OverflowError):
        raise BadRequest(f"{key}: not an ISO 8601 date-time") from None


def silence_request(data: dict[str, Any], now: datetime) -> SilenceRequest:
    kind = data.get("kind", "silence")
    if kind not in ("silence", "maintenance"):
        raise BadRequest("kind must be silence or maintenance")
    matchers = {k: v for k in ("ap", "site", "district", "rule") if (v := _string(data, k))}
    comment = _string(data, "comment") or ""
    start = _when(data, "starts_at") or now
    end = _when(data, "ends_at")
    duration = data.get("duration_s")
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) \
                or not MIN_SILENCE_S <= duration <= MAX_SILENCE_S:
            raise BadRequest(f"duration_s must be a number from {MIN_SILENCE_S:.0f} to {MAX_SILENCE_S:.0f}")
        if end is not None:
            raise BadRequest("give ends_at or duration_s, not both")
        try:
            end = start + timedelta(seconds=float(duration))
        except OverflowError:
            raise BadRequest("starts_at + duration_s is beyond the year 9999") from None
    weekly = None
    w = data.get("weekly")
    if w is not None:
        if not isinstance(w, dict):
            raise BadRequest("weekly: an object {days, from, to}")
        try:
            weekly = weekly_window(list(w.get("days") or []), str(w.get("from", "00:00")), str(w.get("to", "24:00")))
        except ValueError as e:
            raise BadRequest(f"weekly: {str(e).splitlines()[0]}") from None
    elif end is None:
        raise BadRequest("a one-off silence needs ends_at or duration_s")
    return SilenceRequest(kind, matchers, start, end, weekly, comment)


# -- endpoints -------------------------------------------------------------------------------
@bp.get("/alerts")
@api()
def alerts() -> Response:
    f = alert_filter(request.args)
    b = board()
    got = b.alerts(audience(), f)
    now = b.clock()
    silences = {s.id: s for s in b.silences.all()} if principal().can("view_alert_setup") else {}
    return jsonify({"alerts": [alert_json(a, now, silences) for a in got.alerts],
                    "counts": counts_json(got.counts), "limit": f.limit, "truncated": got.truncated})


@bp.post("/alerts/<alert_id>/ack")
@csrf.exempt
@api("manage_alerts")
def acknowledge(alert_id: str) -> Response:
    check_csrf_for_sessions()
    n = _int_id(alert_id)
    comment = _string(_body(), "comment")
    if comment is None or not comment.strip():
        raise BadRequest("comment: required (what is being done)")
    if len(comment) > 2000:
        raise BadRequest("comment: at most 2000 characters")
    b = board()
    if b.alert(audience(), n) is None:
        abort(404)
    if not b.acknowledge(n, by=principal().user.username, comment=comment):
        return jsonify(error="conflict", message="the alert is not firing, or already acknowledged"), 409
    return jsonify({"alert": alert_json(b.alert(audience(), n), b.clock())})


@bp.get("/silences")
@api("view_alert_setup")
def silences() -> Response:
    state = request.args.get("state") or "current"
    if state not in ("current", "all"):
        raise BadRequest("state must be current or all")
    b = board()
    now = b.clock()
    rows = b.silence_list(include_ended=state == "all")
    return jsonify({"silences": [silence_json(s, now) for s in rows]})


@bp.post("/silences")
@csrf.exempt
@api("manage_alerts")
def add_silence() -> Response:
    check_csrf_for_sessions()
    b = board()
    now = b.clock()
    req = silence_request(_body(), now)
    try:
        sid = b.add_silence(req, author=principal().user.username)
    except SilenceError as e:
        raise BadRequest(str(e)) from None
    return jsonify({"silence": silence_json(b.silence(sid), now)}), 201


@bp.post("/silences/<silence_id>/expire")
@csrf.exempt
@api("manage_alerts")
def expire_silence(silence_id: str) -> Response:
    check_csrf_for_sessions()
    n = _int_id(silence_id)
    b = board()
    s = b.silence(n)
    if s is None:
        abort(404)
    if not b.expire_silence(n):
        why = "declared in the config: change the config" if n < 0 else "already over"
        return jsonify(error="conflict", message=f"silence {n} cannot be expired: {why}"), 409
    return jsonify({"silence": silence_json(b.silence(n), b.clock())})


@bp.get("/channels")
@api("view_alert_setup")
def channels() -> Response:
    return jsonify({"channels": [channel_json(c) for c in board().channels()]})
