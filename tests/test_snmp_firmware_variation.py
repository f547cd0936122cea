"""Firmware variation: a missing value stays missing, detection by signature, partial walks.

Real agents only. snmpsim serves recordings *derived* in a temp dir from the
shared ones (copied, then edited the way other firmware differs: client
columns gone, a generic Linux or an OEM sysObjectID/sysDescr, no sysUpTime,
no CPU table...). A loopback UDP relay in front of it drops chosen requests,
so a table walk times out after a good GET. The rules are checked, not one
file: every expected number is read by hand from the shared recordings (see
their SOURCES.md) and named in a comment.
"""
from __future__ import annotations

import asyncio
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import pytest
from pyasn1.codec.ber import decoder
from pysnmp.proto import api

from collectors.snmp import SnmpCollector
from collectors.snmp.detect import signature_oids
from collectors.snmp.profile import builtin_profiles
from hotspot_monitor.config.models import Config
from services.ports import free_port, stop, wait_for
from services.snmpsim import RESPONDER
from snmp_engines import engine  # noqa: F401 (fixture: every test runs on each engine)

GENERIC_LINUX_OID = "1.3.6.1.4.1.8072.3.2.10"  # NET-SNMP-TC::linux, what old firmware reports
GENERIC_LINUX_DESCR = "Linux ap 3.10.20 #1 SMP Thu Jan 1 00:00:00 UTC 2015 mips"
OEM_OID = "1.3.6.1.4.1.99999.1.7"  # an enterprise number no profile knows
SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0"


# --- derived recordings ---------------------------------------------------------

def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(x) for x in oid.split("."))


class Rec:
    """A .snmprec as {oid: (tag, value)}; written back sorted by OID, as snmpsim wants."""

    def __init__(self, text: str):
        self.rows: dict[str, tuple[str, str]] = {}
        for line in text.splitlines():
            if line.strip():
                oid, tag, value = line.split("|", 2)
                self.rows[oid] = (tag, value)

    def without(self, *subtrees: str) -> "Rec":
        gone = [o for o in self.rows if any(o == s or o.startswith(s + ".") for s in subtrees)]
        assert gone, f"nothing under {subtrees} to remove"  # the edit must change something
        for o in gone:
            del self.rows[o]
        return self

    def with_(self, oid: str, tag: str, value: str) -> "Rec":
        self.rows[oid] = (tag, value)
        return self

    def generic(self, oid: str = GENERIC_LINUX_OID, descr: str = GENERIC_LINUX_DESCR) -> "Rec":
        return self.with_(SYS_OBJECT_ID, "6", oid).with_(SYS_DESCR, "4", descr)

    def text(self) -> str:
        return "".join(f"{o}|{t}|{v}\n" for o, (t, v) in sorted(self.rows.items(), key=lambda r: _key(r[0])))


UNIFI_VAP_CLIENTS = "1.3.6.1.4.1.41112.1.6.1.2.1.8"  # UBNT-UniFi-MIB::unifiVapNumStations
UNIFI_SYSTEM = "1.3.6.1.4.1.41112.1.6.3"             # unifiApSystem (model, version: the probe)
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
MT_AP_CLIENTS = "1.3.6.1.4.1.14988.1.1.1.3.1.6"      # MIKROTIK-MIB::mtxrWlApClientCount
CISCO_RADIO_CLIENTS = "1.3.6.1.4.1.14179.2.2.2.1.15"  # AIRESPACE-WIRELESS-MIB::bsnApIfNoOfUsers
CISCO_AP_TABLE = "1.3.6.1.4.1.14179.2.2.1"           # AIRESPACE-WIRELESS-MIB::bsnAPTable
UNLEASHED_STA = "1.3.6.1.4.1.25053.1.15.1.1.1.15.2.0"  # ruckusUnleashedSystemStatsNumSta
NET_SNMP_EXTEND = "1.3.6.1.4.1.8072.1.3"             # NET-SNMP-EXTEND-MIB
IF_SPEED, IF_HIGH_SPEED, IF_DISCONTINUITY = \
    "1.3.6.1.2.1.2.2.1.5", "1.3.6.1.2.1.31.1.1.1.15", "1.3.6.1.2.1.31.1.1.1.19"


def derived(shared: Path) -> dict[str, str]:
    """community -> recording text, each made from a shared recording."""
    def rec(name: str) -> Rec:
        return Rec((shared / f"{name}.snmprec").read_text())
    return {
        "unifi": rec("unifi_nanohd").text(),
        "cisco": rec("ciscowlc_cbw240ac").text(),
        "unleashed": rec("ruckuswireless-unleashed").text(),
        # older UniFi firmware: generic Linux sysDescr, no unifiApSystem subtree (the probe)
        "unifi-oldfw": rec("unifi_nanohd").generic().without(UNIFI_SYSTEM).text(),
        "unifi-noclients": rec("unifi_nanohd").without(UNIFI_VAP_CLIENTS, HR_PROCESSOR_LOAD).text(),
        "unifi-nosysuptime": rec("unifi_nanohd").without(SYS_UPTIME).text(),
        "routeros-generic": rec("routeros").generic().text(),
        "routeros-noclients": rec("routeros").without(MT_AP_CLIENTS).text(),
        "cisco-oem": rec("ciscowlc_cbw240ac").generic(OEM_OID, "Wireless Controller").text(),
        "cisco-noclients": rec("ciscowlc_cbw240ac").without(CISCO_RADIO_CLIENTS).text(),
        "instant-oem": rec("aruba-instant").generic(OEM_OID, "Wi-Fi cluster").text(),
        "zyxel-oem": rec("zyxelwlc_nxc2500").generic(OEM_OID, "WLAN controller").text(),
        "sz-oem": rec("ruckuswireless-sz").generic(OEM_OID, "Controller").text(),
        "unleashed-nosta": rec("ruckuswireless-unleashed").without(UNLEASHED_STA).text(),
        # a plain Linux AP: no vendor table at all, so no signature may match
        "openwrt-plain": rec("openwrt_wap-study").without(NET_SNMP_EXTEND).text(),
        # interface speeds as agents give them (the recording has ifHighSpeed only)
        "openwrt-speeds": rec("openwrt_wap-study")
        .with_(f"{IF_HIGH_SPEED}.2", "66", "10000").with_(f"{IF_SPEED}.2", "66", "4294967295")  # eth0: 10G
        .with_(f"{IF_HIGH_SPEED}.3", "66", "0").with_(f"{IF_SPEED}.3", "66", "100000000")      # eth1
        .with_(f"{IF_SPEED}.10", "66", "4294967295")                                            # wlan1
        .with_(f"{IF_DISCONTINUITY}.2", "67", "12345").without(f"{IF_DISCONTINUITY}.3").text(),
    }


@pytest.fixture(scope="module")
def agent(snmprec_dir: Path) -> Iterator[int]:
    """snmpsim on a free loopback port serving the derived recordings; yields the port."""
    assert RESPONDER.exists(), f"missing {RESPONDER}"
    tmp = Path(tempfile.mkdtemp(prefix="snmpsim-derived-"))
    data = tmp / "data"
    data.mkdir()
    for community, text in derived(snmprec_dir).items():
        (data / f"{community}.snmprec").write_text(text)
    port = free_port(socket.SOCK_DGRAM)
    log = str(tmp / "snmpsim.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(RESPONDER), f"--data-dir={data}", f"--cache-dir={tmp / 'cache'}",
             f"--agent-udpv4-endpoint=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, SNMPSIM_ALLOW_ROOT="true"), cwd=tmp)

    def ready() -> bool:
        r = subprocess.run(["snmpget", "-v2c", "-c", "unifi", "-t", "0.5", "-r", "0", "-Oqv",
                            f"127.0.0.1:{port}", SYS_UPTIME], capture_output=True, text=True, timeout=5)
        return r.returncode == 0 and r.stdout.strip() != ""
    try:
        wait_for(ready, 60, "snmpsim (derived recordings)", proc, log)
        yield port
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


# --- a relay that loses chosen requests -------------------------------------------

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
KINDS = {V2C.GetRequestPDU.tagSet: "get", V2C.GetNextRequestPDU.tagSet: "getnext",
         V2C.GetBulkRequestPDU.tagSet: "getbulk"}


def request(data: bytes) -> tuple[str, list[str]]:
    """(kind, request OIDs) of an SNMPv2c request datagram."""
    try:
        msg, _ = decoder.decode(data, asn1Spec=V2C.Message())
        pdu = V2C.apiMessage.get_pdu(msg)
        return KINDS.get(pdu.tagSet, "other"), [str(n) for n, _ in V2C.apiPDU.get_varbinds(pdu)]
    except Exception:
        return "other", []


class Relay:
    """Loopback UDP relay to an agent; ``drop(kind, oids)`` picks requests that get lost.

    ``seen`` counts requests by kind (get/getnext/getbulk), dropped or not.
    """

    def __init__(self, agent_port: int):
        self.agent = ("127.0.0.1", agent_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.drop: Callable[[str, list[str]], bool] = lambda kind, oids: False
        self.seen: Counter[str] = Counter()
        self._up: dict[tuple, socket.socket] = {}
        self._client: dict[socket.socket, tuple] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "Relay":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in [self.sock, *self._up.values()]:
            s.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.sock, *self._up.values()], [], [], 0.05)
            for s in ready:
                data, addr = s.recvfrom(65535)
                if s is not self.sock:
                    self.sock.sendto(data, self._client[s])
                    continue
                kind, oids = request(data)
                self.seen[kind] += 1
                if self.drop(kind, oids):
                    continue
                up = self._up.get(addr)
                if up is None:
                    up = self._up[addr] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.connect(self.agent)
                    self._client[up] = addr
                up.send(data)


def under(*subtrees: str) -> Callable[[str, list[str]], bool]:
    """Drop walks (GETBULK) that touch one of ``subtrees``."""
    return lambda kind, oids: kind == "getbulk" and any(
        o == s or o.startswith(s + ".") for o in oids for s in subtrees)


# --- polling helpers ------------------------------------------------------------------

def config(port: int, aps: list[dict] = (), controllers: list[dict] = (), **collector) -> Config:
    def dev(d: dict) -> dict:
        return {"host": "127.0.0.1", "port": port, "timeout_s": 5, "retries": 1,
                "snmp": {"version": "2c", "community": d.pop("community", d["id"])}, **d}
    return Config.model_validate({
        "collector": collector,
        "sites": [{"id": "s", "name": "S", "lat": -7.56, "lon": 110.8}],
        "aps": [dev({"site": "s", **a}) if "controller" not in a else a for a in aps],
        "controllers": [dev({"site": "s", **c}) for c in controllers],
    })


def poll(cfg: Config, rounds: int = 1, before_round: Callable[[int], None] = lambda i: None):
    coll = SnmpCollector(cfg)

    async def go():
        out = []
        try:
            for i in range(rounds):
                before_round(i)
                out.append({r.device_id: r for r in await coll.poll_results()})
        finally:
            await coll.close()
        return out
    return coll, asyncio.run(go())


def pick(r, measurement: str, **tags) -> list:
    return [s for s in r.samples if s.measurement == measurement
            and all(s.tags.get(k) == v for k, v in tags.items())]


def clients(r, ap: str) -> dict[str, int]:
    return {s.tags["radio"]: s.fields["clients"] for s in pick(r, "ap_clients", ap=ap)}


def status(r, ap: str) -> dict:
    (s,) = pick(r, "ap_status", ap=ap)
    return s.fields


# --- detection by signature -------------------------------------------------------------

def test_families_are_detected_by_their_tables_when_firmware_does_not_name_them(agent, engine):
    aps = ["unifi-oldfw", "routeros-generic", "openwrt-plain"]
    ctrls = ["cisco-oem", "instant-oem", "zyxel-oem", "sz-oem"]
    coll, (res,) = poll(config(agent, [{"id": a} for a in aps], [{"id": c} for c in ctrls], engine=engine))
    assert all(r.ok for r in res.values()), {k: r.error for k, r in res.items()}
    assert {k: r.profile for k, r in res.items()} == {
        "unifi-oldfw": "unifi", "routeros-generic": "mikrotik", "openwrt-plain": "generic",
        "cisco-oem": "cisco_wlc", "instant-oem": "aruba_instant", "zyxel-oem": "zyxel_controller",
        "sz-oem": "ruckus_smartzone"}
    assert coll.stats["detections_by_signature"] == 6
    # ... and the family's numbers follow (values as in test_snmp_recordings)
    assert clients(res["unifi-oldfw"], "unifi-oldfw") == {"2.4GHz": 4, "5GHz": 14, "all": 18}
    assert clients(res["routeros-generic"], "routeros-generic") == {"2.4GHz": 7, "5GHz": 0, "all": 11}
    assert clients(res["cisco-oem"], "ap2") == {"2.4GHz": 3, "5GHz": 5, "all": 8}
    assert clients(res["cisco-oem"], "cisco-oem") == {"2.4GHz": 8, "5GHz": 15, "all": 23}
    assert status(res["instant-oem"], "instant-ap-src-1") == {"up": 1, "uptime_s": 865175}
    assert clients(res["zyxel-oem"], "zyxel-oem") == {"all": 45}       # capwapTotalStation
    assert clients(res["sz-oem"], "sz-oem") == {"all": 146}            # ruckusSZSystemStatsNumSta
    # a plain Linux AP stays generic: no clients role, so no ap_clients at all
    assert not pick(res["openwrt-plain"], "ap_clients")
    assert status(res["openwrt-plain"], "openwrt-plain")["uptime_s"] == 1655025  # sysUpTime 165502569


def test_detection_costs_two_requests_at_first_contact_only(agent, engine):
    with Relay(agent) as relay:
        coll = SnmpCollector(config(relay.port, [{"id": "r", "community": "routeros-generic"}], engine=engine))
        counts = []

        async def go():
            try:
                for _ in range(2):
                    relay.seen.clear()
                    (r,) = await coll.poll_results()
                    assert r.ok and r.profile == "mikrotik", r.error
                    counts.append(dict(relay.seen))
            finally:
                await coll.close()
        asyncio.run(go())
    # first poll: detection GET + signature GETNEXT, then the profile's scalar GET. pysnmp
    # asks every signature subtree in one GETNEXT; gufo carries one OID per GETNEXT
    subtrees = len(signature_oids(builtin_profiles()))  # 16 in the shipped profiles
    assert counts[0]["get"] == 2 and counts[0]["getnext"] == (1 if engine == "pysnmp" else subtrees)
    assert counts[1]["get"] == 1 and "getnext" not in counts[1]  # remembered


def test_a_failed_signature_probe_polls_as_generic_and_detects_again_next_time(agent, engine):
    with Relay(agent) as relay:
        relay.drop = lambda kind, oids: kind == "getnext"
        cfg = config(relay.port, [{"id": "u", "community": "unifi-oldfw", "timeout_s": 1, "retries": 0}], engine=engine)

        def before(i: int) -> None:
            if i == 1:
                relay.drop = lambda kind, oids: False
        coll, (first, second) = poll(cfg, rounds=2, before_round=before)
    assert first["u"].ok and first["u"].profile == "generic"  # answered the GET: up
    assert status(first["u"], "u")["up"] == 1
    assert coll.stats["bad.detect_timeout"] == 1
    assert second["u"].ok and second["u"].profile == "unifi"
    assert coll.detected == {"u": "unifi"}


# --- missing is never 0 ---------------------------------------------------------------

def test_a_device_without_client_or_cpu_columns_reports_neither(agent, engine):
    coll, (res,) = poll(config(agent, [{"id": "unifi-noclients"}, {"id": "routeros-noclients"},
                                       {"id": "unifi"}], engine=engine))
    u = res["unifi-noclients"]
    assert u.ok and u.profile == "unifi"
    assert not pick(u, "ap_clients")
    (sysf,) = pick(u, "ap_system")
    assert set(sysf.fields) == {"mem_pct"}  # no hrProcessorLoad: no cpu_pct, not 0
    assert status(u, "unifi-noclients")["uptime_s"] == 545023  # the rest still arrives
    m = res["routeros-noclients"]
    assert m.ok and m.profile == "mikrotik" and not pick(m, "ap_clients")
    # the unchanged copy gives its documented numbers, zeros included
    assert clients(res["unifi"], "unifi") == {"2.4GHz": 4, "5GHz": 14, "all": 18}
    assert coll.stats["missing.clients"] == 2
    assert coll.stats["missing.cpu"] == 1


def test_a_controller_without_client_columns_reports_no_clients_for_itself_or_its_aps(agent, engine):
    cfg = config(agent, controllers=[{"id": "cisco-noclients"}], engine=engine)
    coll, (res,) = poll(cfg)
    r = res["cisco-noclients"]
    assert r.ok and r.profile == "cisco_wlc", r.error
    assert not pick(r, "ap_clients")
    for ap in ("ap1", "ap2", "ap3", "ap4"):  # the APs are still there, and up
        assert status(r, ap) == {"up": 1}
    (ca,) = pick(r, "controller_aps")
    assert ca.fields == {"aps_total": 4, "aps_up": 4, "aps_down": 0}
    assert coll.stats["missing.clients"] == 1 and coll.stats["missing.ap_clients"] == 4


def test_a_real_zero_stays_zero_and_an_absent_count_is_missing(agent, engine):
    coll, (res,) = poll(config(agent, controllers=[{"id": "unleashed-nosta"}, {"id": "unleashed"}], engine=engine))
    assert clients(res["unleashed"], "unleashed") == {"all": 0}  # NumSta.0 = 0 in the recording
    r = res["unleashed-nosta"]
    assert r.ok and r.profile == "ruckus_unleashed"
    assert not pick(r, "ap_clients")  # the recording's NumSta.0 = 0 is gone: nothing, not 0
    (ca,) = pick(r, "controller_aps")
    assert ca.fields == {"aps_total": 1}  # ruckusUnleashedSystemStatsNumAP.0 = 1
    assert coll.stats["missing.clients"] == 1


def test_uptime_falls_back_to_hr_system_uptime(agent, engine):
    coll, (res,) = poll(config(agent, [{"id": "unifi-nosysuptime"}], engine=engine))
    r = res["unifi-nosysuptime"]
    assert r.ok and r.profile == "unifi"
    assert status(r, "unifi-nosysuptime")["uptime_s"] == 545079  # hrSystemUptime 54507921 ticks
    assert r.reading.uptime_from == "hrSystemUptime"
    assert coll.stats["missing.uptime"] == 0


def test_interface_speed_and_counter_discontinuity(agent, engine):
    _, (res,) = poll(config(agent, [{"id": "openwrt-speeds"}, {"id": "unifi"}], engine=engine))
    got = {i.name: (i.speed_bps, i.discontinuity_ticks) for i in res["openwrt-speeds"].reading.ifaces}
    assert got == {
        "eth0": (10_000 * 1e6, 12345),      # ifHighSpeed 10000 wins over the saturated ifSpeed
        "eth1": (100_000_000.0, None),      # ifHighSpeed 0: ifSpeed; no ifCounterDiscontinuityTime
        "eth0.1": (1000 * 1e6, 0),          # ifHighSpeed 1000
        "eth1.2": (1000 * 1e6, 0),
        "wlan1": (None, 0),                 # ifHighSpeed 0 and ifSpeed saturated: unknown
        "wlan0": (None, 0),                 # ifHighSpeed 0, no ifSpeed: unknown
    }
    # the UniFi recording: ifHighSpeed 0 on every interface, no ifSpeed
    assert {i.speed_bps for i in res["unifi"].reading.ifaces} == {None}


# --- a walk that times out after a good GET is partial data --------------------------

def test_a_table_walk_that_times_out_is_partial_data_not_an_outage(agent, engine):
    with Relay(agent) as relay:
        relay.drop = under("1.3.6.1.4.1.41112.1.6.1.2")  # unifiVapTable
        cfg = config(relay.port, [{"id": "u", "community": "unifi", "profile": "unifi",
                                   "timeout_s": 1, "retries": 0}], engine=engine)
        coll, (res,) = poll(cfg)
    r = res["u"]
    assert r.ok and r.reason is None
    assert status(r, "u")["up"] == 1 and status(r, "u")["uptime_s"] == 545023
    assert not pick(r, "ap_clients")  # that table's metrics are missing...
    assert {i.name for i in r.reading.ifaces} == {"eth0", "ra0", "rai0", "ra1", "rai1"}  # ...the rest is not
    assert pick(r, "ap_system")[0].fields["cpu_pct"] == (3 + 2 + 3 + 3) / 4
    assert coll.stats["bad.table_timeout"] == 1 and coll.stats["missing.clients"] == 1
    assert coll.stats["snmp_timeout"] == 0 and coll.last_round["failures"] == {}


def test_an_agent_that_stops_answering_walks_is_up_and_not_waited_out(agent, engine):
    with Relay(agent) as relay:
        relay.drop = lambda kind, oids: kind == "getbulk"
        cfg = config(relay.port, [{"id": "u", "community": "unifi", "profile": "unifi",
                                   "timeout_s": 1, "retries": 0}], engine=engine)
        coll, (res,) = poll(cfg)
    r = res["u"]
    assert r.ok and status(r, "u")["up"] == 1
    # unifi walks ifTable, hrProcessor, vap (its memory is a FROGFOOT scalar: hrStorage, which
    # it inherits from generic, is never walked): two time out, the third is skipped
    assert coll.stats["bad.table_timeout"] == 2 and coll.stats["bad.table_skipped"] == 1
    assert 1.8 <= r.duration_s < 2 + 2.5  # two timeouts of 1 s, not four
    assert not pick(r, "ap_clients") and r.reading.ifaces == []
    # memory comes from the GET (FROGFOOT memTotal/memFree); the CPU table was never walked
    assert pick(r, "ap_system")[0].fields == pytest.approx({"mem_pct": (124372 - 31048) / 124372 * 100},
                                                           abs=1e-3)


def test_an_agent_that_dies_mid_poll_is_down_from_then(agent, engine):
    """A walk timing out is checked with a one-OID GET: no answer means the
    agent went away during the poll, so the AP is down from that walk on,
    not up until the next poll (which would start the outage late)."""
    gets = []

    def after_first_get(kind: str, oids: list[str]) -> bool:
        if kind == "get":
            gets.append(oids)
        return len(gets) > 1 or kind != "get"

    with Relay(agent) as relay:
        relay.drop = after_first_get
        cfg = config(relay.port, [{"id": "u", "community": "unifi", "profile": "unifi",
                                   "timeout_s": 1, "retries": 0}], engine=engine)
        t0 = datetime.now(timezone.utc)
        coll, (res,) = poll(cfg)
    r = res["u"]
    assert not r.ok and r.reason == "snmp_timeout"
    assert gets[-1] == ["1.3.6.1.2.1.1.3.0"]  # the liveness check went unanswered
    [st] = r.samples
    assert st.fields == {"up": 0, "reason": "snmp_timeout"}
    assert st.time == r.failed_at and t0 < st.time < t0 + timedelta(seconds=2)
    assert coll.stats["bad.table_timeout"] == 0  # not partial data: an outage


def test_a_device_whose_get_times_out_is_still_down(agent, engine):
    with Relay(agent) as relay:
        relay.drop = lambda kind, oids: True
        cfg = config(relay.port, [{"id": "u", "community": "unifi", "profile": "unifi",
                                   "timeout_s": 1, "retries": 0}], engine=engine)
        coll, (res,) = poll(cfg)
    r = res["u"]
    assert not r.ok and r.reason == "snmp_timeout"
    assert [s.fields for s in r.samples] == [{"up": 0, "reason": "snmp_timeout"}]
    assert coll.last_round["failures"] == {"snmp_timeout": 1}


def test_a_controller_whose_ap_table_walk_fails_leaves_its_aps_unknown(agent, engine):
    with Relay(agent) as relay:
        relay.drop = under(CISCO_AP_TABLE)
        cfg = config(relay.port, aps=[
            {"id": "lobby", "site": "s", "controller": "wlc", "mac": "14:16:9d:24:ec:80"},  # ap1
            {"id": "gone", "site": "s", "controller": "wlc"},
        ], controllers=[{"id": "wlc", "community": "cisco", "profile": "cisco_wlc",
                         "timeout_s": 1, "retries": 0}], engine=engine)
        coll, (res,) = poll(cfg)
    r = res["wlc"]
    assert r.ok and status(r, "wlc")["up"] == 1
    # no AP status from a table that did not answer: neither up nor down
    assert [s.tags["ap"] for s in pick(r, "ap_status")] == ["wlc"]
    # the radio table did answer: per-AP clients (ap1 matched by MAC) and the controller's sums
    assert clients(r, "lobby") == {"2.4GHz": 0, "5GHz": 1, "all": 1}
    assert clients(r, "wlc") == {"2.4GHz": 8, "5GHz": 15, "all": 23}
    (ca,) = pick(r, "controller_aps")
    assert ca.fields == {"aps_total": 4}  # clsSysApConnectCount; no up/down from a failed table
    assert coll.stats["bad.table_timeout"] == 1


def test_interface_speeds_are_read_with_the_full_recheck_and_remembered_between(agent, engine):
    asked: list[set[str]] = []
    with Relay(agent) as relay:
        def before(i: int) -> None:
            asked.append(set())
            relay.drop = lambda kind, oids: bool(asked[-1].update(
                c for c in (IF_SPEED, IF_HIGH_SPEED) for o in oids if o.startswith(c + ".") or o == c))
        cfg = config(relay.port, [{"id": "o", "community": "openwrt-speeds", "profile": "openwrt"}], engine=engine)
        _, results = poll(cfg, rounds=3, before_round=before)
    speeds = [{i.name: i.speed_bps for i in res["o"].reading.ifaces} for res in results]
    assert asked == [{IF_SPEED, IF_HIGH_SPEED}, set(), set()]  # not walked on polls 2 and 3...
    assert speeds[0]["eth0"] == 10_000 * 1e6 and speeds[0]["eth1"] == 100_000_000.0
    assert speeds[0] == speeds[1] == speeds[2]  # ...yet known on every poll


# --- work the poller does not do ---------------------------------------------------------

HR_STORAGE = "1.3.6.1.2.1.25.2.3.1"  # HOST-RESOURCES-MIB::hrStorageEntry


def test_hr_storage_is_walked_only_when_no_earlier_memory_source_answered(agent, engine):
    walked: list[str] = []
    with Relay(agent) as relay:
        relay.drop = lambda kind, oids: bool(walked.extend(
            o for o in oids if kind in ("getbulk", "getnext") and o.startswith(HR_STORAGE + "."))) and False
        # openwrt (generic memory rules): UCD memTotalReal/memAvailReal answer, so no hrStorage;
        # RouterOS has no UCD memory: its RAM row comes from hrStorage; UniFi's memory is a
        # FROGFOOT scalar and no rule of its profile reads hrStorage at all
        _, (res,) = poll(config(relay.port, [{"id": "o", "community": "openwrt-plain", "profile": "generic"}],
                                engine=engine))
        assert res["o"].ok and walked == []
        assert pick(res["o"], "ap_system")[0].fields["mem_pct"] > 0  # from UCD
        _, (res,) = poll(config(relay.port, [{"id": "u", "community": "unifi", "profile": "unifi"}],
                                engine=engine))
        assert res["u"].ok and walked == []
        _, (res,) = poll(config(relay.port, [{"id": "m", "community": "routeros-noclients",
                                              "profile": "mikrotik"}], engine=engine))
    assert res["m"].ok and walked  # asked...
    # ...and used: hrStorage "main memory" 27196 of 65536 (as in test_snmp_recordings)
    assert pick(res["m"], "ap_system")[0].fields["mem_pct"] == pytest.approx(27196 / 65536 * 100, abs=1e-3)


def test_sys_descr_and_object_id_are_asked_at_detection_only(agent, engine):
    asked: list[list[str]] = []
    with Relay(agent) as relay:
        relay.drop = lambda kind, oids: bool(asked.append(oids)) and False
        _, (first, second) = poll(config(relay.port, [{"id": "u", "community": "unifi"}], engine=engine),
                                  rounds=2, before_round=lambda i: asked.append(["-- poll"]))
    assert first["u"].profile == second["u"].profile == "unifi"
    polls = "|".join(" ".join(o) for o in asked).split("-- poll")[1:]
    assert SYS_DESCR in polls[0] and SYS_OBJECT_ID in polls[0]  # detection
    assert SYS_DESCR not in polls[1] and SYS_OBJECT_ID not in polls[1]
