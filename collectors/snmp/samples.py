"""Poll results -> Samples: the schema lives here (see DESIGN.md).

Device-level measurements for every polled device, plus the controller
fan-out: per managed AP samples tagged with the inventory AP they match.

A value the device does not have is missing, never 0: no sample (or no
field) is emitted for it and ``stats["missing.<what>"]`` counts it. Only a
0 the device reported is a 0.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Optional

from collectors.counters import CounterTracker
from collectors.policy import MetricsPolicy
from hotspot_monitor.config.models import AccessPoint, Config
from hotspot_monitor.sample import Sample

from .inventory import Device
from .profile import Profile
from .readings import Reading, add_count
from .values import normalize_mac

if TYPE_CHECKING:
    from .poller import PollResult

UPTIME_WRAP_S = (1 << 32) // 100  # sysUpTime is TimeTicks (1/100 s) in 32 bits


class SampleBuilder:
    """Turns one PollResult into Samples; owns the counter state via ``counters``."""

    def __init__(self, config: Config, counters: CounterTracker, profiles: dict[str, Profile],
                 stats: Optional[Counter] = None):
        self.config = config
        self.counters = counters
        self.profiles = profiles
        self.stats: Counter = stats if stats is not None else Counter()
        self.policy = MetricsPolicy(config)
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
        if dev.kind != "controller" and not self.policy.counts_metrics(dev.id, "snmp"):
            return out  # its metrics come from MQTT (aps[].metrics_from): no counter moves
        profile = self.profiles[res.profile or "generic"]
        self._count_missing(profile, r)
        if profile.clients or profile.clients_total:
            merged: dict[str, Optional[int]] = {}
            for per in r.clients.values():
                for band, n in per.items():
                    add_count(merged, band, n)  # one unknown part: the sum is unknown
            if dev.kind == "controller" and r.clients_total is not None:
                merged["all"] = r.clients_total
            known = {b: n for b, n in merged.items() if n is not None}
            out += [Sample("ap_clients", {**tags, "radio": b}, {"clients": n}, when)
                    for b, n in sorted(known.items())]
            if "all" not in known:  # no client number on this device: nothing, not "0 clients"
                self.stats["missing.clients"] += 1
        out += self._traffic(dev, r, tags, when)
        system = {k: round(float(v), 4) for k, v in
                  (("cpu_pct", r.cpu_pct), ("mem_pct", r.mem_pct), ("temp_c", r.temp_c))
                  if v is not None}
        if system:
            out.append(Sample("ap_system", tags, system, when))
        if dev.kind == "controller" and profile.controller:
            out += self._fanout(dev, profile, r, when)
        return out

    def _count_missing(self, profile: Profile, r: Reading) -> None:
        """Roles the profile asks for that this device did not answer."""
        for role, value in (("uptime", r.uptime_s), ("cpu", r.cpu_pct), ("mem", r.mem_pct),
                            ("temp", r.temp_c)):
            if getattr(profile, role) and value is None:
                self.stats[f"missing.{role}"] += 1

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
        # sysUpTime is the agent's uptime: the tracker treats uptime going back
        # while the counters went on (an snmpd restart) as no reboot
        up = self._uptime_for_counters(dev, r.uptime_s, t)
        for it in r.ifaces:
            speed = self.policy.link_bps(dev.site, it.speed_bps, self.counters.default_bps)
            iv = self.counters.update((dev.id, it.name), it.rx, it.tx, t, bits=it.bits, uptime_s=up,
                                      speed_bps=speed, discontinuity=it.discontinuity_ticks)
            if iv is not None:
                out.append(Sample("ap_traffic", {**tags, "iface": it.name}, iv.fields(), when))
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
        per_ap_clients = any(cs.ap_index for cs in profile.clients)
        for ap in r.aps:
            inv = (by_mac.get(ap.mac) if ap.mac else None) or (by_name.get(ap.name) if ap.name else None)
            if inv is not None:
                tags = {"site": inv.site, "ap": inv.id}
                seen.add(inv.id)
            else:
                tags = {"site": ctrl_site, "ap": ap.name or ap.mac or ".".join(map(str, ap.key))}
            if ap.status_known:  # else the AP table walk failed: its state is unknown, not up
                status: dict = {"up": 1 if ap.up else 0}
                if not ap.up:
                    status["reason"] = "controller_reports_down"
                if ap.uptime_s is not None:
                    status["uptime_s"] = ap.uptime_s
                out.append(Sample("ap_status", {**tags, "source": "snmp"}, status, when))
            if not self.policy.counts_metrics(tags["ap"], "snmp"):
                continue  # its metrics come from MQTT (aps[].metrics_from)
            per = {b: n for b, n in r.clients.get(ap.key, {}).items() if n is not None}
            out += [Sample("ap_clients", {**tags, "radio": b}, {"clients": n}, when)
                    for b, n in sorted(per.items())]
            if per_ap_clients and "all" not in per:  # no (readable) client row: unknown, not 0
                self.stats["missing.ap_clients"] += 1
            system = {k: round(float(v), 4) for k, v in
                      (("cpu_pct", ap.cpu_pct), ("mem_pct", ap.mem_pct)) if v is not None}
            if system:
                out.append(Sample("ap_system", tags, system, when))
        # the AP table answered in full: an empty, cut-short or failed walk says
        # nothing about the APs it did not return, and its row count is no count
        listed = bool(profile.controller and profile.controller.aps) and bool(r.aps) \
            and not r.aps_truncated
        if listed:
            # inventory APs of this controller that it no longer lists are down
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
        for k in ("aps_total", "aps_up", "aps_down"):
            if k not in fields:
                self.stats[f"missing.{k}"] += 1
        if fields:
            out.append(Sample("controller_aps", {"site": ctrl_site, "ap": dev.id}, fields, when))
        return out
