"""prune: one retention pass on the metric store (``run`` does it periodically): SQLite
deletes raw rows past ``store.retention``; InfluxDB keeps the month-edge points."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import load_or_report


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file (store.retention)")
    p.add_argument("--base-dir", type=Path, default=None,
                   help="directory that relative paths in the config are taken from (default: cwd)")


def main(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    from ..retention import prune_once
    from ..stores.base import StoreError
    from ..stores.factory import open_store

    try:
        with open_store(cfg.store, (args.base_dir or Path.cwd()).resolve()) as store:
            result = prune_once(store, cfg)
    except StoreError as e:
        print(f"hotspot-monitor prune: {e}", file=sys.stderr)
        return 1
    if result is None:
        print(f"{args.file}: retention is off (store.retention)")
        return 0
    if cfg.store.kind == "influxdb":
        print(f"{args.file}: InfluxDB expires points by its retention policies (setup-influx); "
              "the first point after each month edge is kept in <measurement>:edge")
        return 0
    marks = ", ".join(f"{m} before {t.isoformat()}" for m, t in sorted(result.raw_until.items()))
    print(f"{args.file}: pruned {result.raw_rows} raw rows and {result.rollup_rows} rollup rows; "
          f"raw rows gone: {marks or 'none yet'}")
    return 0
