"""check-config: validate, then print a one-line summary or every error."""
from __future__ import annotations

import argparse
from collections import Counter

from . import load_or_report, warn_if_exposed


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")


def main(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    warn_if_exposed(args.file, cfg)
    profiles = Counter(d.profile for d in [*cfg.aps, *cfg.controllers] if d.host)
    prof = ", ".join(f"{k} {v}" for k, v in sorted(profiles.items())) or "none"
    print(
        f"{args.file}: OK: {len(cfg.sites)} sites, {len(cfg.aps)} APs, "
        f"{len(cfg.controllers)} controllers, profiles: {prof}; store {cfg.store.kind}, "
        f"timezone {cfg.timezone}"
    )
    return 0
