"""simulate command (placeholder until its issue lands)."""
import argparse
import sys


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("args", nargs="*")


def main(args: argparse.Namespace) -> int:
    print("hotspot-monitor simulate: not implemented yet", file=sys.stderr)
    return 1
