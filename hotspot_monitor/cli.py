"""`hotspot-monitor` command line: one sub-command per module in ``commands/``.

Each command module exposes ``configure(parser)`` and ``main(args) -> int``.
The command modules import the heavy stacks (pysnmp, paho, the simulator)
inside ``main``, so building the parser stays cheap.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from . import __version__
from .fileperm import restrict_umask

COMMANDS = {
    "check-config": ("check_config", "validate a config file and its inventory"),
    "poll": ("poll", "one SNMP collection round, printed as JSON Samples"),
    "run": ("run", "the long-running service: collectors, status engine, stores"),
    "demo": ("demo", "simulator + service on embedded defaults, no system services needed"),
    "simulate": ("simulate", "the fleet simulator alone (SNMP agents + MQTT publishers)"),
    "status": ("status", "table of APs and sites: state, since, last seen, clients"),
    "import": ("import_data", "JSON-lines Samples (as poll --json prints) through the live data path"),
    "alerts": ("alerts", "alerts firing, pending and recently resolved; acknowledge one"),
    "silence": ("silence", "add, list or expire silences and maintenance windows"),
    "notify-test": ("notify_test", "send a test message through one alert channel now"),
    "web": ("web", "the dashboard on a production WSGI server"),
    "user": ("user", "dashboard accounts: add, list, passwd, remove, token"),
    "report": ("report", "the monthly partner report: CSV, XLSX, HTML or PDF; --send e-mails it"),
    "setup-influx": ("setup_influx", "create or alter the InfluxDB retention policies (raw, rollups)"),
    "prune": ("prune", "one retention pass: raw points past store.retention go, rollups stay"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotspot-monitor", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        _command_module(module).configure(p)
    return parser


def _command_module(module: str):
    return importlib.import_module(f"hotspot_monitor.commands.{module}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    restrict_umask()  # state, spool, SQLite files, reports: not for every user (docs/hardening.md)
    try:
        return int(_command_module(args._module).main(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
