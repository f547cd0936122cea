"""alerts FILE: alerts firing, pending and recently resolved; acknowledge one.

Reads the state store the running service writes (another process is fine:
SQLite WAL or PostgreSQL). ``--ack ID --by NAME --comment TEXT`` stops
repeats and escalation for that alert.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import load_or_report


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")
    p.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    p.add_argument("--history", type=float, default=24.0, metavar="HOURS",
                   help="also list alerts resolved in the last HOURS (default 24)")
    p.add_argument("--ack", type=int, metavar="ID", help="acknowledge the firing alert ID")
    p.add_argument("--by", default=None, help="who acknowledges (with --ack)")
    p.add_argument("--comment", default="", help="why (with --ack)")
    p.add_argument("--base-dir", type=Path, default=None,
                   help="directory that relative paths in the config are taken from (default: cwd)")


def main(args: argparse.Namespace) -> int:
    from ..alerts.manager import AlertManager
    from ..status.statestore import StateStore

    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    states = StateStore.from_config(cfg, args.base_dir or Path.cwd())
    now = datetime.now(timezone.utc)
    try:
        mgr = AlertManager(cfg, cfg.alerts, states.engine)
        if args.ack is not None:
            if not args.by:
                print("--ack needs --by NAME", file=sys.stderr)
                return 2
            if not mgr.ack(args.ack, by=args.by, comment=args.comment, now=now):
                print(f"alert {args.ack} is not firing (or already acknowledged)", file=sys.stderr)
                return 1
            print(f"alert {args.ack} acknowledged by {args.by}")
            return 0
        alerts = mgr.alerts(states=("pending", "firing", "resolved"),
                            since=now - timedelta(hours=args.history))
    finally:
        states.close()
    rows = [{"id": a.id, "rule": a.rule, "severity": a.severity, "state": a.state,
             "suppressed": a.suppressed, "labels": a.labels, "value": a.value,
             "starts_at": a.starts_at.isoformat(), "fired_at": a.fired_at.isoformat() if a.fired_at else None,
             "ends_at": a.ends_at.isoformat() if a.ends_at else None,
             "acked_by": a.acked_by, "ack_comment": a.ack_comment} for a in alerts]
    if args.json:
        print(json.dumps({"alerts": rows}, indent=1))
        return 0
    if not rows:
        print("no alerts")
        return 0
    tz = cfg.tz
    print(f"{'ID':>5}  {'STATE':<9} {'SEVERITY':<9} {'RULE':<17} {'WHERE':<28} {'SINCE':<17} NOTE")
    for a in alerts:
        where = a.labels.get("ap") or a.labels.get("site") or a.labels.get("controller") \
            or a.labels.get("reason", "")
        note = a.suppressed or (f"ack {a.acked_by}" if a.acked_by else "")
        since = a.starts_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        print(f"{a.id:>5}  {a.state:<9} {a.severity:<9} {a.rule:<17} {where[:28]:<28} {since:<17} {note}")
    return 0
