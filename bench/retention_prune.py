"""SQLite retention: how long a prune pass takes, and how long a writer waits.

    .venv/bin/python bench/retention_prune.py [--series 500] [--days 1]

Writes --days of 1-minute ap_traffic points for --series interfaces (rolled up),
then prunes them all, and prints rows/s and the longest single delete
transaction (what a concurrent writer may wait for). Figures go in
docs/retention.md.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotspot_monitor.sample import Sample  # noqa: E402
from hotspot_monitor.stores import sqlite_retention  # noqa: E402
from hotspot_monitor.stores.sqlite import SqliteStore  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=500)
    ap.add_argument("--days", type=int, default=1)
    args = ap.parse_args()
    t0 = datetime(2026, 8, 1, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as d:
        store = SqliteStore(Path(d) / "m.sqlite")
        began = time.monotonic()
        for k in range(args.days * 1440):
            ts = t0 + timedelta(minutes=k)
            store.write([Sample("ap_traffic", {"site": f"s{i % 25}", "ap": f"a{i}", "iface": "wan"},
                                {"rx_bytes": i + k, "tx_bytes": k, "interval_s": 60.0}, ts)
                         for i in range(args.series)])
        store.flush()
        store.refresh_rollups()
        wrote = time.monotonic() - began
        longest = 0.0
        real = sqlite_retention.delete_raw

        def timed(*a, **kw):  # the longest delete transaction's work
            nonlocal longest
            t = time.monotonic()
            try:
                return real(*a, **kw)
            finally:
                longest = max(longest, time.monotonic() - t)

        sqlite_retention.delete_raw = timed
        began = time.monotonic()
        result = store.prune(raw_before=t0 + timedelta(days=args.days + 1), rollups_before=None,
                             keep_after=[t0])
        took = time.monotonic() - began
        store.close()
    print(f"wrote {args.series * args.days * 1440:,} rows (with rollups) in {wrote:.1f} s")
    print(f"pruned {result.raw_rows:,} rows in {took:.2f} s = {result.raw_rows / took:,.0f} rows/s; "
          f"longest delete transaction {longest * 1000:.0f} ms")
    print(f"rerun: .venv/bin/python bench/retention_prune.py --series {args.series} --days {args.days}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
