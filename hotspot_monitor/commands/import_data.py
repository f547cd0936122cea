"""import FILE DATA: JSON-lines Samples (as `poll --json` prints them) through the live path.

Exit 0 when imported, 2 on a bad config, unreadable data or any bad line
(every bad line is printed as ``DATA:LINE: what is wrong`` and nothing is
imported), 1 when a store fails (the import is idempotent: run it again).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from . import load_or_report


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")
    p.add_argument("data", help="JSON-lines Samples, as `poll --json` prints them; - for stdin")
    p.add_argument("--base-dir", type=Path, default=None,
                   help="directory that relative paths in the config are taken from (default: cwd)")
    p.add_argument("--progress", action="store_true",
                   help="show progress on stderr even when it is not a terminal")


class ProgressLine:
    """One self-overwriting stderr line, at most a few times a second."""

    def __init__(self, enabled: bool, every_s: float = 0.25):
        self.enabled = enabled
        self.every_s = every_s
        self._last = 0.0
        self._phase: Optional[str] = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if phase == self._phase and done < total and now - self._last < self.every_s:
            return
        if self._phase is not None and phase != self._phase:
            sys.stderr.write("\n")
        self._phase, self._last = phase, now
        pct = 100.0 * done / total if total else 100.0
        sys.stderr.write(f"\rimport: {phase:<9} {pct:5.1f}%")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self._phase is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()


def main(args: argparse.Namespace) -> int:
    from ..importer import check_data, import_data
    from ..status.statestore import StateStore
    from ..stores.base import StoreError
    from ..stores.factory import open_store

    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    base = (args.base_dir or Path.cwd()).resolve()
    progress = ProgressLine(args.progress or sys.stderr.isatty())
    with tempfile.TemporaryDirectory(prefix="hm-import-") as tmp:
        if args.data == "-":  # two passes (check, then import): keep stdin in a file
            name, path = "<stdin>", Path(tmp) / "stdin.jsonl"
            with open(path, "wb") as f:
                shutil.copyfileobj(sys.stdin.buffer, f)
        else:
            name, path = args.data, Path(args.data)
            if not path.is_file():
                print(f"{name}: cannot read: no such file", file=sys.stderr)
                return 2
        try:
            checked = check_data(path, name, cfg, progress)
        except OSError as e:
            progress.close()
            print(f"{name}: cannot read: {e.strerror}", file=sys.stderr)
            return 2
        if checked.issues:
            progress.close()
            for issue in checked.issues:
                print(issue, file=sys.stderr)
            print(f"import: {len(checked.issues)} bad line(s); nothing imported", file=sys.stderr)
            return 2
        try:
            states = StateStore.from_config(cfg, base)
        except Exception as e:  # SQLAlchemy raises many kinds; the URL may hold a password
            progress.close()
            print(f"import: state store unusable: {type(e).__name__}", file=sys.stderr)
            return 1
        try:
            with open_store(cfg.store, base) as store:
                result = import_data(cfg, path, checked, store, states, progress)
        except StoreError as e:
            progress.close()
            print(f"import: metric store failed: {e} (the import is safe to run again)",
                  file=sys.stderr)
            return 1
        finally:
            states.close()
    progress.close()
    _summary(name, result)
    return 0


def _summary(name: str, r) -> None:
    total = sum(r.samples.values())
    per = ", ".join(f"{m} {n}" for m, n in sorted(r.samples.items())) or "none"
    print(f"{name}: imported {total} samples ({per}) and {r.events} ap_event samples")
    if r.first is not None:
        print(f"  {r.observations} status observations from {r.first.isoformat()} "
              f"to {r.last.isoformat()}")
    m = r.merged
    print(f"  outages: {m.outages_added} new, {m.outages_extended} extended, "
          f"{m.outages_known} already recorded; observed stretches: {m.coverage_added} new; "
          f"sessions: {m.sessions_added} new")
    if r.unknown_devices:
        ids = ", ".join(sorted(r.unknown_devices)[:10])
        print(f"  {sum(r.unknown_devices.values())} samples of {len(r.unknown_devices)} devices "
              f"not in the config (stored, not judged): {ids}")
