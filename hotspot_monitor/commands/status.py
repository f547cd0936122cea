"""status: APs and sites as the status engine last saved them, with clients."""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

from . import load_or_report
from ..runner import ServicePaths
from ..alerts.silences import SilenceStore
from ..status.availability import availability_by_site
from ..status.engine import StatusEngine
from ..status.statestore import StateStore
from ..stores.base import StoreError
from ..stores.factory import open_store


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")
    p.add_argument("--json", action="store_true", help="one JSON document instead of tables")
    p.add_argument("--base-dir", type=Path, default=None,
                   help="directory that relative paths in the config are taken from (default: cwd)")
    p.add_argument("--outages", type=int, default=10, metavar="N",
                   help="how many recent outages to list (default 10)")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="whose runtime file to show when run is sharded (overrides collector.shard)")


def collect(cfg, base_dir: Path, recent: int = 10, shard: Optional[str] = None) -> dict[str, Any]:
    """Everything ``status`` shows, as plain data (also the --json output).

    ``shard`` (``i/n``) picks that shard's runtime file; AP and site states are
    always the whole fleet's (every shard writes to the same state store)."""
    if shard is not None:
        cfg = cfg.model_copy(update={"collector": cfg.collector.model_copy(update={"shard": shard})})
    states = StateStore.from_config(cfg, base_dir)
    now = datetime.now(timezone.utc)
    month_start = now.astimezone(cfg.tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    try:
        snap = StatusEngine(cfg, states).snapshot()
        open_outages = states.outages(open_only=True)
        closed = [o for o in states.outages(start=now - timedelta(days=31)) if o.end is not None]
        planned = SilenceStore(states.engine, cfg, cfg.alerts).maintenance_windows(month_start, now)
        month = availability_by_site(states, cfg, start=month_start, end=now, maintenance=planned)
        shards = _shards(cfg, states, now)
    finally:
        states.close()
    clients: dict[str, int] = {}
    store_error: Optional[str] = None
    try:
        with open_store(cfg.store, base_dir) as store:
            for s in store.latest("ap_clients", tags={"radio": "all"},
                                  since=datetime.now(timezone.utc) - timedelta(hours=1)):
                clients[s.tags.get("ap", "")] = s.fields.get("clients")
    except StoreError as e:
        store_error = str(e)
    runtime_path = ServicePaths(base_dir).runtime_file(cfg)
    runtime = None
    if runtime_path.exists():
        try:
            runtime = json.loads(runtime_path.read_text())
        except (OSError, ValueError):
            runtime = None
    names = {s.id: s.name for s in cfg.sites}
    return {
        "aps": [{"site": r.site, "ap": r.ap, "state": r.state, "since": _iso(r.since),
                 "last_seen": _iso(r.last_seen), "clients": clients.get(r.ap),
                 "flapping": r.flapping, "reason": r.reason} for r in snap.aps],
        "sites": [{"site": s.site, "name": names.get(s.site), "state": s.state, "aps": s.aps,
                   "up": s.up, "down": s.down, "unknown": s.unknown,
                   "availability_month_pct": month[s.site].availability_pct if s.site in month else None}
                  for s in snap.sites],
        "month_start": _iso(month_start),
        "open_outages": [_outage(o) for o in open_outages],
        "recent_outages": [_outage(o) for o in closed[-recent:]] if recent else [],
        "service": runtime,
        "mqtt_unknown_aps": (runtime or {}).get("mqtt_unknown_aps", {}),
        "shards": shards,
        "store_error": store_error,
    }


def _shards(cfg, states: StateStore, now: datetime) -> list[dict[str, Any]]:
    """Every shard's heartbeat (docs/scaling.md); ``alive`` by ``collector.shard_timeout_s``."""
    from ..cluster.heartbeats import Heartbeats

    return [{"shard": h.shard, "host": h.host, "pid": h.pid, "aps": h.aps, "leader": h.leader,
             "alive": h.alive(now, cfg.collector.shard_timeout_s), "last_seen": _iso(h.last_seen),
             "started": _iso(h.started), "stopped": _iso(h.stopped)}
            for h in Heartbeats(states.engine).all()]


def _outage(o) -> dict[str, Any]:
    return {"ap": o.ap, "site": o.site, "start": _iso(o.start), "end": _iso(o.end),
            "duration_s": o.duration_s, "reason": o.reason, "source": o.source}


def _iso(t: Optional[datetime]) -> Optional[str]:
    return None if t is None else t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def main(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    data = collect(cfg, (args.base_dir or Path.cwd()).resolve(), args.outages, args.shard)
    if args.json:
        print(json.dumps(data, indent=1, ensure_ascii=False))
        return 0
    print(render(data, cfg.tz))
    return 0


def render(data: dict[str, Any], tz) -> str:
    def local(s: Optional[str]) -> str:
        if not s:
            return "-"
        return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")

    def dur(s: Optional[float]) -> str:
        if s is None:
            return "open"
        s = int(round(s))
        return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"

    def pct(p: Optional[float]) -> str:
        return "-" if p is None else f"{p:.3f} %"

    out = [_table(["SITE", "AP", "STATE", "SINCE", "LAST SEEN", "CLIENTS", "FLAPPING", "REASON"],
                  [[a["site"], a["ap"], a["state"], local(a["since"]), local(a["last_seen"]),
                    "-" if a["clients"] is None or a["state"] != "up" else str(a["clients"]),
                    "yes" if a["flapping"] else "", a["reason"] or ""] for a in data["aps"]])]
    out.append("")
    out.append(_table(["SITE", "NAME", "STATE", "APS", "UP", "DOWN", "UNKNOWN", "AVAILABILITY (MONTH)"],
                      [[s["site"], s["name"] or "", s["state"], str(s["aps"]), str(s["up"]),
                        str(s["down"]), str(s["unknown"]), pct(s["availability_month_pct"])]
                       for s in data["sites"]]))
    if data["open_outages"] or data["recent_outages"]:
        out.append("")
        out.append(_table(["OUTAGE AP", "SITE", "START", "END", "DURATION", "REASON"],
                          [[o["ap"], o["site"], local(o["start"]), local(o["end"]),
                            dur(o["duration_s"]), o["reason"]]
                           for o in data["recent_outages"] + data["open_outages"]]))
    out.append("")
    svc = data["service"]
    if svc:
        w = svc.get("writer", {})
        state = "stopped" if svc.get("stopped") else f"pid {svc.get('pid')}"
        store = "ok" if w.get("store_ok") else "DOWN, buffering"
        out.append(f"service {state}, last update {local(svc.get('updated'))} ({tz}); store {store}; "
                   f"{w.get('pending', 0)} samples waiting, {w.get('rejected', 0)} refused by the store")
        if svc.get("health"):
            out.append("HEALTH: " + ", ".join(svc["health"]) + f" ({w.get('dropped', 0)} samples dropped "
                       f"by the spool cap, spool {w.get('spool_bytes', 0) / 1e6:.1f} of "
                       f"{w.get('spool_max_bytes', 0) / 1e6:.0f} MB)")
        rnd = svc.get("snmp_round")
        if rnd:
            failed = ", ".join(f"{k} {v}" for k, v in rnd.get("failures", {}).items()) or "none failed"
            out.append(f"last SNMP round: {rnd.get('devices')} devices in {rnd.get('seconds')} s "
                       f"({rnd.get('cpu_s')} s CPU), {failed}, finished {local(rnd.get('finished'))}")
    else:
        out.append("service: no runtime file (not started here?)")
    if len(data["shards"]) > 1:
        out.append("shards: " + ", ".join(
            f"{h['shard']} {'up' if h['alive'] else 'DOWN'}{' (leader)' if h['leader'] and h['alive'] else ''}"
            f" {h['aps']} APs on {h['host']} pid {h['pid']}" for h in data["shards"]))
    if data["mqtt_unknown_aps"]:
        out.append("MQTT devices not in the inventory: " + ", ".join(sorted(data["mqtt_unknown_aps"])))
    if data["store_error"]:
        out.append(f"metric store: {data['store_error']}")
    return "\n".join(out)


def _table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [head, *rows])
