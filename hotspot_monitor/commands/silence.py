"""silence add|list|expire FILE: mute alerts, or record planned maintenance.

``silence add FILE --site X --for 2h --comment "..."`` mutes notifications;
``--maintenance`` also counts the window as planned downtime in availability
and the monthly report. ``--weekly mon,tue --from 22:00 --to 02:00`` makes
it recur (local time) until ``--until`` (default: one year).
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import load_or_report


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("add", "list", "expire"))
    p.add_argument("file", help="YAML config file")
    p.add_argument("id", nargs="?", type=int, help="the silence to expire")
    for key in ("ap", "site", "district", "rule"):
        p.add_argument(f"--{key}", help=f"only alerts of this {key}")
    p.add_argument("--for", dest="duration", help="how long from --start (e.g. 2h, 30m, 3d)")
    p.add_argument("--start", help="ISO 8601 start (default now)")
    p.add_argument("--until", help="ISO 8601 end (instead of --for)")
    p.add_argument("--weekly", help="recurring on these days (mon,tue,...) between --from and --to")
    p.add_argument("--from", dest="from_", default="00:00", help="local start time of a weekly window")
    p.add_argument("--to", default="24:00", help="local end time of a weekly window")
    p.add_argument("--maintenance", action="store_true",
                   help="planned maintenance: also counted apart in availability and reports")
    p.add_argument("--comment", default="", help="why (required for add)")
    p.add_argument("--author", default=None, help="who (default: the login name)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--base-dir", type=Path, default=None,
                   help="directory that relative paths in the config are taken from (default: cwd)")


def _when(text: str, tz) -> datetime:
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=tz)


def main(args: argparse.Namespace) -> int:
    from ..alerts.config import TimeWindow, parse_duration
    from ..alerts.silences import SilenceStore, Weekly
    from ..status.statestore import StateStore

    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    now = datetime.now(timezone.utc)
    states = StateStore.from_config(cfg, args.base_dir or Path.cwd())
    try:
        store = SilenceStore(states.engine, cfg, cfg.alerts)
        if args.action == "list":
            rows = [{"id": s.id, "kind": s.kind, "matchers": s.matchers, "starts_at": s.starts_at.isoformat(),
                     "ends_at": s.ends_at.isoformat(), "weekly": s.weekly.to_dict() if s.weekly else None,
                     "author": s.author, "comment": s.comment, "active": s.active(now, cfg.tz),
                     "expired_at": s.expired_at.isoformat() if s.expired_at else None}
                    for s in store.all()]
            if args.json:
                print(json.dumps({"silences": rows}, indent=1))
            else:
                for r in rows:
                    what = ", ".join(f"{k}={v}" for k, v in r["matchers"].items()) or "everything"
                    print(f"{r['id']:>4} {r['kind']:<11} {what:<30} {r['starts_at']} .. {r['ends_at']}"
                          f"{' weekly ' + json.dumps(r['weekly']) if r['weekly'] else ''}"
                          f"{' ACTIVE' if r['active'] else ''}  {r['author']}: {r['comment']}")
            return 0
        if args.action == "expire":
            if args.id is None:
                print("silence expire needs an ID", file=sys.stderr)
                return 2
            if not store.expire(args.id, now):
                print(f"silence {args.id} is unknown or already over", file=sys.stderr)
                return 1
            print(f"silence {args.id} expired")
            return 0
        if not args.comment.strip():
            print("silence add needs --comment (why, for the record)", file=sys.stderr)
            return 2
        try:
            start = _when(args.start, cfg.tz) if args.start else now
            if args.until:
                end = _when(args.until, cfg.tz)
            elif args.duration:
                end = start + timedelta(seconds=parse_duration(args.duration))
            elif args.weekly:
                end = start + timedelta(days=365)
            else:
                print("silence add needs --for or --until", file=sys.stderr)
                return 2
            weekly = None
            if args.weekly:
                days = [d.strip().lower()[:3] for d in args.weekly.split(",") if d.strip()]
                weekly = Weekly.from_window(TimeWindow.model_validate(
                    {"days": days, "from": args.from_, "to": args.to}))
            matchers = {k: getattr(args, k) for k in ("ap", "site", "district", "rule") if getattr(args, k)}
            sid = store.add(kind="maintenance" if args.maintenance else "silence", matchers=matchers,
                            starts_at=start, ends_at=end, weekly=weekly,
                            author=args.author or getpass.getuser(), comment=args.comment, now=now)
        except ValueError as e:
            print(f"silence add: {str(e).splitlines()[0]}", file=sys.stderr)
            return 2
        print(f"{'maintenance' if args.maintenance else 'silence'} {sid} added")
        return 0
    finally:
        states.close()
