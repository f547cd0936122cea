"""Differential test: the gufo and pysnmp engines read identical Raw values.

Same agent, same questions (the detection GET and signature GETNEXTs, every
profile's scalar GET and every table's column walks), both engines: the
answers must be equal, kinds included (gufo takes a kind from the MIB
syntax the profile declares, pysnmp from the wire: a difference means a
wrong ``syntax:`` in a profile or a bug in an engine). A difference names
the OID.

On snmpsim the recordings do not move. net-snmp serves the live host, whose
counters move between two reads: there, pysnmp reads before and after gufo,
and a value that changed in between must lie between pysnmp's two reads
(counters and ticks only grow) or, for a gauge, only have the same kind.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Mapping

import pytest

from collectors.snmp.detect import detect_oids, signature_oids
from collectors.snmp.profile import builtin_profiles
from collectors.snmp.transport import Target, open_engine, wire_kinds
from collectors.snmp.values import Raw
from hotspot_monitor.config.models import SnmpCredentials

PROFILES = builtin_profiles()
KINDS = wire_kinds(PROFILES)
MONOTONIC = ("counter32", "counter64", "ticks")
# the shared recordings (community = file stem), as the snmpsim fixture serves them
RECORDINGS = sorted(f.stem for f in (Path(__file__).resolve().parents[2] / "shared" / "fixtures"
                                     / "snmprec").glob("*.snmprec"))


async def read_all(engine_name: str, host: str, port: int, cred: SnmpCredentials,
                   profiles: list[str]) -> dict[str, object]:
    """Everything the poller may ask, as {"what oid": answer}: detection, scalars, walks."""
    engine = open_engine(engine_name, KINDS)
    target = Target("dev", "ap dev (test)", host, port, cred, 5.0, 1)
    out: dict[str, object] = {}
    try:
        sess = await engine.session(target)
        for oid, raw in (await sess.get(detect_oids(PROFILES))).items():
            out[f"detect GET {oid}"] = raw
        for oid, nxt in (await sess.get_next(signature_oids(PROFILES))).items():
            out[f"signature GETNEXT {oid}"] = nxt
        for name in profiles:
            p = PROFILES[name]
            for oid, raw in (await sess.get([c.oid for c in p.scalars.values()])).items():
                out[f"GET {oid}"] = raw
            for tname, table in p.tables.items():
                walk = await sess.walk_columns([c.oid for c in table.columns.values()], table.max_rows)
                out[f"walk {tname} truncated"] = walk.truncated
                for col, rows in walk.columns.items():
                    for idx, raw in rows.items():
                        out[f"walk {col}.{'.'.join(map(str, idx))}"] = raw
    finally:
        engine.close()
    return out


def differences(a: Mapping[str, object], b: Mapping[str, object],
                later: Mapping[str, object] | None = None) -> list[str]:
    """What differs between ``a`` (pysnmp) and ``b`` (gufo), one line per OID.

    With ``later`` (pysnmp again, after gufo), a value that moved in between
    is judged by kind and, for counters and ticks, by lying between the two.
    """
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x == y:
            continue
        z = later.get(key) if later is not None else None
        if isinstance(x, Raw) and isinstance(y, Raw) and isinstance(z, Raw) and x != z \
                and x.kind == y.kind == z.kind:
            if x.kind not in MONOTONIC or x.value <= y.value <= z.value:  # type: ignore[operator]
                continue  # a live value that moved between the reads
        out.append(f"{key}: pysnmp {x!r} != gufo {y!r}")
    return out


def read_both(host: str, port: int, cred: SnmpCredentials, profiles: list[str], live: bool):
    async def go():
        first = await read_all("pysnmp", host, port, cred, profiles)
        gufo = await read_all("gufo", host, port, cred, profiles)
        again = await read_all("pysnmp", host, port, cred, profiles) if live else None
        return first, gufo, again
    return asyncio.run(go())


@pytest.mark.parametrize("community", [*RECORDINGS, "broken", "zonedirector"])
def test_both_engines_read_every_recording_alike(snmpsim, community):
    cred = SnmpCredentials(version="2c", community=community)
    # the generic profile's questions, and those of every vendor profile: a recording
    # answers all of them (most with "absent"), which checks every declared syntax
    pysnmp_says, gufo_says, _ = read_both(snmpsim.host, snmpsim.port, cred, sorted(PROFILES), False)
    assert len(pysnmp_says) > 20  # the recording answered
    assert differences(pysnmp_says, gufo_says) == []


@pytest.mark.parametrize("snmp", [
    {"version": "2c"},
    {"version": "1"},
    {"version": "3", "user": "sha256aes", "auth_protocol": "SHA256", "priv_protocol": "AES"},
    {"version": "3", "user": "shaaes", "auth_protocol": "SHA", "priv_protocol": "AES"},
], ids=["v2c", "v1", "v3-sha256-aes", "v3-sha-aes"])
def test_both_engines_read_net_snmp_alike(snmpd, snmp):
    if snmp["version"] == "3":
        _, ak, _, pk = snmpd.users[snmp["user"]]
        cred = SnmpCredentials(**snmp, auth_key=ak, priv_key=pk)
    else:
        cred = SnmpCredentials(**snmp, community=snmpd.community)
    first, gufo, again = read_both(snmpd.host, snmpd.port, cred, ["generic"], True)
    assert any(k.startswith("walk 1.3.6.1.2.1.2.2.1.8.") for k in first)  # ifOperStatus rows came
    if snmp["version"] != "1":  # SNMPv1 has no Counter64: ifHC columns are left out
        assert any(k.startswith("walk 1.3.6.1.2.1.31.1.1.1.6.") for k in first)
    assert differences(first, gufo, again) == []


def test_a_difference_names_the_oid():
    a = {"GET 1.3.6.1.2.1.1.3.0": Raw("ticks", 5), "walk 1.3.6.1.2.1.31.1.1.1.6.1": Raw("counter64", 9)}
    b = {"GET 1.3.6.1.2.1.1.3.0": Raw("ticks", 5), "walk 1.3.6.1.2.1.31.1.1.1.6.1": Raw("counter32", 9)}
    assert differences(a, b) == ["walk 1.3.6.1.2.1.31.1.1.1.6.1: pysnmp Raw(kind='counter64', value=9)"
                                 " != gufo Raw(kind='counter32', value=9)"]
    # a live counter that moved is fine only between pysnmp's two reads
    later = {**a, "walk 1.3.6.1.2.1.31.1.1.1.6.1": Raw("counter64", 20)}
    assert differences(a, {**a, "walk 1.3.6.1.2.1.31.1.1.1.6.1": Raw("counter64", 15)}, later) == []
    assert differences(a, {**a, "walk 1.3.6.1.2.1.31.1.1.1.6.1": Raw("counter64", 25)}, later) != []
