"""Poll results -> Samples: the schema lives here (see DESIGN.md).

Device-level measurements for every polled device, plus the controller
fan-out: per managed AP samples tagged with the inventory AP they match.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Optional

from collectors.counters import CounterTracker
from hotspot_monitor.config.models import AccessPoint, Config
from hotspot_monitor.sample import Sample

from .inventory import Device
from .profile import Profile
from .readings import Reading
from .values import normalize_mac

if TYPE_CHECKING:
    from .poller import PollResult

UPTIME_WRAP_S = (1 << 32) // 100  # sysUpTime is TimeTicks (1/100 s) in 32 bits


class SampleBuilder:
    """Turns one PollResult into Samples; owns the counter state via ``counters``."""

    def __init__(self, config: Config, counters: CounterTracker, profiles: dict[str, Profile]):
        self.config = config
        self.counters = counters
        self.profiles = profiles
        self._uptimes: dict[str, Optional[tuple[int, float]]] = {}

    def build(self, dev: Device, res: "PollResult", when: datetime) -> list[Sample]:
        tags = {"site": dev.site, "ap": dev.id}
        if not res.ok or res.reading is None:
            return [Sample("ap_status", {**tags, "source": "snmp"},
                           {"up": 0, "reason": res.reason or "snmp_error"}, when)]
        r = res.reading
        status: dict = {"up": 1, "response_ms": round(res.response_ms or 0.0, 3)}
        if r.uptime_s is not None:
            status["uptime_s"] = r.uptime_s
        out = [Sample("ap_status", {**tags, "source": "snmp"}, status, when)]
        profile = self.profiles[res.profile or "generic"]
        if profile.clients or profile.clients_total:
            merged: dict[str, int] = {}
            for per in r.clients.values():
                for band, n in per.items():
                    merged[band] = merged.get(band, 0) + n
            if dev.kind == "controller" and r.clients_total is not None:
                merged["all"] = r.clients_total
            merged.setdefault("all", 0)
            out += [Sample("ap_clients", {**tags, "radio": b}, {"clients": n}, when)
                    for b, n in sorted(merged.items())]
        out += self._traffic(dev, r, tags, when)
        system = {k: round(float(v), 4) for k, v in
                  (("cpu_pct", r.cpu_pct), ("mem_pct", r.mem_pct), ("temp_c", r.temp_c))
                  if v is not None}
        if system:
            out.append(Sample("ap_system", tags, system, when))
        if dev.kind == "controller" and profile.controller:
            out += self._fanout(dev, profile, r, when)
        return out

    def _uptime_for_counters(self, dev: Device, uptime_s: Optional[int], t: float) -> Optional[int]:
        """sysUpTime itself wraps after 497 days (2**32 ticks); that is no reboot.

        Handing a wrapped uptime to the counter tracker would make it count
        every interface's whole counter as one interval, so then give none
        and let the tracker judge the counters on their own.
        """
        prev = self._uptimes.get(dev.id)
        self._uptimes[dev.id] = (uptime_s, t) if uptime_s is not None else None
        if uptime_s is None or prev is None or prev[0] is None or uptime_s >= prev[0]:
            return uptime_s
        if prev[0] + (t - prev[1]) >= UPTIME_WRAP_S - 60:
            return None
        return uptime_s

    def _traffic(self, dev: Device, r: Reading, tags: dict, when: datetime) -> list[Sample]:
        out = []
        t = when.timestamp()
        up = self._uptime_for_counters(dev, r.uptime_s, t)
        for it in r.ifaces:
            # sysUpTime is the agent's uptime: an snmpd restart is not a reboot
            drx = self.counters.update((dev.id, it.name, "rx"), it.rx, t, bits=it.bits, uptime_s=up,
                                       agent_uptime=True)
            dtx = self.counters.update((dev.id, it.name, "tx"), it.tx, t, bits=it.bits, uptime_s=up,
                                       agent_uptime=True)
            if drx is None or dtx is None:
                continue
            fields: dict = {"rx_bytes": drx.bytes, "tx_bytes": dtx.bytes}
            if drx.bps is not None and dtx.bps is not None:
                fields["rx_bps"] = drx.bps
                fields["tx_bps"] = dtx.bps
            out.append(Sample("ap_traffic", {**tags, "iface": it.name}, fields, when))
        return out

    def _fanout(self, dev: Device, profile: Profile, r: Reading, when: datetime) -> list[Sample]:
        """Per managed AP samples, tagged with inventory APs where name or MAC match."""
        ctrl_site = dev.site
        by_mac: dict[str, AccessPoint] = {}
        by_name: dict[str, AccessPoint] = {}
        for a in self.config.aps:
            if a.controller not in (None, dev.id):
                continue
            if a.mac:
                by_mac[normalize_mac(a.mac) or a.mac.lower()] = a
            by_name.setdefault(a.id, a)
            if a.name:
                by_name.setdefault(a.name, a)
        seen: set[str] = set()
        out: list[Sample] = []
        for ap in r.aps:
            inv = (by_mac.get(ap.mac) if ap.mac else None) or (by_name.get(ap.name) if ap.name else None)
            if inv is not None:
                tags = {"site": inv.site, "ap": inv.id}
                seen.add(inv.id)
            else:
                tags = {"site": ctrl_site, "ap": ap.name or ap.mac or ".".join(map(str, ap.key))}
            status: dict = {"up": 1 if ap.up else 0}
            if not ap.up:
                status["reason"] = "controller_reports_down"
            if ap.uptime_s is not None:
                status["uptime_s"] = ap.uptime_s
            out.append(Sample("ap_status", {**tags, "source": "snmp"}, status, when))
            per = r.clients.get(ap.key)
            if per is not None or profile.clients:
                per = dict(per or {})
                per.setdefault("all", 0)
                out += [Sample("ap_clients", {**tags, "radio": b}, {"clients": n}, when)
                        for b, n in sorted(per.items())]
            system = {k: round(float(v), 4) for k, v in
                      (("cpu_pct", ap.cpu_pct), ("mem_pct", ap.mem_pct)) if v is not None}
            if system:
                out.append(Sample("ap_system", tags, system, when))
        listed = bool(profile.controller and profile.controller.aps) and bool(r.aps)  # the table answered
        if listed and not r.aps_truncated:
            # inventory APs of this controller that it no longer lists are down;
            # only when the table answered in full: an empty or cut-short walk
            # says nothing about the APs it did not return
            for a in self.config.aps:
                if a.controller == dev.id and a.id not in seen and not a.host:
                    out.append(Sample("ap_status", {"site": a.site, "ap": a.id, "source": "snmp"},
                                      {"up": 0, "reason": "controller_reports_down"}, when))
        fields: dict = {}
        if r.aps_total is not None:
            fields["aps_total"] = r.aps_total
        elif listed:
            fields["aps_total"] = len(r.aps)
        if r.aps_up is not None:
            fields["aps_up"] = r.aps_up
        elif listed:
            fields["aps_up"] = sum(1 for a in r.aps if a.up)
        if listed:
            fields["aps_down"] = sum(1 for a in r.aps if not a.up)
        if fields:
            out.append(Sample("controller_aps", {"site": ctrl_site, "ap": dev.id}, fields, when))
        return out
