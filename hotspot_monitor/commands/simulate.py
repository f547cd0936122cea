"""simulate: serve a config's APs as real SNMP agents (and MQTT publishers),
list the outage/reboot plan, or backfill a month of simulated history.

  hotspot-monitor simulate CONFIG                      # serve until Ctrl-C
  hotspot-monitor simulate CONFIG --plan --from 2026-11-01 --to 2026-11-08 --json
  hotspot-monitor simulate CONFIG --backfill 30d
  hotspot-monitor simulate CONFIG --addressing ports --base-port 20000 --inventory sim.yaml
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from . import load_or_report

DUR_RE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(v: str) -> float:
    m = DUR_RE.match(v.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"bad duration {v!r} (e.g. 30d, 12h, 90m)")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_time(v: str) -> float:
    """Epoch seconds, 'now', or ISO 8601 (naive = UTC)."""
    v = v.strip()
    if v == "now":
        return time.time()
    try:
        return float(v)
    except ValueError:
        pass
    try:
        d = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad time {v!r} (ISO 8601, epoch seconds or 'now')") from None
    return (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp()


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config (the same file the collector reads)")
    p.add_argument("--seed", type=int, default=1, help="same seed => same fleet and numbers (default 1)")
    p.add_argument("--addressing", choices=("config", "ports", "ips"), default="config",
                   help="config: each AP's host/port as written; ports: 127.0.0.1 and "
                        "--base-port+i (0 = any free port); ips: 127.1.x.y:--port")
    p.add_argument("--base-port", type=int, default=0)
    p.add_argument("--port", type=int, default=1161, help="UDP port with --addressing ips")
    p.add_argument("--shard", default="0/1", metavar="I/N",
                   help="serve only every N-th AP starting at I (run N processes for big fleets)")
    p.add_argument("--inventory", help="write the config with every AP pointing at its endpoint")
    p.add_argument("--no-mqtt", action="store_true", help="no MQTT publishers even if mqtt.enabled")
    p.add_argument("--control-port", type=int, help="loopback HTTP control endpoint (down/up/cut/restore)")
    p.add_argument("--start", type=parse_time, help="simulated time at start (default: now)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--duration", type=parse_duration, help="stop after this long (real time)")
    p.add_argument("--plan", action="store_true", help="list outages, reboots and power cuts and exit")
    p.add_argument("--from", dest="t_from", type=parse_time, help="plan start (default: now - 1d)")
    p.add_argument("--to", dest="t_to", type=parse_time, help="plan end (default: now + 1d)")
    p.add_argument("--json", action="store_true", help="plan as JSON")
    p.add_argument("--backfill", type=parse_duration, metavar="DURATION",
                   help="write this much simulated history ending now to the config's store, then exit")
    p.add_argument("--step", type=parse_duration, default=300.0, help="backfill resolution (default 5m)")


def main(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.config)
    if cfg is None:
        return 2
    from ..simulator import Clock, Simulator

    try:
        i, n = (int(x) for x in args.shard.split("/"))
        sim = Simulator(cfg, args.seed, addressing=args.addressing, base_port=args.base_port,
                        port=args.port, clock=Clock(args.start, args.speed),
                        mqtt=False if args.no_mqtt else None, shard=(i, n))
    except ValueError as e:
        print(f"simulate: {e}", file=sys.stderr)
        return 2
    if args.plan:
        return _plan(sim, args)
    if args.backfill:
        return _backfill(sim, cfg, args)
    try:
        asyncio.run(_serve(sim, args))
    except OSError as e:
        print(f"simulate: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _plan(sim, args: argparse.Namespace) -> int:
    now = sim.now()
    t0 = args.t_from if args.t_from is not None else now - 86400
    t1 = args.t_to if args.t_to is not None else now + 86400
    events = sim.plan.events(t0, t1)
    tz = sim.config.tz
    if args.json:
        out = []
        for e in events:
            d = e.to_dict()
            d["start_local"] = datetime.fromtimestamp(e.start, tz).isoformat()
            d["end_local"] = None if d["end"] is None else datetime.fromtimestamp(e.end, tz).isoformat()
            out.append(d)
        print(json.dumps({"seed": sim.seed, "from": t0, "to": t1, "timezone": sim.config.timezone,
                          "events": out}, indent=1))
        return 0
    fmt = "%Y-%m-%d %H:%M"
    print(f"{'start':16}  {'end':16}  {'kind':10} {'site':22} ap")
    for e in events:
        end = "-" if e.end == float("inf") else datetime.fromtimestamp(e.end, tz).strftime(fmt)
        print(f"{datetime.fromtimestamp(e.start, tz).strftime(fmt):16}  {end:16}  {e.kind:10} "
              f"{e.site:22} {e.ap or '(all APs)'}")
    print(f"{len(events)} events, times in {sim.config.timezone}")
    return 0


def _backfill(sim, cfg, args: argparse.Namespace) -> int:
    from ..simulator.backfill import backfill
    from ..stores.base import StoreError
    from ..stores.factory import open_store

    end = sim.now()
    try:
        store = open_store(cfg.store, Path(args.config).resolve().parent)
        with store:
            counts = backfill(sim, store, end - args.backfill, end, args.step)
    except StoreError as e:
        print(f"simulate: backfill failed: {e}", file=sys.stderr)
        return 1
    parts = ", ".join(f"{k} {int(v)}" for k, v in counts.items() if k != "seconds")
    print(f"backfilled {args.backfill / 86400:g} days of SIMULATED data at {args.step:g} s "
          f"into the {cfg.store.kind} store in {counts['seconds']} s: {parts}")
    return 0


def write_inventory(config_path: str, endpoints: dict[str, tuple[str, int]], out: str) -> None:
    """Copy the config file with each AP's host/port set to its simulated endpoint.

    The raw YAML is copied (``${VAR}`` secret references stay unexpanded), so no
    secret is ever written by the simulator.
    """
    raw = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
    for ap in raw.get("aps", []):
        if ap.get("id") in endpoints:
            ap["host"], ap["port"] = endpoints[ap["id"]]
    text = "# Generated by hotspot-monitor simulate: APs point at the simulated agents.\n"
    Path(out).write_text(text + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")


async def _serve(sim, args: argparse.Namespace) -> None:
    await sim.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    control = None
    if args.control_port is not None:
        from ..simulator.control import serve_control
        control = await serve_control(sim, args.control_port)
    if args.inventory:
        write_inventory(args.config, sim.endpoints, args.inventory)
    shapes: dict[str, int] = {}
    for a in sim.model.aps.values():
        shapes[a.vendor + ("" if a.hc else "/32bit")] = shapes.get(a.vendor + ("" if a.hc else "/32bit"), 0) + 1
    print(f"simulate: {len(sim.endpoints)} SNMP agents up ({', '.join(f'{k} {v}' for k, v in sorted(shapes.items()))})"
          f"; MQTT publishers: {len(sim._mqtt.clients) if sim._mqtt else 0}"
          + (f"; control http://127.0.0.1:{args.control_port}/" if control else ""), flush=True)
    if args.inventory:
        print(f"simulate: inventory written to {args.inventory}", flush=True)
    try:
        if args.duration:
            await asyncio.wait_for(stop.wait(), args.duration)
        else:
            await stop.wait()
    except asyncio.TimeoutError:
        pass
    finally:
        if control is not None:
            control.close()
        sim.stop()
        print(f"simulate: stopped; {sim.requests} requests, {sim.answered} answered, "
              f"{sim.dropped_down} dropped while down", flush=True)
