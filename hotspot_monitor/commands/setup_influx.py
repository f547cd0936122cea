"""setup-influx: create or alter the InfluxDB retention policies (raw points, rollups)."""
from __future__ import annotations

import argparse
import sys

from . import load_or_report


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file (store.influxdb, store.retention)")


def main(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    from ..stores.base import StoreError
    from ..stores.influx_setup import setup_retention
    from ..stores.influxdb import InfluxStore

    influx = cfg.store.influxdb
    if not influx.retention_policy or not influx.rollup_retention_policy:
        print(f"{args.file}: store.influxdb: set retention_policy and rollup_retention_policy "
              "(the RP names for raw points and rollups) first; docs/retention.md", file=sys.stderr)
        return 2
    try:
        store = InfluxStore(influx)
        try:
            actions = setup_retention(store, cfg.store.retention)
            # whatever the raw RP already holds is rolled up now, before any of it expires
            store.refresh_rollups()
        finally:
            store.close()
    except StoreError as e:
        print(f"hotspot-monitor setup-influx: {e}", file=sys.stderr)
        return 1
    for a in actions:
        print(f"{influx.database}: {a}")
    print(f"{influx.database}: rollups up to date in {influx.rollup_retention_policy!r}")
    return 0
