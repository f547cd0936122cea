"""From fetched scalars and table rows to what a device *means* (no I/O).

Input is :class:`DeviceData` (values already converted to the profile's
types); output are plain dataclasses the poller turns into Samples. Kept
apart from the transport so a profile can be checked against any data.
"""
from __future__ import annotations

from collections import Counter

import re
from dataclasses import dataclass, field
from typing import Optional

from .profile import ApTable, BandSpec, ClientSource, Profile, ValueSpec
from .values import mac_text

HR_STORAGE_RAM = "1.3.6.1.2.1.25.2.1.2"
IF_SPEED_SATURATED = 4294967295  # ifSpeed's "faster than this: read ifHighSpeed"

Index = tuple[int, ...]


@dataclass
class DeviceData:
    scalars: dict[str, object] = field(default_factory=dict)
    tables: dict[str, dict[Index, dict[str, object]]] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)  # tables cut short or failed


@dataclass
class Iface:
    name: str
    rx: int
    tx: int
    bits: int
    speed_bps: Optional[float] = None  # ifHighSpeed x 1e6, else ifSpeed; None when unknown
    discontinuity_ticks: Optional[int] = None  # ifCounterDiscontinuityTime, None when absent


@dataclass
class ManagedAp:
    key: Index  # the controller's index for the AP (MAC sub-ids)
    mac: Optional[str]
    name: Optional[str]
    up: bool
    uptime_s: Optional[int] = None
    cpu_pct: Optional[float] = None
    mem_pct: Optional[float] = None
    status_known: bool = True  # False: only in the radio rows while the AP table walk failed


@dataclass
class Reading:
    uptime_s: Optional[int] = None
    uptime_from: Optional[str] = None  # the scalar it came from: sysUpTime (agent) or hrSystemUptime (host)
    clients: dict[Optional[Index], dict[str, Optional[int]]] = field(default_factory=dict)  # None: unknown
    clients_total: Optional[int] = None
    cpu_pct: Optional[float] = None
    mem_pct: Optional[float] = None
    temp_c: Optional[float] = None
    ifaces: list[Iface] = field(default_factory=list)
    aps: list[ManagedAp] = field(default_factory=list)
    aps_total: Optional[int] = None
    aps_up: Optional[int] = None
    aps_truncated: bool = False  # the AP table walk was cut short or failed


def decode_string_index(idx: Index) -> Optional[str]:
    """Length-prefixed ASCII index (net-snmp extend names, SmartZone serials)."""
    if not idx or idx[0] != len(idx) - 1 or any(not 0 <= x < 256 for x in idx[1:]):
        return None
    return bytes(idx[1:]).decode("ascii", "replace")


def encode_string_index(s: str) -> Index:
    b = s.encode()
    return (len(b),) + tuple(b)


def _num(v: object) -> Optional[float]:
    """Numbers, and numeric strings (net-snmp extend output is text)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def speed_bps(high_speed: object, speed: object) -> Optional[float]:
    """An interface's speed in bit/s from IF-MIB, or None when the agent does not say.

    ifHighSpeed (Mbit/s) when above 0; else ifSpeed when above 0 and below its
    saturation value 4294967295 (which means "faster than 4.29 Gbit/s").
    """
    if isinstance(high_speed, (int, float)) and not isinstance(high_speed, bool) and high_speed > 0:
        return float(high_speed) * 1e6
    if isinstance(speed, (int, float)) and not isinstance(speed, bool) and 0 < speed < IF_SPEED_SATURATED:
        return float(speed)
    return None


def add_count(slot: dict[str, Optional[int]], band: str, n: Optional[int]) -> None:
    """Add ``n`` clients to ``slot[band]``; an unknown part (None) makes the sum unknown."""
    slot[band] = None if n is None or (band in slot and slot[band] is None) else slot.get(band, 0) + n


def _norm_status(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip().lower()


def _status_up(status: object, spec: "ApTable") -> bool:
    """Enum (1 = up) or text ("Disconnect") status of a managed AP."""
    if spec.down_values:
        return _norm_status(status) not in {_norm_status(x) for x in spec.down_values}
    return _norm_status(status) in {_norm_status(x) for x in spec.up_values}


def band_of(spec: BandSpec, value: object) -> Optional[str]:
    if value is None:
        return None
    if spec.kind == "map":
        key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        return spec.map.get(key.strip())
    if spec.kind == "mhz":
        try:
            mhz = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if 2400 <= mhz < 2500:
            return "2.4GHz"
        if 5150 <= mhz < 5925:
            return "5GHz"
        if 5925 <= mhz <= 7125:
            return "6GHz"
        return None
    m = re.match(r"\s*(\d+)", str(value))  # channel: "116E", "53S", "6"
    if not m:
        return None
    ch = int(m.group(1))
    if 1 <= ch <= 14:
        return "2.4GHz"
    if 32 <= ch <= 177:
        return "5GHz"
    return None


class Extractor:
    """Applies one profile's roles to one device's data."""

    def __init__(self, profile: Profile):
        self.p = profile

    def _ref(self, d: DeviceData, ref: str) -> list[object]:
        if "." in ref:
            t, c = ref.split(".", 1)
            return [row[c] for row in d.tables.get(t, {}).values() if row.get(c) is not None]
        v = d.scalars.get(ref)
        return [] if v is None else [v]

    def value(self, d: DeviceData, specs: list[ValueSpec]) -> Optional[float]:
        return self.value_from(d, specs)[0]

    def value_from(self, d: DeviceData, specs: list[ValueSpec]
                   ) -> tuple[Optional[float], Optional[ValueSpec]]:
        """The first alternative that has a value, and which one it was."""
        for vs in specs:
            v = self._one(d, vs)
            if v is not None:
                return v * vs.scale, vs
        return None, None

    def _one(self, d: DeviceData, vs: ValueSpec) -> Optional[float]:
        nums = lambda ref: [float(x) for x in self._ref(d, ref) if isinstance(x, (int, float))]  # noqa: E731
        if vs.scalar:
            xs = nums(vs.scalar)
            return xs[0] if xs else None
        if vs.mean:
            xs = nums(vs.mean)
            return sum(xs) / len(xs) if xs else None
        if vs.sum:
            xs = nums(vs.sum)
            return sum(xs) if xs else None
        if vs.used_of:
            total = nums(vs.used_of["total"])
            if not total or total[0] <= 0:
                return None
            if "used" in vs.used_of:
                used = nums(vs.used_of["used"])
                return used[0] * 100.0 / total[0] if used else None
            free = nums(vs.used_of["free"])
            return (total[0] - free[0]) * 100.0 / total[0] if free else None
        if vs.hr_storage_ram:
            for row in d.tables.get(vs.hr_storage_ram, {}).values():
                if row.get("type") == HR_STORAGE_RAM and isinstance(row.get("size"), (int, float)) \
                        and row["size"] > 0 and isinstance(row.get("used"), (int, float)):
                    return row["used"] * 100.0 / row["size"]
        return None

    def clients(self, d: DeviceData) -> dict[Optional[Index], dict[str, Optional[int]]]:
        """Per AP key (None = this device): {"2.4GHz": n, ..., "all": n}.

        Rows whose band is unknown count in ``all`` only. A device without
        the values gives no entry (never 0); a table whose walk was cut short
        or failed gives none either: part of a table is not a count. A row
        without a readable count makes its AP's ``all`` (and its band, when
        known) None: unknown, since a sum that skips it would be too low.
        """
        out: dict[Optional[Index], dict[str, Optional[int]]] = {}
        for cs in self.p.clients:
            self._client_source(d, cs, out)
        return out

    def _client_source(self, d: DeviceData, cs: ClientSource, out: dict) -> None:
        if cs.scalar:
            v = d.scalars.get(cs.scalar)
            if isinstance(v, (int, float)) and v >= 0:
                add_count(out.setdefault(None, {}), "all", int(v))
            return
        if cs.table in d.incomplete:
            return
        rows = d.tables.get(cs.table or "", {})
        pattern = re.compile(cs.match) if cs.match else None
        for idx, row in rows.items():
            groups: dict[str, str] = {}
            if pattern:
                name = decode_string_index(idx)
                m = pattern.match(name) if name is not None else None
                if not m:
                    continue
                groups = {k: v for k, v in m.groupdict().items() if v is not None}
            n = _num(row.get(cs.value or ""))
            band = None
            if cs.band:
                src = row
                if cs.band.lookup:
                    try:
                        src = rows.get(encode_string_index(cs.band.lookup.format(**groups)), {})
                    except (KeyError, IndexError):
                        src = {}
                band = band_of(cs.band, src.get(cs.band.column))
            key = idx[:cs.ap_index] if cs.ap_index else None
            slot = out.setdefault(key, {})
            count = int(n) if n is not None and n >= 0 else None
            for b in ("all", band) if band else ("all",):
                add_count(slot, b, count)

    def ifaces(self, d: DeviceData) -> list[Iface]:
        it = self.p.interfaces
        if it is None:
            return []
        inc = re.compile(it.include_name) if it.include_name else None
        exc = re.compile(it.exclude_name) if it.exclude_name else None
        out: list[Iface] = []
        indexes: list[Index] = []
        for idx, row in sorted(d.tables.get(it.table, {}).items()):
            name = row.get(it.name) or (row.get(it.descr) if it.descr else None) or \
                ".".join(str(x) for x in idx)
            name = str(name)
            if it.type and row.get(it.type) in it.exclude_types:
                continue
            if it.skip_down and it.oper and row.get(it.oper) not in (None, 1):
                continue
            if (inc and not inc.search(name)) or (exc and exc.search(name)):
                continue
            rx = row.get(it.in64) if it.in64 else None
            tx = row.get(it.out64) if it.out64 else None
            if not (isinstance(rx, tuple) and isinstance(tx, tuple)):
                rx = row.get(it.in32) if it.in32 else None
                tx = row.get(it.out32) if it.out32 else None
            if isinstance(rx, tuple) and isinstance(tx, tuple) and rx[1] == tx[1]:
                disc = row.get(it.discontinuity) if it.discontinuity else None
                out.append(Iface(name, rx[0], tx[0], rx[1],
                                 speed_bps=speed_bps(row.get(it.high_speed) if it.high_speed else None,
                                                     row.get(it.speed) if it.speed else None),
                                 discontinuity_ticks=int(disc) if isinstance(disc, (int, float))
                                 and not isinstance(disc, bool) and disc >= 0 else None))
                indexes.append(idx)
        # Two rows with one name (ifDescr fallbacks often repeat) would share a
        # counter baseline and a series: name them apart by their ifIndex.
        seen = Counter(i.name for i in out)
        for i, idx in zip(out, indexes):
            if seen[i.name] > 1:
                i.name = f"{i.name}.{'.'.join(str(x) for x in idx)}"
        return out

    def managed_aps(self, d: DeviceData, clients: dict) -> list[ManagedAp]:
        spec = self.p.controller.aps if self.p.controller else None
        rows = d.tables.get(spec.table, {}) if spec else {}
        table_failed = spec is not None and spec.table in d.incomplete
        keys = set(rows) | {k for k in clients if k is not None}
        out: list[ManagedAp] = []
        for key in sorted(keys):
            row = rows.get(key, {})
            mac = row.get(spec.mac) if spec and spec.mac else None
            if mac is None and (spec is None or spec.index == "mac6") and len(key) == 6 \
                    and all(0 <= x < 256 for x in key):
                mac = mac_text(key)
            name = row.get(spec.name) if spec and spec.name else None
            status = row.get(spec.status) if spec and spec.status else None
            up = True if status is None or spec is None else _status_up(status, spec)
            ap = ManagedAp(key, mac, str(name) if name else None, up,
                           status_known=not (table_failed and key not in rows))
            if spec and spec.uptime and isinstance(row.get(spec.uptime), (int, float)):
                ap.uptime_s = int(row[spec.uptime])
            if spec and spec.cpu and isinstance(row.get(spec.cpu), (int, float)):
                ap.cpu_pct = float(row[spec.cpu])
            if spec and spec.mem_pct and isinstance(row.get(spec.mem_pct), (int, float)):
                ap.mem_pct = float(row[spec.mem_pct])
            elif spec and spec.mem_total:
                total = row.get(spec.mem_total)
                if isinstance(total, (int, float)) and total > 0:
                    if spec.mem_used and isinstance(row.get(spec.mem_used), (int, float)):
                        ap.mem_pct = row[spec.mem_used] * 100.0 / total
                    elif spec.mem_free and isinstance(row.get(spec.mem_free), (int, float)):
                        ap.mem_pct = (total - row[spec.mem_free]) * 100.0 / total
            out.append(ap)
        return out

    def read(self, d: DeviceData) -> Reading:
        r = Reading()
        up, src = self.value_from(d, self.p.uptime)
        r.uptime_s = int(up) if up is not None else None
        r.uptime_from = src.scalar if src is not None else None
        r.clients = self.clients(d)
        tot = self.value(d, self.p.clients_total)
        r.clients_total = int(tot) if tot is not None else None
        r.cpu_pct = self.value(d, self.p.cpu)
        r.mem_pct = self.value(d, self.p.mem)
        r.temp_c = self.value(d, self.p.temp)
        r.ifaces = self.ifaces(d)
        if self.p.controller:
            r.aps = self.managed_aps(d, r.clients)
            r.aps_truncated = bool(self.p.controller.aps) and self.p.controller.aps.table in d.incomplete
            t = self.value(d, self.p.controller.aps_total)
            u = self.value(d, self.p.controller.aps_up)
            r.aps_total = int(t) if t is not None else None
            r.aps_up = int(u) if u is not None else None
        return r
