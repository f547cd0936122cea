"""Every shared recording, served by snmpsim, polled with profile auto-detection.

Expected numbers are read by hand from the .snmprec files (OID|tag|value
lines); each literal's comment names the OID it comes from.
"""
from __future__ import annotations

import asyncio

import pytest

from collectors.snmp import SnmpCollector
from hotspot_monitor.config.models import Config
from snmp_engines import ENGINES

RECORDINGS = {  # device id = community = recording file stem
    "unifi_nanohd": "ap", "routeros": "ap", "openwrt_wap-study": "ap",
    "ciscowlc_cbw240ac": "controller", "aruba-instant": "controller", "arubaos": "controller",
    "ruckuswireless-sz": "controller", "ruckuswireless-unleashed": "controller",
    "zyxelwlc_nxc2500": "controller",
}


def config(port: int, engine: str) -> Config:
    def dev(name: str, kind: str) -> dict:
        d = {"id": name, "host": "127.0.0.1", "port": port, "timeout_s": 5, "retries": 1,
             "snmp": {"version": "2c", "community": name}}
        return {**d, "site": "solo"} if kind == "ap" else d
    return Config.model_validate({
        "collector": {"engine": engine},
        "sites": [{"id": "solo", "name": "Solo", "lat": -7.56, "lon": 110.8}],
        "aps": [dev(n, k) for n, k in RECORDINGS.items() if k == "ap"],
        "controllers": [dev(n, k) for n, k in RECORDINGS.items() if k == "controller"],
    })


@pytest.fixture(scope="module", params=ENGINES)
def polled(snmpsim, request):
    coll = SnmpCollector(config(snmpsim.port, request.param))

    async def go():
        try:
            return await coll.poll_results()
        finally:
            await coll.close()
    results = asyncio.run(go())
    return coll, {r.device_id: r for r in results}


def pick(samples, measurement, **tags):
    return [s for s in samples if s.measurement == measurement
            and all(s.tags.get(k) == v for k, v in tags.items())]


def clients(r, ap):
    return {s.tags["radio"]: s.fields["clients"] for s in pick(r.samples, "ap_clients", ap=ap)}


def ifaces(r):
    return {i.name: (i.rx, i.tx, i.bits) for i in r.reading.ifaces}


def status(r, ap):
    (s,) = pick(r.samples, "ap_status", ap=ap)
    return s.fields


def system(r, ap):
    (s,) = pick(r.samples, "ap_system", ap=ap)
    return s.fields


def test_detection_picks_the_right_profile(polled):
    coll, res = polled
    assert {k: r.profile for k, r in res.items()} == {
        "unifi_nanohd": "unifi", "routeros": "mikrotik", "openwrt_wap-study": "openwrt",
        "ciscowlc_cbw240ac": "cisco_wlc", "aruba-instant": "aruba_instant",
        "arubaos": "aruba_controller", "ruckuswireless-sz": "ruckus_smartzone",
        "ruckuswireless-unleashed": "ruckus_unleashed", "zyxelwlc_nxc2500": "zyxel_controller",
    }
    assert all(r.ok for r in res.values()), {k: r.error for k, r in res.items()}
    assert coll.detected == {k: r.profile for k, r in res.items()}


def test_unifi(polled):
    r = polled[1]["unifi_nanohd"]
    # unifiVapNumStations .8.<vap> = 4, 0 (radio ng) and 14, 0 (radio na)
    assert clients(r, "unifi_nanohd") == {"2.4GHz": 4, "5GHz": 14, "all": 18}
    assert status(r, "unifi_nanohd")["uptime_s"] == 545023  # sysUpTime 54502347 ticks
    assert status(r, "unifi_nanohd")["up"] == 1 and status(r, "unifi_nanohd")["response_ms"] > 0
    # ifHCIn/OutOctets of the up, non-loopback, non-bridge interfaces (ifOperStatus 1)
    assert ifaces(r) == {
        "eth0": (70706526374, 9312337533, 64), "ra0": (538454915, 3104244098, 64),
        "rai0": (9356948569, 67830537950, 64), "ra1": (0, 0, 64), "rai1": (0, 0, 64)}
    sysf = system(r, "unifi_nanohd")
    assert sysf["cpu_pct"] == (3 + 2 + 3 + 3) / 4  # hrProcessorLoad.196608-196611
    assert sysf["mem_pct"] == pytest.approx((124372 - 31048) / 124372 * 100, abs=1e-3)  # memTotal/memFree
    assert not pick(r.samples, "ap_traffic")  # first poll: baseline only


def test_routeros(polled):
    r = polled[1]["routeros"]
    # mtxrWlApClientCount (Counter32 typed) 7 @2412 MHz, 0 @5805 MHz, 0 and 4 on freq-0 virtual APs
    assert clients(r, "routeros") == {"2.4GHz": 7, "5GHz": 0, "all": 11}
    assert status(r, "routeros")["uptime_s"] == 20204  # sysUpTime 2020400
    assert ifaces(r) == {  # up, not bridge/pppoe
        "wlan1": (235098478, 3592473100, 64), "WAN": (6422347895, 358657426, 64),
        "ether2": (4759651, 6867265, 64), "wlan4": (119484267, 2280733313, 64)}
    sysf = system(r, "routeros")
    assert sysf["cpu_pct"] == (21 + 0 + 0 + 0) / 4
    assert sysf["mem_pct"] == pytest.approx(27196 / 65536 * 100, abs=1e-3)  # hrStorage "main memory"
    assert sysf["temp_c"] == pytest.approx(33.0)  # mtxrHlTemperature 330 (0.1 C)


def test_openwrt(polled):
    r = polled[1]["openwrt_wap-study"]
    # extend clients-wlan0 = "2" (frequency-wlan0 2412), clients-wlan1 = "1" (frequency-wlan1 5220)
    assert clients(r, "openwrt_wap-study") == {"2.4GHz": 2, "5GHz": 1, "all": 3}
    assert status(r, "openwrt_wap-study")["uptime_s"] == 1655025  # sysUpTime 165502569
    assert ifaces(r) == {
        # br-lan (4826777048, 192611138) is left out: a bridge repeats its members' bytes
        "eth0": (0, 1493415266, 64), "eth1": (2958681160, 1714698881, 64),
        "eth0.1": (0, 5706942896, 64),
        "eth1.2": (197126548982, 5784260203, 64), "wlan1": (5188937195, 199238902159, 64),
        "wlan0": (407984142, 7679678859, 64)}
    sysf = system(r, "openwrt_wap-study")
    assert sysf["cpu_pct"] == 12.0
    assert sysf["mem_pct"] == pytest.approx((57244 - 22840) / 57244 * 100, abs=1e-3)  # UCD memTotalReal/memAvailReal


def test_cisco_wlc(polled):
    r = polled[1]["ciscowlc_cbw240ac"]
    # bsnApIfNoOfUsers per AP MAC . slot; slot type 1 = 2.4 GHz, 2 = 5 GHz
    assert clients(r, "ap1") == {"2.4GHz": 0, "5GHz": 1, "all": 1}
    assert clients(r, "ap2") == {"2.4GHz": 3, "5GHz": 5, "all": 8}
    assert clients(r, "ap3") == {"2.4GHz": 5, "5GHz": 4, "all": 9}
    assert clients(r, "ap4") == {"2.4GHz": 0, "5GHz": 5, "all": 5}
    assert clients(r, "ciscowlc_cbw240ac") == {"2.4GHz": 8, "5GHz": 15, "all": 23}
    for ap in ("ap1", "ap2", "ap3", "ap4"):
        assert status(r, ap) == {"up": 1}
    (ca,) = pick(r.samples, "controller_aps")
    assert ca.fields == {"aps_total": 4, "aps_up": 4, "aps_down": 0}  # clsSysApConnectCount = 4
    assert status(r, "ciscowlc_cbw240ac")["uptime_s"] == 396824  # sysUpTime 39682400
    assert ifaces(r) == {"GigabitEthernet0/0/1": (0, 0, 64), "Virtual Interface": (0, 0, 64)}
    sysf = system(r, "ciscowlc_cbw240ac")
    assert sysf["cpu_pct"] == 6.0
    assert sysf["mem_pct"] == pytest.approx((1015612 - 420400) / 1015612 * 100, abs=1e-3)


def test_aruba_instant(polled):
    r = polled[1]["aruba-instant"]
    names = ("ECA-Ultimo-L11-AP06", "ECA-Ultimo-L11-AP14", "instant-ap-src-1")
    for name in names:  # aiRadioClientNum all 0; channels 161/1/53S, 60/11/69S, 116E/6
        assert clients(r, name) == {"2.4GHz": 0, "5GHz": 0, "all": 0}
    assert status(r, "ECA-Ultimo-L11-AP06") == {"up": 1, "uptime_s": 1220178}  # aiAPUptime 122017800
    assert status(r, "ECA-Ultimo-L11-AP14") == {"up": 1, "uptime_s": 1646526}
    assert status(r, "instant-ap-src-1") == {"up": 1, "uptime_s": 865175}
    assert system(r, "instant-ap-src-1") == pytest.approx(
        {"cpu_pct": 9.0, "mem_pct": (527101952 - 349196288) / 527101952 * 100}, abs=1e-3)
    (ca,) = pick(r.samples, "controller_aps")
    assert ca.fields == {"aps_total": 3, "aps_up": 3, "aps_down": 0}
    assert status(r, "aruba-instant")["uptime_s"] == 865026  # sysUpTime 86502682
    assert ifaces(r) == {
        "eth0": (710923562, 158250620, 64), "radio0_ssid_id0": (12105324, 499427158, 64),
        "radio0_ssid_id1": (312, 1117121, 64), "radio0_ssid_id2": (0, 1256292, 64),
        "other": (3863600, 3599040, 64), "radio1_ssid_id0": (1790, 161615652, 64),
        "BR0": (0, 0, 64)}


def test_arubaos(polled):
    r = polled[1]["arubaos"]
    # wlanAPRadioNumAssociatedClients over 690 APs x 2 radios: type 1 (a) 3961, type 3 (g) 2734
    ctrl = clients(r, "arubaos")
    assert ctrl == {"2.4GHz": 2734, "5GHz": 3961, "all": 2654}  # all = wlsxSwitchTotalNumStationsAssociated
    per_ap = [s for s in pick(r.samples, "ap_clients", radio="all") if s.tags["ap"] != "arubaos"]
    assert len(per_ap) == 690 and sum(s.fields["clients"] for s in per_ap) == 6695
    (ca,) = pick(r.samples, "controller_aps")
    assert ca.fields == {"aps_total": 1386, "aps_up": 690, "aps_down": 0}
    assert status(r, "arubaos")["uptime_s"] == 8392398  # sysUpTime 839239800
    got = ifaces(r)
    assert len(got) == 19  # 18 up gigabit ports + mgmt; VLANs and the port-channel excluded
    assert got["gigabitethernet0/0/23"] == (12735265375805, 18548765378228, 64)
    assert got["mgmt"] == (0, 0, 64)
    sysf = system(r, "arubaos")
    assert sysf["cpu_pct"] == pytest.approx(109 / 32, abs=1e-3)  # 32 wlsxSysXProcessorLoad rows
    assert sysf["mem_pct"] == pytest.approx(416524 / 760784 * 100, abs=1e-3)


def test_ruckus_smartzone(polled):
    r = polled[1]["ruckuswireless-sz"]
    assert clients(r, "ruckuswireless-sz") == {"all": 146}  # ruckusSZSystemStatsNumSta
    (ca,) = pick(r.samples, "controller_aps")
    assert ca.fields == {"aps_total": 40}  # ruckusSZSystemStatsNumAP
    assert status(r, "ruckuswireless-sz")["uptime_s"] == 5916502  # sysUpTime 591650204
    assert ifaces(r) == {}
    sysf = system(r, "ruckuswireless-sz")
    assert sysf["cpu_pct"] == (8 + 8 + 1 + 100 + 10 + 16 + 8 + 100) / 8
    assert sysf["mem_pct"] == pytest.approx(32186208 / 32775460 * 100, abs=1e-3)


def test_ruckus_unleashed(polled):
    r = polled[1]["ruckuswireless-unleashed"]
    assert clients(r, "ruckuswireless-unleashed") == {"all": 0}  # NumSta.0 = 0
    (ca,) = pick(r.samples, "controller_aps")
    assert ca.fields == {"aps_total": 1}  # NumAP.0 = 1
    assert status(r, "ruckuswireless-unleashed")["uptime_s"] == 21180  # sysUpTime 2118073
    assert ifaces(r) == {}
    assert not pick(r.samples, "ap_system")  # no CPU or memory in the recording


def test_zyxel(polled):
    r = polled[1]["zyxelwlc_nxc2500"]
    assert clients(r, "zyxelwlc_nxc2500") == {"all": 45}  # capwapTotalStation
    (ca,) = pick(r.samples, "controller_aps")
    assert ca.fields == {"aps_up": 35}  # online APs
    st = status(r, "zyxelwlc_nxc2500")
    assert st["up"] == 1 and "uptime_s" not in st  # no sysUpTime in the recording
    assert ifaces(r) == {}  # ifTable without counters
    sysf = system(r, "zyxelwlc_nxc2500")
    assert sysf["cpu_pct"] == (19 + 7) / 2
    assert sysf["mem_pct"] == pytest.approx(215904 / 1004508 * 100, abs=1e-3)


def test_samples_follow_the_schema(polled):
    types = {
        "ap_status": {"up": int, "response_ms": float, "uptime_s": int, "reason": str},
        "ap_clients": {"clients": int},
        "ap_system": {"cpu_pct": float, "mem_pct": float, "temp_c": float},
        "controller_aps": {"aps_total": int, "aps_up": int, "aps_down": int},
    }
    tags = {"ap_status": {"site", "ap", "source"}, "ap_clients": {"site", "ap", "radio"},
            "ap_system": {"site", "ap"}, "controller_aps": {"site", "ap"}}
    n = 0
    for r in polled[1].values():
        for s in r.samples:
            assert set(s.tags) == tags[s.measurement], s
            assert all(s.tags.values())
            for k, v in s.fields.items():
                assert type(v) is types[s.measurement][k], (s, k)
            if s.measurement == "ap_clients":
                assert s.tags["radio"] in ("2.4GHz", "5GHz", "6GHz", "all")
            n += 1
    assert n > 2000  # arubaos alone fans out to 690 APs


def test_interface_speed_and_discontinuity_time(polled):
    res = polled[1]

    def got(dev):
        return {i.name: (i.speed_bps, i.discontinuity_ticks) for i in res[dev].reading.ifaces}
    # ifHighSpeed (Mbit/s) x 1e6; no ifCounterDiscontinuityTime in the RouterOS recording
    assert got("routeros") == {"wlan1": (50e6, None), "WAN": (100e6, None), "ether2": (100e6, None),
                               "wlan4": (50e6, None)}
    # ifHighSpeed 0 on the radios and no ifSpeed: the speed is unknown, not 0
    assert got("openwrt_wap-study") == {"eth0": (1000e6, 0), "eth1": (1000e6, 0), "eth0.1": (1000e6, 0),
                                        "eth1.2": (1000e6, 0), "wlan1": (None, 0), "wlan0": (None, 0)}
    assert got("ciscowlc_cbw240ac") == {"GigabitEthernet0/0/1": (1000e6, 0), "Virtual Interface": (1000e6, 0)}
    assert {v for v in got("unifi_nanohd").values()} == {(None, 0)}  # ifHighSpeed 0 everywhere


def test_every_recording_with_client_values_gives_them(polled):
    coll, res = polled
    # each recording's client numbers arrived (see the tests above); a controller's
    # listed APs without a client row are only counted as missing
    assert coll.stats["missing.clients"] == 0
    assert all(pick(r.samples, "ap_clients", ap=dev, radio="all") for dev, r in res.items())
