"""Service health: is the monitor itself working? ("the APs are fine" vs "the monitor is blind")."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from flask import Blueprint, current_app, render_template

from hotspot_monitor.runner import ServicePaths

from ..auth import page

bp = Blueprint("health", __name__)


def _files(d: Path, pattern: str) -> dict[str, Any]:
    files = sorted(d.glob(pattern)) if d.is_dir() else []
    size = 0
    for f in files:
        try:
            size += f.stat().st_size
        except OSError:
            pass
    return {"files": len(files), "bytes": size}


def _lines(path: Path, cap: int = 1_000_000) -> Optional[int]:
    """Lines in a file (dead letters are one JSON object per line), counted up to ``cap``."""
    if not path.exists():
        return 0
    n = 0
    try:
        with path.open("rb") as f:
            for _ in f:
                n += 1
                if n >= cap:
                    break
    except OSError:
        return None
    return n


def _iso(t: Optional[datetime]) -> Optional[str]:
    return None if t is None else t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def health_data() -> dict[str, Any]:
    d = current_app.extensions["hotspot"]
    cfg, fleet = d.cfg, d.fleet
    rt = fleet.runtime() or {}
    state_dir = ServicePaths(d.base_dir).state_dir(cfg)
    spool = state_dir / "spool"
    fresh = fleet.freshness()
    writer = rt.get("writer") or {}
    mqtt = rt.get("mqtt") or {}
    snmp = rt.get("snmp") or {}
    mqtt_rejects = {k: v for k, v in mqtt.items()
                    if k not in ("received", "samples", "rejected", "ignored") and isinstance(v, (int, float))}
    snmp_round = rt.get("snmp_round")
    return {
        "freshness": {"stale": fresh.stale, "problems": fresh.problems,
                      "runtime_updated": _iso(fresh.runtime_updated),
                      "last_observation": _iso(fresh.last_observation)},
        "service": {"running": bool(rt) and not rt.get("stopped") and "service_silent" not in fresh.problems,
                    "pid": rt.get("pid"), "started": rt.get("started"), "updated": rt.get("updated"),
                    "stopped": bool(rt.get("stopped"))},
        "snmp_round": snmp_round if isinstance(snmp_round, dict) else None,
        "snmp": {k: v for k, v in snmp.items() if isinstance(v, (int, float))},
        "mqtt": {"received": mqtt.get("received"), "samples": mqtt.get("samples"),
                 "rejected": mqtt.get("rejected"), "rejects_by_reason": mqtt_rejects,
                 "unknown_devices": len(rt.get("mqtt_unknown_aps") or {})},
        "dead_letters": {"messages": _lines(state_dir / "mqtt-dead-letters.jsonl")},
        "spool": {**_files(spool, "*.jsonl"), "pending_samples": writer.get("pending"),
                  "bytes": writer.get("spool_bytes"), "max_bytes": writer.get("spool_max_bytes"),
                  "full": writer.get("spool_full"), "dropped_samples": writer.get("dropped")},
        "health": rt.get("health") or [],
        "rejected_samples": {"samples": writer.get("rejected"), **_files(spool, "rejected-*.jsonl")},
        "store": {"kind": cfg.store.kind, "ok": writer.get("store_ok"), "written": writer.get("written"),
                  "last_error": writer.get("last_error"),
                  "last_write": writer.get("last_ok") or writer.get("last_write"),
                  "newest_observation": _iso(fresh.last_observation)},
        "engine": {k: v for k, v in (rt.get("engine") or {}).items() if isinstance(v, (int, float))},
    }


@bp.get("/health")
@page("view_health")
def health():  # type: ignore[no-untyped-def]
    return render_template("health.html", h=health_data())
