"""run: the long-running service until SIGTERM/SIGINT."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from . import load_or_report, warn_if_exposed
from ..logutil import setup_logging
from ..runner import Service, StartupError

log = logging.getLogger("hotspot_monitor.service")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--log-format", default="text", choices=["text", "json"],
                   help="json: one JSON object per line (structured logs)")
    p.add_argument("--base-dir", type=Path, default=None,
                   help="directory that relative paths in the config are taken from (default: cwd)")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="run shard I of N (overrides collector.shard): several processes share one "
                        "PostgreSQL state store, each polls its own APs (docs/scaling.md)")


def main(args: argparse.Namespace) -> int:
    setup_logging(args.log_level, args.log_format)
    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    warn_if_exposed(args.file, cfg)
    try:
        service = Service.for_shard(cfg, args.shard, base_dir=(args.base_dir or Path.cwd()).resolve())
    except ValueError as e:
        print(f"hotspot-monitor run: --shard: {e}", file=sys.stderr)
        return 2
    try:
        service.open()
    except StartupError as e:
        print(f"hotspot-monitor run: cannot start: {e}", file=sys.stderr)
        return 1
    return run_until_signal(service.run)


def run_until_signal(coro_fn) -> int:
    """Run ``coro_fn(stop_event)`` until SIGTERM or SIGINT sets the event."""

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await coro_fn(stop)

    asyncio.run(_main())
    return 0
