"""check-config: validate, then print a one-line summary or every error."""
from __future__ import annotations

import argparse
import sys
from collections import Counter

from ..config import ConfigError, load_config


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")


def main(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.file)
    except ConfigError as e:
        for issue in e.issues:
            print(issue, file=sys.stderr)
        return 2
    profiles = Counter(d.profile for d in [*cfg.aps, *cfg.controllers] if d.host)
    prof = ", ".join(f"{k} {v}" for k, v in sorted(profiles.items())) or "none"
    print(
        f"{args.file}: OK: {len(cfg.sites)} sites, {len(cfg.aps)} APs, "
        f"{len(cfg.controllers)} controllers, profiles: {prof}; store {cfg.store.kind}, "
        f"timezone {cfg.timezone}"
    )
    return 0
