"""Every OID the SNMP collector's vendor profiles poll is answered by the simulator.

Reads ``collectors/snmp/profiles/{generic,unifi,mikrotik,openwrt}.yaml``
generically (scalars, table columns, detect probes, following ``extends``) and
walks a simulated AP of that vendor with net-snmp's snmpbulkwalk.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from hotspot_monitor.config import parse_config
from hotspot_monitor.simulator import Clock, Simulator
from hotspot_monitor.simulator.background import BackgroundSimulator

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "collectors" / "snmp" / "profiles"
VENDORS = ("generic", "unifi", "mikrotik", "openwrt")
# Fallbacks a real device of that vendor does not have either (the profile
# tries them in order): RouterOS has no UCD-SNMP-MIB, memory is in hrStorage.
NOT_ON_VENDOR = {"mikrotik": ("1.3.6.1.4.1.2021.4.",)}
HC_COLUMNS = ("1.3.6.1.2.1.31.1.1.1.",)  # ifXTable: absent on 32-bit-only APs

CONFIG = """
timezone: Asia/Jakarta
collector: {snmp: {version: 2c, community: public}}
sites: [{id: s, name: Site, kind: park, lat: -7.56, lon: 110.82}]
aps:
""" + "".join(f"  - {{id: {v}-1, site: s, host: 127.0.0.1, port: 1, profile: {v}}}\n" for v in VENDORS)


def profile_oids(name: str) -> tuple[set[str], set[str]]:
    """(exact OIDs, table column prefixes) a profile polls, including what it extends."""
    data = yaml.safe_load((PROFILES / f"{name}.yaml").read_text())
    exact: set[str] = set()
    columns: set[str] = set()
    if data.get("extends"):
        e, c = profile_oids(data["extends"])
        exact |= e
        columns |= c
    for s in (data.get("scalars") or {}).values():
        exact.add(str(s["oid"]))
    for t in (data.get("tables") or {}).values():
        for c in (t.get("columns") or {}).values():
            columns.add(str(c["oid"]))
    for p in (data.get("detect") or {}).get("probe") or []:
        exact.add(str(p))
    return exact, columns


@pytest.fixture(scope="module")
def walks():
    sim = Simulator(parse_config(CONFIG), seed=3, addressing="ports", mqtt=False,
                    clock=Clock(1795000000.0, speed=0))
    # Keep every AP answering whatever the plan says at that instant.
    for ap in sim.model.aps:
        sim.plan.runtime.boots[ap] = [1794990000.0]
    out = {}
    with BackgroundSimulator(sim) as s:
        for v in VENDORS:
            assert s.plan.down_reason(f"{v}-1", s.now()) is None
            host, port = s.endpoints[f"{v}-1"]
            r = subprocess.run(["snmpbulkwalk", "-On", "-v2c", "-c", "public", "-t", "2", "-r", "1",
                                f"udp:{host}:{port}", ".1"], capture_output=True, text=True, timeout=60,
                               env={**os.environ, "MIBS": ""})
            assert r.returncode == 0, r.stderr
            out[v] = ({line.split(" = ", 1)[0].lstrip(".") for line in r.stdout.splitlines()
                       if " = " in line and "No more variables" not in line}, s.model.aps[f"{v}-1"].hc)
    return out


@pytest.mark.parametrize("vendor", VENDORS)
def test_profile_oids_are_answered(walks, vendor: str) -> None:
    assert (PROFILES / f"{vendor}.yaml").is_file(), f"profile {vendor}.yaml is missing"
    exact, columns = profile_oids(vendor)
    assert exact and columns
    answered, hc = walks[vendor]
    skip = NOT_ON_VENDOR.get(vendor, ()) + (() if hc else HC_COLUMNS)
    missing = sorted(o for o in exact if o not in answered and not o.startswith(skip))
    missing += sorted(c for c in columns if not c.startswith(skip)
                      and not any(a.startswith(c + ".") for a in answered))
    assert not missing, f"{vendor}: the simulator does not answer {missing}"
