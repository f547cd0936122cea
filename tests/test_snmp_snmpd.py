"""The poller against a real net-snmp agent: SNMPv3 auth/priv, v1, v2c, errors."""
from __future__ import annotations

import asyncio
import logging
import time

import pytest

from collectors.snmp import SnmpCollector
from hotspot_monitor.config.models import Config
from snmp_engines import engine  # noqa: F401 (fixture: every test runs on each engine)


def cfg(snmpd, snmp: dict, engine: str, *, dev_id: str = "lab-ap-1", timeout: float = 1.0,
        retries: int = 1) -> Config:
    return Config.model_validate({
        "collector": {"engine": engine},
        "sites": [{"id": "lab", "name": "Lab", "lat": -7.5, "lon": 110.8}],
        "aps": [{"id": dev_id, "site": "lab", "host": snmpd.host, "port": snmpd.port,
                 "timeout_s": timeout, "retries": retries, "snmp": snmp}],
    })


def v3(snmpd, user: str, *, auth_key: str | None = None, priv_key: str | None = None,
       name: str | None = None) -> dict:
    ap, ak, pp, pk = snmpd.users[user]
    return {"version": "3", "user": name or user, "auth_protocol": ap.replace("-", ""),
            "auth_key": auth_key or ak, "priv_protocol": pp, "priv_key": priv_key or pk}


def poll(config: Config, rounds: int = 1, pause: float = 0.0):
    coll = SnmpCollector(config)

    async def go():
        out = []
        try:
            for i in range(rounds):
                if i:
                    await asyncio.sleep(pause)
                out.append((await coll.poll_results())[0])
        finally:
            await coll.close()
        return out
    return coll, asyncio.run(go())


@pytest.mark.parametrize("user", ["sha256aes", "shaaes"])
def test_v3_auth_priv_reads_the_host(snmpd, user, engine):
    coll, (r1, r2) = poll(cfg(snmpd, v3(snmpd, user), engine), rounds=2, pause=1.1)
    assert r1.ok and r2.ok, (r1.error, r2.error)
    assert r1.profile == "generic"  # a plain Linux net-snmp agent
    st = [s for s in r1.samples if s.measurement == "ap_status"][0].fields
    assert st["up"] == 1 and isinstance(st["uptime_s"], int) and st["uptime_s"] >= 0
    assert r1.reading.ifaces, "the host has at least one non-loopback interface up"
    assert all(i.bits == 64 for i in r1.reading.ifaces)  # ifHC counters preferred
    assert "lo" not in {i.name for i in r1.reading.ifaces}
    # second poll: each ap_traffic interval is exactly the counter difference
    first = {i.name: i for i in r1.reading.ifaces}
    traffic = {s.tags["iface"]: s.fields for s in r2.samples if s.measurement == "ap_traffic"}
    assert set(traffic) == {i.name for i in r2.reading.ifaces} & set(first)
    for i in r2.reading.ifaces:
        f = traffic[i.name]
        assert f["rx_bytes"] == i.rx - first[i.name].rx
        assert f["tx_bytes"] == i.tx - first[i.name].tx
        assert f["rx_bps"] >= 0 and f["tx_bps"] >= 0
    sysf = [s for s in r1.samples if s.measurement == "ap_system"][0].fields
    assert 0 < sysf["mem_pct"] < 100  # UCD memTotalReal/memAvailReal
    # hrProcessorLoad appears only after snmpd's first minute of sampling
    assert 0 <= sysf.get("cpu_pct", 0) <= 100


@pytest.mark.parametrize("which", ["auth", "priv", "user"])
def test_wrong_v3_credentials_are_snmp_auth_and_never_leak(snmpd, which, caplog, engine):
    caplog.set_level(logging.DEBUG)
    bad = "Wr0ng-Secret-Value-42"
    kw = {"auth": {"auth_key": bad}, "priv": {"priv_key": bad}, "user": {"name": "nobody"}}[which]
    good = snmpd.users["sha256aes"]
    t0 = time.monotonic()
    coll, (r,) = poll(cfg(snmpd, v3(snmpd, "sha256aes", **kw), engine, timeout=1.0, retries=1))
    assert not r.ok
    if which == "priv":
        # net-snmp drops what it cannot decrypt without a report: it looks like a timeout
        assert r.reason == "snmp_timeout", r.error
    else:
        assert r.reason == "snmp_auth", r.error
    assert time.monotonic() - t0 < 10
    assert "lab-ap-1" in r.error and f"{snmpd.host}:{snmpd.port}" in r.error
    (st,) = r.samples
    assert st.fields == {"up": 0, "reason": r.reason}
    for secret in (bad, good[1], good[3]):
        assert secret not in r.error
        assert secret not in caplog.text
        assert all(secret not in s.to_json() for s in r.samples)
    assert coll.stats[r.reason] == 1


def test_wrong_community_times_out(snmpd, caplog, engine):
    caplog.set_level(logging.DEBUG)
    community = "not-the-community-9"
    t0 = time.monotonic()
    coll, (r,) = poll(cfg(snmpd, {"version": "2c", "community": community}, engine, timeout=0.5, retries=1))
    took = time.monotonic() - t0
    assert not r.ok and r.reason == "snmp_timeout"
    assert took < 0.5 * 2 + 3  # timeout x (retries + 1) + slack for engine start-up
    assert "lab-ap-1" in r.error and community not in r.error and community not in caplog.text
    assert r.samples[0].fields == {"up": 0, "reason": "snmp_timeout"}


def test_v1_falls_back_to_32_bit_counters(snmpd, engine):
    # SNMPv1 has no Counter64: the poller must use ifInOctets/ifOutOctets (bits=32)
    coll, (r1, r2) = poll(cfg(snmpd, {"version": "1", "community": snmpd.community}, engine),
                          rounds=2, pause=1.1)
    assert r1.ok, r1.error
    assert r1.reading.ifaces and all(i.bits == 32 for i in r1.reading.ifaces)
    first = {i.name: i for i in r1.reading.ifaces}
    for s in r2.samples:
        if s.measurement == "ap_traffic":
            i = next(x for x in r2.reading.ifaces if x.name == s.tags["iface"])
            assert s.fields["rx_bytes"] == (i.rx - first[i.name].rx) % (1 << 32)
