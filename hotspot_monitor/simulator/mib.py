"""Every OID the simulated APs answer, in one place, and the per-"shape" index.

A *shape* is (vendor, has 64-bit counters, CPU cores): all APs of a shape
share one sorted OID list (bisect for GETNEXT/GETBULK) whose entries name a
getter; values are computed at request time from the model (``Snap``).
OIDs and types follow the recordings in ``shared/fixtures/snmprec``
(unifi_nanohd, routeros, openwrt_wap-study).
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from .ber import (COUNTER32, COUNTER64, GAUGE32, INTEGER, OCTET_STRING, TIMETICKS, enc_int,
                  enc_octets, enc_oid, tlv)

Oid = tuple[int, ...]


def O(s: str) -> Oid:  # noqa: E743 - short on purpose, used in tables
    return tuple(int(x) for x in s.split("."))


# SNMPv2-MIB system group
SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME = O("1.3.6.1.2.1.1.1.0"), O("1.3.6.1.2.1.1.2.0"), O("1.3.6.1.2.1.1.3.0")
SYS_CONTACT, SYS_NAME, SYS_LOCATION, SYS_SERVICES = (
    O("1.3.6.1.2.1.1.4.0"), O("1.3.6.1.2.1.1.5.0"), O("1.3.6.1.2.1.1.6.0"), O("1.3.6.1.2.1.1.7.0"))
# IF-MIB
IF_NUMBER = O("1.3.6.1.2.1.2.1.0")
IF_ENTRY = O("1.3.6.1.2.1.2.2.1")  # .1 ifIndex .2 ifDescr .3 ifType .5 ifSpeed .6 ifPhysAddress
#                                   .7 ifAdminStatus .8 ifOperStatus .10 ifInOctets .16 ifOutOctets
IFX_ENTRY = O("1.3.6.1.2.1.31.1.1.1")  # .1 ifName .6 ifHCInOctets .10 ifHCOutOctets .15 ifHighSpeed .18 ifAlias
# HOST-RESOURCES-MIB
HR_SYSTEM_UPTIME = O("1.3.6.1.2.1.25.1.1.0")
HR_STORAGE_ENTRY = O("1.3.6.1.2.1.25.2.3.1")  # .2 type .3 descr .4 units .5 size .6 used
HR_STORAGE_RAM = O("1.3.6.1.2.1.25.2.1.2")
HR_PROCESSOR_LOAD = O("1.3.6.1.2.1.25.3.3.1.2")
# UBNT-UniFi-MIB
UNIFI_VAP_ENTRY = O("1.3.6.1.4.1.41112.1.6.1.2.1")  # .4 channel .6 essId .8 numStations .9 radio
UNIFI_RADIO_ENTRY = O("1.3.6.1.4.1.41112.1.6.1.1.1")  # .3 radio
UNIFI_MODEL, UNIFI_VERSION = O("1.3.6.1.4.1.41112.1.6.3.3.0"), O("1.3.6.1.4.1.41112.1.6.3.6.0")
UNIFI_MEM_TOTAL, UNIFI_MEM_FREE = O("1.3.6.1.4.1.10002.1.1.1.1.1.0"), O("1.3.6.1.4.1.10002.1.1.1.1.2.0")
# MIKROTIK-MIB
MT_AP_ENTRY = O("1.3.6.1.4.1.14988.1.1.1.3.1")  # .4 ssid .6 clientCount(Counter32) .7 freq(MHz)
MT_TEMPERATURE = O("1.3.6.1.4.1.14988.1.1.3.10.0")  # tenths of a degree C
MT_VERSION = O("1.3.6.1.4.1.14988.1.1.4.4.0")
# NET-SNMP-EXTEND-MIB nsExtendOutput1Line (OpenWrt's LibreNMS-style extends), UCD memory
NS_EXTEND_1LINE = O("1.3.6.1.4.1.8072.1.3.2.3.1.1")
UCD_MEM_TOTAL, UCD_MEM_AVAIL = O("1.3.6.1.4.1.2021.4.5.0"), O("1.3.6.1.4.1.2021.4.6.0")

NETSNMP_LINUX = O("1.3.6.1.4.1.8072.3.2.10")
MIKROTIK_OBJECT_ID = O("1.3.6.1.4.1.14988.1")
SSID = "Solo-WiFi-Gratis"
CONTACT = "Diskominfo SP Surakarta"
CHANNELS_24, CHANNELS_5 = (1, 6, 11), (36, 44, 149, 157)

# Interfaces per vendor: (ifIndex, name, ifType, role, speed Mbit/s)
# role: uplink/bridge/radio24/radio5/lo decides the share of the AP's traffic.
IFACES = {
    "unifi": [(1, "lo", 24, "lo", 0), (2, "eth0", 6, "uplink", 1000), (3, "ra0", 6, "radio24", 300),
              (4, "rai0", 6, "radio5", 867), (5, "br0", 6, "bridge", 0)],
    "mikrotik": [(1, "wlan1", 71, "radio24", 300), (2, "wlan2", 71, "radio5", 867),
                 (3, "ether1", 6, "uplink", 1000), (4, "bridge", 209, "bridge", 0)],
    "openwrt": [(1, "lo", 24, "lo", 0), (2, "eth0", 6, "uplink", 1000), (3, "br-lan", 6, "bridge", 0),
                (4, "wlan0", 71, "radio24", 300), (5, "wlan1", 71, "radio5", 867)],
    "generic": [(1, "lo", 24, "lo", 0), (2, "eth0", 6, "uplink", 1000), (3, "wlan0", 71, "radio24", 300),
                (4, "wlan1", 71, "radio5", 867)],
}
SYS_DESCR_TEXT = {
    "unifi": "UAP-nanoHD 5.43.36.12724",
    "mikrotik": "RouterOS RBcAPGi-5acD2nD",
    "openwrt": "Linux {name} 5.4.35 #0 Sun Apr 26 12:19:33 2020 armv7l",
    "generic": "Linux {name} 4.14.180 #1 SMP Wed Jun 3 2020 mips",
}
TEMP_VENDORS = ("mikrotik",)  # vendors whose agent answers a temperature
HR_CPU_BASE = {"unifi": 196608, "openwrt": 196608, "generic": 196608, "mikrotik": 1}
LO_BPS = 64  # loopback traffic, bytes/s each way


def extend_index(name: str) -> Oid:
    """nsExtendConfigTable index: length + ASCII of the extend's name."""
    return (len(name),) + tuple(name.encode())


def traffic_factor(role: str, direction: str, a: "object") -> float:
    """Bytes on an interface per byte downloaded by clients (model's unit)."""
    up = a.up_ratio  # type: ignore[attr-defined]
    s24 = a.share24  # type: ignore[attr-defined]
    base = 1.0 if direction == "in" else up
    if role == "uplink":
        return 1.03 * base
    if role == "bridge":
        return 1.01 * base
    radio_base = up if direction == "in" else 1.0  # radios: clients send "in", receive "out"
    if role == "radio24":
        return s24 * radio_base
    if role == "radio5":
        return (1 - s24) * radio_base
    return 0.0


class Snap:
    """One AP at one instant; memoises what several OIDs of one request share."""

    __slots__ = ("sim", "a", "t", "boot", "_cl", "_dl", "site_name", "ap_name")

    def __init__(self, sim: "object", a: "object", t: float, boot: float,
                 site_name: str, ap_name: str) -> None:
        self.sim, self.a, self.t, self.boot = sim, a, t, boot
        self.site_name, self.ap_name = site_name, ap_name
        self._cl = None
        self._dl = None

    def clients(self) -> tuple[int, int]:
        if self._cl is None:
            self._cl = self.sim.clients(self.a.id, self.t)  # type: ignore[attr-defined]
        return self._cl

    def download(self) -> float:
        if self._dl is None:
            self._dl = self.sim.download(self.a.id, self.boot, self.t)  # type: ignore[attr-defined]
        return self._dl

    def counter(self, role: str, direction: str) -> int:
        if role == "lo":
            return int((self.t - self.boot) * LO_BPS)
        return int(self.download() * traffic_factor(role, direction, self.a))

    def uptime_cs(self) -> int:
        return int((self.t - self.boot) * 100) & 0xFFFFFFFF


# --- getters: (snap, arg) -> encoded value TLV ------------------------------
Getter = Callable[[Snap, object], bytes]


def g_const(s: Snap, arg: object) -> bytes:
    return arg  # type: ignore[return-value]


def g_uptime(s: Snap, arg: object) -> bytes:
    return enc_int(s.uptime_cs(), TIMETICKS)


def g_name(s: Snap, arg: object) -> bytes:
    return enc_octets(s.a.id)  # type: ignore[attr-defined]


def g_location(s: Snap, arg: object) -> bytes:
    return enc_octets(s.site_name)


def g_descr(s: Snap, arg: object) -> bytes:
    return enc_octets(str(arg).format(name=s.a.id))  # type: ignore[attr-defined]


def g_mac(s: Snap, arg: object) -> bytes:
    mac = bytearray(s.a.mac)  # type: ignore[attr-defined]
    mac[5] = (mac[5] + int(arg)) & 0xFF  # type: ignore[call-overload]
    return tlv(OCTET_STRING, bytes(mac))


def g_c32(s: Snap, arg: object) -> bytes:
    role, direction = arg  # type: ignore[misc]
    return enc_int(s.counter(role, direction) & 0xFFFFFFFF, COUNTER32)


def g_c64(s: Snap, arg: object) -> bytes:
    role, direction = arg  # type: ignore[misc]
    return enc_int(s.counter(role, direction) & 0xFFFFFFFFFFFFFFFF, COUNTER64)


CORE_SPREAD = (2, -2, 1, -1)  # per-core offsets that average to zero (1, 2 or 4 cores)


def g_cpu(s: Snap, arg: object) -> bytes:
    """hrProcessorLoad of core ``arg``; the mean over cores is the model's cpu_pct."""
    base = s.sim.cpu_pct(s.a.id, s.t)  # type: ignore[attr-defined]
    off = 0 if s.a.ncpu == 1 else CORE_SPREAD[int(arg) % 4]  # type: ignore[attr-defined, call-overload]
    return enc_int(base + off)


def _band(s: Snap, band: str) -> int:
    c24, c5 = s.clients()
    return c24 if band == "2.4" else c5 if band == "5" else c24 + c5


def g_clients_int(s: Snap, arg: object) -> bytes:
    return enc_int(_band(s, str(arg)))


def g_clients_c32(s: Snap, arg: object) -> bytes:
    return enc_int(_band(s, str(arg)), COUNTER32)


def g_clients_str(s: Snap, arg: object) -> bytes:
    return enc_octets(str(_band(s, str(arg))))


def _mem_used_kb(s: Snap) -> int:
    return s.sim.mem_used_kb(s.a.id, s.t)  # type: ignore[attr-defined]


def g_mem_free_gauge(s: Snap, arg: object) -> bytes:
    return enc_int(s.a.mem_kb - _mem_used_kb(s), GAUGE32)  # type: ignore[attr-defined]


def g_mem_free_int(s: Snap, arg: object) -> bytes:
    return enc_int(s.a.mem_kb - _mem_used_kb(s))  # type: ignore[attr-defined]


def g_mem_used_units(s: Snap, arg: object) -> bytes:
    return enc_int(_mem_used_kb(s))  # allocation unit 1024 bytes


def g_temp_dc(s: Snap, arg: object) -> bytes:
    return enc_int(int(round(s.sim.temp_c(s.a.id, s.t) * 10)))  # type: ignore[attr-defined]


def g_channel(s: Snap, arg: object) -> bytes:
    chans = CHANNELS_24 if arg == "2.4" else CHANNELS_5
    return enc_int(chans[s.a.key % len(chans)])  # type: ignore[attr-defined]


def g_freq(s: Snap, arg: object) -> bytes:
    ch = CHANNELS_24[s.a.key % 3] if arg == "2.4" else CHANNELS_5[s.a.key % 4]  # type: ignore[attr-defined]
    return enc_int(2407 + 5 * ch if arg == "2.4" else 5000 + 5 * ch)


def g_freq_str(s: Snap, arg: object) -> bytes:
    ch = CHANNELS_24[s.a.key % 3] if arg == "2.4" else CHANNELS_5[s.a.key % 4]  # type: ignore[attr-defined]
    return enc_octets(str(2407 + 5 * ch if arg == "2.4" else 5000 + 5 * ch))


@dataclass(frozen=True)
class Shape:
    """Sorted OIDs of one kind of AP, their encodings and getters."""

    oids: list[Oid]
    enc: list[bytes]  # encoded OID TLVs
    getters: list[Getter]
    args: list[object]
    index: dict[Oid, int]

    def next_after(self, oid: Oid) -> int:
        """Position of the first OID strictly after ``oid`` (len(oids) at the end)."""
        return bisect_right(self.oids, oid)


def _entries(vendor: str, hc: bool, ncpu: int) -> list[tuple[Oid, Getter, object]]:
    s = enc_octets
    e: list[tuple[Oid, Getter, object]] = [
        (SYS_DESCR, g_descr, SYS_DESCR_TEXT[vendor]),
        (SYS_OBJECT_ID, g_const, enc_oid(MIKROTIK_OBJECT_ID if vendor == "mikrotik" else NETSNMP_LINUX)),
        (SYS_UPTIME, g_uptime, None),
        (SYS_CONTACT, g_const, s(CONTACT)),
        (SYS_NAME, g_name, None),
        (SYS_LOCATION, g_location, None),
        (SYS_SERVICES, g_const, enc_int(72)),
        (HR_SYSTEM_UPTIME, g_uptime, None),
    ]
    ifs = IFACES[vendor]
    e.append((IF_NUMBER, g_const, enc_int(len(ifs))))
    for idx, name, iftype, role, speed in ifs:
        col = lambda c: IF_ENTRY + (c, idx)  # noqa: E731
        e += [
            (col(1), g_const, enc_int(idx)),
            (col(2), g_const, s(name)),
            (col(3), g_const, enc_int(iftype)),
            (col(5), g_const, enc_int(min(speed * 1_000_000, 0xFFFFFFFF), GAUGE32)),
            (col(6), g_mac if role != "lo" else g_const, idx if role != "lo" else s(b"")),
            (col(7), g_const, enc_int(1)),
            (col(8), g_const, enc_int(1)),
            (col(10), g_c32, (role, "in")),
            (col(16), g_c32, (role, "out")),
        ]
        if hc:
            xcol = lambda c: IFX_ENTRY + (c, idx)  # noqa: E731
            e += [
                (xcol(1), g_const, s(name)),
                (xcol(6), g_c64, (role, "in")),
                (xcol(10), g_c64, (role, "out")),
                (xcol(15), g_const, enc_int(speed, GAUGE32)),
                (xcol(18), g_const, s("")),
                (xcol(19), g_const, enc_int(0, TIMETICKS)),  # ifCounterDiscontinuityTime: none since boot
            ]
    base = HR_CPU_BASE[vendor]
    for i in range(ncpu):
        e.append((HR_PROCESSOR_LOAD + (base + i,), g_cpu, i))
    # hrStorage RAM row everywhere; UCD memory on the net-snmp based firmwares
    # (RouterOS has no UCD-SNMP-MIB: collectors must fall back to hrStorage).
    if vendor in ("unifi", "generic", "openwrt"):
        e += [(UCD_MEM_TOTAL, g_const, None), (UCD_MEM_AVAIL, g_mem_free_int, None)]
    idx = 65536 if vendor == "mikrotik" else 1
    e += [
        (HR_STORAGE_ENTRY + (2, idx), g_const, enc_oid(HR_STORAGE_RAM)),
        (HR_STORAGE_ENTRY + (3, idx), g_const, s("main memory" if vendor == "mikrotik" else "Physical memory")),
        (HR_STORAGE_ENTRY + (4, idx), g_const, enc_int(1024)),
        (HR_STORAGE_ENTRY + (5, idx), g_const, None),  # filled per AP below (mem_kb)
        (HR_STORAGE_ENTRY + (6, idx), g_mem_used_units, None),
    ]
    if vendor == "unifi":
        for vap, band, radio in ((1, "2.4", "ng"), (2, "5", "na")):
            e += [
                (UNIFI_VAP_ENTRY + (4, vap), g_channel, band),
                (UNIFI_VAP_ENTRY + (6, vap), g_const, s(SSID)),
                (UNIFI_VAP_ENTRY + (8, vap), g_clients_int, band),
                (UNIFI_VAP_ENTRY + (9, vap), g_const, s(radio)),
                (UNIFI_RADIO_ENTRY + (3, vap), g_const, s(radio)),
            ]
        e += [
            (UNIFI_MODEL, g_const, s("UAP-nanoHD")),
            (UNIFI_VERSION, g_const, s("5.43.36.12724")),
            (UNIFI_MEM_TOTAL, g_const, None),
            (UNIFI_MEM_FREE, g_mem_free_gauge, None),
        ]
    if vendor == "mikrotik":
        for idx, band in ((1, "2.4"), (2, "5")):
            e += [
                (MT_AP_ENTRY + (4, idx), g_const, s(SSID)),
                (MT_AP_ENTRY + (6, idx), g_clients_c32, band),
                (MT_AP_ENTRY + (7, idx), g_freq, band),
            ]
        e += [(MT_TEMPERATURE, g_temp_dc, None), (MT_VERSION, g_const, s("6.49.10"))]
    if vendor == "openwrt":
        for name, g, arg in (("clients-wlan", g_clients_str, "all"), ("clients-wlan0", g_clients_str, "2.4"),
                             ("clients-wlan1", g_clients_str, "5"), ("frequency-wlan0", g_freq_str, "2.4"),
                             ("frequency-wlan1", g_freq_str, "5")):
            e.append((NS_EXTEND_1LINE + extend_index(name), g, arg))
    return e


def g_mem_total(s: Snap, arg: object) -> bytes:
    return enc_int(s.a.mem_kb, int(arg))  # type: ignore[attr-defined, call-overload]


@lru_cache(maxsize=None)
def shape(vendor: str, hc: bool, ncpu: int) -> Shape:
    rows = []
    for oid, g, arg in _entries(vendor, hc, ncpu):
        if g is g_const and arg is None:  # memory totals depend on the AP
            tag = GAUGE32 if oid == UNIFI_MEM_TOTAL else INTEGER
            g, arg = g_mem_total, tag
        rows.append((oid, g, arg))
    rows.sort(key=lambda r: r[0])
    oids = [r[0] for r in rows]
    assert len(set(oids)) == len(oids), "duplicate OID in simulator MIB"
    return Shape(oids=oids, enc=[enc_oid(o) for o in oids], getters=[r[1] for r in rows],
                 args=[r[2] for r in rows], index={o: i for i, o in enumerate(oids)})
