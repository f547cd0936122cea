"""Shared fixtures. Real services (influxd, mosquitto, snmpsim, snmpd) live in
``tests/services/``, one module per service, each starting its server on a
free loopback port with a temporary directory and stopping it afterwards."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "tests"))

pytest_plugins = [
    "services.influxd",
    "services.mosquitto",
    "services.snmpsim",
    "services.snmpd",
]


@pytest.fixture(scope="session")
def snmprec_dir() -> Path:
    """The shared SNMP recordings (read-only: copy before changing)."""
    d = SHARED / "fixtures" / "snmprec"
    assert d.is_dir(), f"missing {d}: tests need ../shared beside the checkout"
    return d
