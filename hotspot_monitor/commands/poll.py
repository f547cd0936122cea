"""poll FILE --once [--ap ID] [--json]: one SNMP collection round, nothing written.

Prints one JSON Sample per line (``--json``) or a readable table; exit 0 when
at least one device answered, 1 when every polled device failed, 2 on a bad
config or an unknown ``--ap``. Secrets never appear: errors name the device
(id, host:port), never a community or key.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from . import load_or_report


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")
    p.add_argument("--once", action="store_true", default=True,
                   help="one collection round (the only mode; the service is `run`)")
    p.add_argument("--ap", action="append", metavar="ID",
                   help="poll only this AP or controller (repeatable); an AP reported by a "
                        "controller polls that controller and keeps the AP's samples")
    p.add_argument("--json", action="store_true", help="one JSON Sample per line")


def main(args: argparse.Namespace) -> int:
    from collectors.snmp import SnmpCollector  # pysnmp import is slow: only when polling

    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    try:
        coll = SnmpCollector(cfg)
    except ValueError as e:
        print(f"poll: {e}", file=sys.stderr)
        return 2
    try:
        ids, via = coll.resolve_ids(args.ap) if args.ap else (list(coll.devices), {})
    except KeyError as e:
        print(f"poll: {e.args[0]}", file=sys.stderr)
        return 2
    # failures are printed below, once per device; the collector's own warnings would repeat them
    logging.getLogger("collectors.snmp").setLevel(logging.ERROR)
    if not ids:
        print("poll: no SNMP devices (APs with a host, or controllers) in the config", file=sys.stderr)
        return 1

    async def go():
        try:
            return await coll.poll_results(ids)
        finally:
            await coll.close()

    results = asyncio.run(go())
    wanted = set(args.ap or [])
    for r in results:
        samples = r.samples
        if wanted and r.device_id not in wanted:  # polled on behalf of a managed AP
            keep = {a for a, c in via.items() if c == r.device_id}
            samples = [s for s in samples if s.tags.get("ap") in keep]
        if args.json:
            for s in samples:
                print(s.to_json())
        else:
            _table(r, samples)
        if not r.ok:
            print(f"poll: {r.error}", file=sys.stderr)
    return 0 if any(r.ok for r in results) else 1


def _table(r, samples) -> None:
    state = "up" if r.ok else f"DOWN ({r.reason})"
    ms = f"{r.response_ms:.1f} ms" if r.response_ms is not None else "-"
    print(f"{r.device_id}: {state}, profile {r.profile or '?'}, {ms}, {len(samples)} samples")
    for s in samples:
        tags = " ".join(f"{k}={v}" for k, v in sorted(s.tags.items()) if k not in ("site",))
        fields = " ".join(f"{k}={v}" for k, v in s.fields.items())
        print(f"  {s.measurement:<15} {tags:<40} {fields}")
