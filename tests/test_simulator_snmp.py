"""Real SNMP clients (net-snmp tools and pysnmp 7) against the simulator on loopback.

The simulator runs in a background thread with a *frozen* clock, so every
value is known exactly; the clock is moved to compare two reads.
"""
from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pysnmp.hlapi.v3arch.asyncio import (CommunityData, ContextData, ObjectIdentity, ObjectType, SnmpEngine,
                                         UdpTransportTarget, UsmUserData, bulk_cmd, get_cmd,
                                         usmAesCfb128Protocol, usmHMAC192SHA256AuthProtocol, walk_cmd)

from hotspot_monitor.config import load_config
from hotspot_monitor.simulator import Clock, Simulator
from hotspot_monitor.simulator.agent import WRONG_DIGESTS
from hotspot_monitor.simulator.background import BackgroundSimulator
from hotspot_monitor.simulator.mib import shape

ROOT = Path(__file__).resolve().parents[1]
WIB = timezone(timedelta(hours=7))
T0 = datetime(2026, 11, 24, 18, 0, 7, tzinfo=WIB).timestamp()  # a busy Tuesday evening
AUTH, PRIV = "authkey-please-change", "privkey-please-change"  # the example's defaults
ENV = {**os.environ, "MIBS": ""}
LINE = re.compile(r"^(\.[\d.]+) = (?:([\w-]+): )?(.*)$")


@pytest.fixture(scope="module")
def bg():
    cfg = load_config(ROOT / "deploy" / "examples" / "surakarta.yaml", env={})
    sim = Simulator(cfg, seed=1, addressing="ports", clock=Clock(T0, speed=0), mqtt=False)
    with BackgroundSimulator(sim) as s:
        yield s


@pytest.fixture
def sim(bg):
    bg.clock.set(T0)
    yield bg
    bg.clock.set(T0)
    bg.plan.runtime.down.clear()
    bg.plan.runtime.cuts.clear()


def up_ap(sim: Simulator, vendor: str, hc: bool = True, v3: bool = False) -> str:
    for ap in sim.config.aps:
        spec = sim.model.aps[ap.id]
        if (spec.vendor == vendor and spec.hc == hc and (sim.config.credentials(ap).version == "3") == v3
                and sim.plan.down_reason(ap.id, sim.now()) is None):
            return ap.id
    raise AssertionError(f"no {vendor} AP up at T0")


def net_snmp(tool: str, sim: Simulator, ap: str, *oids: str, extra: tuple = (), timeout: float = 1.0):
    host, port = sim.endpoints[ap]
    cmd = [tool, "-On", "-Ot", "-t", str(timeout), "-r", "0", *extra]
    if "-c" not in extra and "3" not in extra:
        cmd += ["-v2c", "-c", "public"]
    return subprocess.run(cmd + [f"udp:{host}:{port}", *oids], capture_output=True, text=True,
                          timeout=60, env=ENV)


def parse(out: str) -> dict[str, tuple[str, str]]:
    res = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            res[m.group(1)] = (m.group(2) or "", m.group(3).strip('"'))
    return res


def v3_args(auth: str = AUTH, priv: str = PRIV) -> tuple:
    return ("-v", "3", "-l", "authPriv", "-u", "monitor", "-a", "SHA-256", "-A", auth, "-x", "AES", "-X", priv)


def pysnmp_get(sim: Simulator, ap: str, *oids: str, auth=None):
    async def go():
        eng = SnmpEngine()
        tgt = await UdpTransportTarget.create(sim.endpoints[ap], timeout=1, retries=0)
        r = await get_cmd(eng, auth or CommunityData("public"), tgt, ContextData(),
                          *[ObjectType(ObjectIdentity(o)) for o in oids], lookupMib=False)
        eng.close_dispatcher()
        return r
    return asyncio.run(go())


def test_v2c_get_matches_model_with_vendor_types(sim) -> None:
    ap = up_ap(sim, "unifi")
    st = sim.state(ap)
    r = net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.1.3.0", ".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.2.0",
                 ".1.3.6.1.2.1.31.1.1.1.6.2", ".1.3.6.1.4.1.41112.1.6.1.2.1.8.1",
                 ".1.3.6.1.4.1.41112.1.6.1.2.1.9.2", ".1.3.6.1.4.1.41112.1.6.1.2.1.6.1")
    assert r.returncode == 0, r.stderr
    v = parse(r.stdout)
    assert v[".1.3.6.1.2.1.1.3.0"] == ("Timeticks", str(st.uptime_s * 100 + int((T0 % 1) * 100))) or \
        int(v[".1.3.6.1.2.1.1.3.0"][1]) // 100 == st.uptime_s
    assert v[".1.3.6.1.2.1.1.5.0"] == ("STRING", ap)
    assert v[".1.3.6.1.2.1.1.2.0"] == ("OID", ".1.3.6.1.4.1.8072.3.2.10")
    assert v[".1.3.6.1.2.1.31.1.1.1.6.2"] == ("Counter64", str(st.counters["eth0"][0]))
    assert v[".1.3.6.1.4.1.41112.1.6.1.2.1.8.1"] == ("INTEGER", str(st.clients_24))
    assert v[".1.3.6.1.4.1.41112.1.6.1.2.1.9.2"] == ("STRING", "na")
    assert st.clients_24 + st.clients_5 > 0  # a park/street at 18:00 is busy
    mt = up_ap(sim, "mikrotik")
    st = sim.state(mt)
    r = net_snmp("snmpget", sim, mt, ".1.3.6.1.4.1.14988.1.1.1.3.1.6.1", ".1.3.6.1.4.1.14988.1.1.1.3.1.6.2",
                 ".1.3.6.1.4.1.14988.1.1.1.3.1.7.1", ".1.3.6.1.2.1.1.2.0", ".1.3.6.1.2.1.1.9.0")
    v = parse(r.stdout)
    assert v[".1.3.6.1.4.1.14988.1.1.1.3.1.6.1"] == ("Counter32", str(st.clients_24))
    assert v[".1.3.6.1.4.1.14988.1.1.1.3.1.6.2"] == ("Counter32", str(st.clients_5))
    assert v[".1.3.6.1.4.1.14988.1.1.1.3.1.7.1"][1] in ("2412", "2437", "2462")
    assert v[".1.3.6.1.2.1.1.2.0"] == ("OID", ".1.3.6.1.4.1.14988.1")
    assert "No Such Object" in r.stdout  # sysORLastChange is not simulated


def test_bulkwalk_is_ordered_complete_and_ends(sim) -> None:
    for vendor, hc in (("unifi", True), ("mikrotik", True), ("openwrt", True), ("generic", False)):
        ap = up_ap(sim, vendor, hc)
        r = net_snmp("snmpbulkwalk", sim, ap, ".1", extra=("-Cr25",))
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert "No more variables left" in lines[-1]  # the agent said endOfMibView
        oids = [tuple(int(x) for x in m.group(1)[1:].split("."))
                for m in map(LINE.match, lines[:-1]) if m]
        assert oids == sorted(oids) and len(set(oids)) == len(oids)
        spec = sim.model.aps[ap]
        assert len(oids) == len(shape(spec.vendor, spec.hc, spec.ncpu).oids)
        has_hc = any(o[:10] == (1, 3, 6, 1, 2, 1, 31, 1, 1, 1) for o in oids)
        assert has_hc == hc


def test_pysnmp_walk_and_getbulk_end_of_mib_view(sim) -> None:
    ap = up_ap(sim, "openwrt")

    last = sim.agents[ap].shape.oids[-1]

    async def go():
        eng = SnmpEngine()
        tgt = await UdpTransportTarget.create(sim.endpoints[ap], timeout=1, retries=0)
        seen = []
        async for err, status, _, vbs in walk_cmd(eng, CommunityData("public"), tgt, ContextData(),
                                                  ObjectType(ObjectIdentity("1.3.6.1.4.1.8072.1.3.2.3.1.1")),
                                                  lookupMib=False, lexicographicMode=False):
            assert err is None and not status
            seen += [(tuple(o), v.prettyPrint()) for o, v in vbs]
        nonlocal last
        r = await bulk_cmd(eng, CommunityData("public"), tgt, ContextData(), 0, 5,
                           ObjectType(ObjectIdentity(".".join(map(str, last)))), lookupMib=False)
        eng.close_dispatcher()
        return seen, r

    seen, (err, status, _, vbs) = asyncio.run(go())
    name = "clients-wlan"
    idx = (1, 3, 6, 1, 4, 1, 8072, 1, 3, 2, 3, 1, 1, len(name)) + tuple(name.encode())
    st = sim.state(ap)
    assert (idx, str(st.clients_24 + st.clients_5)) in seen
    assert len(seen) == 5
    assert err is None and len(vbs) >= 1
    from pysnmp.proto.rfc1905 import endOfMibView
    assert [tuple(o) for o, _ in vbs] == [last] and all(v.tagSet == endOfMibView.tagSet for _, v in vbs), vbs


def integrate(sim: Simulator, ap: str, t1: float, t2: float) -> float:
    total, t = 0.0, t1
    while t < t2:
        step = min(60.0 - t % 60.0, t2 - t)
        total += sim.model.rate(ap, t + step / 2) * step
        t += step
    return total


def test_counters_and_uptime_consistent_over_time(sim) -> None:
    ap = up_ap(sim, "mikrotik")
    oids = ("1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.31.1.1.1.6.3", "1.3.6.1.2.1.2.2.1.16.1")  # ether1 in, wlan1 out
    t1, t2 = T0, T0 + 1800.5
    assert sim.plan.last_boot(ap, t1) == sim.plan.last_boot(ap, t2)
    _, _, _, a = pysnmp_get(sim, ap, *oids)
    sim.clock.set(t2)
    _, _, _, b = pysnmp_get(sim, ap, *oids)
    assert int(b[0][1]) - int(a[0][1]) == 180050  # centiseconds
    dl = integrate(sim, ap, t1, t2)
    assert abs((int(b[1][1]) - int(a[1][1])) - dl * 1.03) <= 2
    share24 = sim.model.aps[ap].share24
    assert abs((int(b[2][1]) - int(a[2][1])) % 2**32 - dl * share24) <= 2


def test_v3_authpriv_and_wrong_keys(sim) -> None:
    ap = up_ap(sim, "mikrotik", v3=True)
    st = sim.state(ap)
    r = net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.1.5.0", ".1.3.6.1.4.1.14988.1.1.1.3.1.6.2", extra=v3_args())
    assert r.returncode == 0, r.stderr
    v = parse(r.stdout)
    assert v[".1.3.6.1.2.1.1.5.0"] == ("STRING", ap)
    assert v[".1.3.6.1.4.1.14988.1.1.1.3.1.6.2"] == ("Counter32", str(st.clients_5))
    r = net_snmp("snmpbulkwalk", sim, ap, ".1.3.6.1.2.1.31.1.1.1.6", extra=v3_args())
    assert r.returncode == 0 and str(st.counters["ether1"][0]) in r.stdout
    user = UsmUserData("monitor", AUTH, PRIV, authProtocol=usmHMAC192SHA256AuthProtocol,
                       privProtocol=usmAesCfb128Protocol)
    err, status, _, vbs = pysnmp_get(sim, ap, "1.3.6.1.2.1.1.5.0", auth=user)
    assert err is None and str(vbs[0][1]) == ap
    # Wrong auth key: refused with a wrongDigests report, no data.
    before = sim.agents[ap].usm_stats[WRONG_DIGESTS]
    r = net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.1.5.0", extra=v3_args(auth="wrong-auth-key-123"))
    assert r.returncode != 0 and ap not in r.stdout
    assert "Authentication failure" in r.stderr
    bad = UsmUserData("monitor", "another-wrong-key", PRIV, authProtocol=usmHMAC192SHA256AuthProtocol,
                      privProtocol=usmAesCfb128Protocol)
    err, _, _, vbs = pysnmp_get(sim, ap, "1.3.6.1.2.1.1.5.0", auth=bad)
    assert err is not None and "digest" in str(err).lower() and not vbs
    assert sim.agents[ap].usm_stats[WRONG_DIGESTS] >= before + 2
    # Wrong privacy key: decrypts to garbage, no data either.
    r = net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.1.5.0", extra=v3_args(priv="wrong-priv-key-123"))
    assert r.returncode != 0 and ap not in r.stdout
    # v2c with a wrong community: silence (timeout), as real agents do.
    r = net_snmp("snmpget", sim, up_ap(sim, "unifi"), ".1.3.6.1.2.1.1.5.0", extra=("-v2c", "-c", "nope"),
                 timeout=0.5)
    assert r.returncode != 0 and "Timeout" in r.stderr + r.stdout


def test_outages_do_not_answer(sim) -> None:
    ap = up_ap(sim, "unifi")
    assert net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.1.5.0").returncode == 0
    sim.force_down(ap)
    r = net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.1.5.0", timeout=0.5)
    assert r.returncode != 0 and "Timeout" in r.stderr + r.stdout
    sim.force_up(ap)
    assert net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.1.5.0").returncode == 0
    # A planned outage from the plan: silent inside, answering after.
    ev = next(e for e in sim.events(T0 - 30 * 86400, T0) if e.kind == "outage")
    sim.clock.set((ev.start + ev.end) / 2)
    r = net_snmp("snmpget", sim, ev.ap, ".1.3.6.1.2.1.1.5.0", timeout=0.5)
    assert r.returncode != 0 and "Timeout" in r.stderr + r.stdout
    sim.clock.set(ev.end + 1)
    if sim.plan.down_reason(ev.ap, ev.end + 1) is None:
        assert net_snmp("snmpget", sim, ev.ap, ".1.3.6.1.2.1.1.5.0").returncode == 0
    # A site power cut: every AP of the site at once.
    sim.clock.set(T0)
    site = sim.config.aps[0].site
    sim.power_cut(site)
    for a in sim.model.site_aps[site]:
        r = net_snmp("snmpget", sim, a, ".1.3.6.1.2.1.1.5.0", timeout=0.3)
        assert r.returncode != 0
    sim.power_restore(site)
    r = net_snmp("snmpget", sim, sim.model.site_aps[site][0], ".1.3.6.1.2.1.1.3.0")
    assert r.returncode == 0 and parse(r.stdout)[".1.3.6.1.2.1.1.3.0"][1] == "0"  # just booted


def test_reboot_and_wrap_where_the_plan_says(sim) -> None:
    ev = next(e for e in sim.events(T0 - 20 * 86400, T0) if e.kind == "reboot" and e.source == "plan")
    sim.clock.set(ev.start - 10)
    if sim.plan.down_reason(ev.ap, ev.start - 10) is None:
        r = net_snmp("snmpget", sim, ev.ap, ".1.3.6.1.2.1.1.3.0")
        assert int(parse(r.stdout)[".1.3.6.1.2.1.1.3.0"][1]) > 12000
    sim.clock.set(ev.start + 30)
    assert net_snmp("snmpget", sim, ev.ap, ".1.3.6.1.2.1.1.3.0", timeout=0.3).returncode != 0  # booting
    sim.clock.set(ev.start + 120)
    r = net_snmp("snmpget", sim, ev.ap, ".1.3.6.1.2.1.1.3.0")
    assert parse(r.stdout)[".1.3.6.1.2.1.1.3.0"][1] == "12000"
    # A 32-bit-only AP wraps ifInOctets of its uplink within the evening.
    ap = up_ap(sim, "generic", hc=False) if any(
        s.vendor == "generic" and not s.hc for s in sim.model.aps.values()) else up_ap(sim, "openwrt", hc=False)
    t = T0
    prev = sim.state(ap, t).counters["eth0"][0]
    while True:
        t += 60
        assert t < T0 + 86400, "no wrap within a day"
        cur = sim.state(ap, t).counters["eth0"][0]
        if cur < prev and sim.plan.last_boot(ap, t) == sim.plan.last_boot(ap, t - 60):
            break
        prev = cur
    sim.clock.set(t - 60)
    a = int(parse(net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.2.2.1.10.2").stdout)[".1.3.6.1.2.1.2.2.1.10.2"][1])
    sim.clock.set(t)
    b = int(parse(net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.2.2.1.10.2").stdout)[".1.3.6.1.2.1.2.2.1.10.2"][1])
    assert b < a and (a, b) == (prev, cur)
    assert abs((b - a) % 2**32 - integrate(sim, ap, t - 60, t) * 1.03) <= 2
    r = net_snmp("snmpget", sim, ap, ".1.3.6.1.2.1.31.1.1.1.6.2")
    assert "No Such Object" in r.stdout  # no ifXTable on this AP


def test_v3_client_resyncs_after_reboot(sim) -> None:
    """engineBoots grows at every reboot: a client gets notInTimeWindow, resyncs, goes on."""
    ap = up_ap(sim, "mikrotik", v3=True)
    user = UsmUserData("monitor", AUTH, PRIV, authProtocol=usmHMAC192SHA256AuthProtocol,
                       privProtocol=usmAesCfb128Protocol)
    boots0 = sim.engine_clock(ap)[0]

    async def go():
        eng = SnmpEngine()
        tgt = await UdpTransportTarget.create(sim.endpoints[ap], timeout=1, retries=1)
        oid = ObjectType(ObjectIdentity("1.3.6.1.2.1.1.3.0"))
        a = await get_cmd(eng, user, tgt, ContextData(), oid, lookupMib=False)
        sim.clock.set(T0 + 600)
        sim.reboot(ap, at=T0 + 590)
        b = await get_cmd(eng, user, tgt, ContextData(), oid, lookupMib=False)
        eng.close_dispatcher()
        return a, b

    try:
        a, b = asyncio.run(go())
        assert sim.engine_clock(ap, T0 + 600)[0] > boots0
    finally:
        sim.plan.runtime.boots.pop(ap, None)
    assert a[0] is None and b[0] is None, (a[0], b[0])
    assert int(b[3][0][1]) == 1000  # 10 s since the reboot


def test_ips_addressing_binds_distinct_loopback_addresses() -> None:
    from services.ports import free_port
    cfg = load_config(ROOT / "deploy" / "examples" / "surakarta.yaml", env={})
    port = free_port(socket.SOCK_DGRAM)
    sim = Simulator(cfg, seed=1, addressing="ips", port=port, mqtt=False, clock=Clock(T0, speed=0))
    with BackgroundSimulator(sim) as s:
        assert s.endpoints["balekambang-1"] == ("127.1.0.1", port)
        assert s.endpoints[cfg.aps[-1].id] == (f"127.1.0.{len(cfg.aps)}", port)
        ap = next(a.id for a in cfg.aps[:5] if s.plan.down_reason(a.id, T0) is None
                  and s.config.credentials(a).version == "2c")
        r = net_snmp("snmpget", s, ap, ".1.3.6.1.2.1.1.5.0")
        assert r.returncode == 0 and f'"{ap}"' in r.stdout
        col = s.collector_config()
        assert {(a.host, a.port) for a in col.aps} == set(s.endpoints.values())
