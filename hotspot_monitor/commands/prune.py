"""prune: one retention pass on the SQLite metric store (``run`` does it periodically)."""
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
        print(f"{args.file}: nothing to prune here: InfluxDB expires data by its retention "
              "policies (hotspot-monitor setup-influx), or retention is off")
        return 0
    marks = ", ".join(f"{m} before {t.isoformat()}" for m, t in sorted(result.raw_until.items()))
    print(f"{args.file}: pruned {result.raw_rows} raw rows and {result.rollup_rows} rollup rows; "
          f"raw rows gone: {marks or 'none yet'}")
    return 0
