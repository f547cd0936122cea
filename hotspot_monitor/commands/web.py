"""web: the dashboard on a production WSGI server (waitress), until SIGTERM/SIGINT."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from . import load_or_report
from ..logutil import setup_logging


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")
    p.add_argument("--listen", default=None, metavar="HOST:PORT",
                   help="address to serve on (default: web.listen, 127.0.0.1:8080)")
    p.add_argument("--base-dir", type=Path, default=None,
                   help="directory that relative paths in the config are taken from (default: cwd)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def main(args: argparse.Namespace) -> int:
    setup_logging(args.log_level)
    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    from dashboard import create_app
    from dashboard.server import WebServer
    from ..stores.base import StoreError

    try:
        app = create_app(cfg, base_dir=(args.base_dir or Path.cwd()).resolve())
    except StoreError as e:
        print(f"hotspot-monitor web: cannot start: metric store unreachable: {e}", file=sys.stderr)
        return 1
    try:
        server = WebServer(app, args.listen or cfg.web.listen, cfg.web.threads).bind()
    except (OSError, ValueError) as e:
        print(f"hotspot-monitor web: cannot listen on {args.listen or cfg.web.listen}: {e}", file=sys.stderr)
        return 1
    users = app.extensions["hotspot"].accounts.count()
    print(f"dashboard on {server.url}" + ("" if users else
          f"  (no users yet: hotspot-monitor user add {args.file} NAME --role admin)"), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start_thread()
    stop.wait()
    server.close()
    app.extensions["hotspot"].close()
    return 0
