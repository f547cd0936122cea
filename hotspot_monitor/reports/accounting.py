"""Availability under a partner's accounting rules: every second of every AP accounted for.

The same model as :mod:`hotspot_monitor.status.availability` (docs/status.md),
from the same state store tables and interval algebra, with the rules of
docs/report.md on top:

* service time = the site's service hours, or the whole month when time
  outside service hours is not excluded;
* maintenance = service time in planned maintenance, when maintenance is
  excluded (otherwise maintenance counts like any other time);
* monitored = service - maintenance, while the service ran and the AP was observed;
* each outage is *counted*, or *excluded* as ``short`` (full length under
  ``min_outage_s``) or ``power_cut`` (every AP of its site went down within
  ``POWER_CUT_WINDOW_S``, the alerting rule; only when power cuts are excluded);
* down = monitored time inside counted outages; excluded outages' monitored time
  is reported apart and counts as available (it is not held against the partner).

Every figure is an integer number of microseconds; each outage's part in the
month is split into outside service hours + maintenance + unmonitored +
monitored, so the appendix explains each second.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Optional

from ..alerts.rules import POWER_CUT_WINDOW_S
from ..config.models import Config
from ..sample import to_us, utc
from ..status.availability import MaintenanceWindow
from ..status.service_hours import Interval, intersect, merge, service_intervals, subtract, total
from ..status.statestore import Outage, StateStore
from .rules import AccountingRules, ReportScope

COUNTED, SHORT, POWER_CUT, NOT_IN_SERVICE = "counted", "short", "power_cut", "not_in_service"
POWER_CUT_WINDOW_US = round(POWER_CUT_WINDOW_S * 1_000_000)


@dataclass(frozen=True, slots=True)
class OutageLine:
    """One outage that overlaps the month, and what became of each of its seconds."""

    outage: Outage
    site: str
    power_cut: bool  # classified so (site-wide, within the window), whatever the rules
    status: str  # counted | short | power_cut | not_in_service
    full_us: int  # its whole length (open: up to the end of the month)
    in_month_us: int
    outside_hours_us: int
    maintenance_us: int
    unmonitored_us: int
    monitored_us: int  # = counted_us for a counted outage, excluded_us for an excluded one

    @property
    def counted_us(self) -> int:
        return self.monitored_us if self.status == COUNTED else 0

    @property
    def excluded_us(self) -> int:
        return self.monitored_us if self.status in (SHORT, POWER_CUT) else 0


@dataclass(slots=True)
class ApAccount:
    ap: str
    site: str
    district: Optional[str]
    month_us: int
    service_us: int
    maintenance_us: int
    monitored_us: int
    down_us: int
    short_us: int
    power_cut_us: int
    outages: list[OutageLine] = field(default_factory=list)
    outage_time: list[Interval] = field(default_factory=list)  # every outage, monitored part

    @property
    def unmonitored_us(self) -> int:
        return self.service_us - self.maintenance_us - self.monitored_us

    @property
    def outside_hours_us(self) -> int:
        return self.month_us - self.service_us

    @property
    def counted(self) -> list[OutageLine]:
        return [o for o in self.outages if o.status == COUNTED and o.monitored_us > 0]


@dataclass(frozen=True, slots=True)
class Accounting:
    aps: dict[str, ApAccount]
    site_down_us: dict[str, int]  # time every observed AP of the site was in an outage
    lines: list[OutageLine]


def aps_in_scope(states: StateStore, cfg: Config, scope: ReportScope) -> dict[str, str]:
    """AP -> site: the inventory's APs of the scope's sites, plus APs the state store
    knows under those sites that the inventory no longer lists (their past counts)."""
    sites = {r["ap"]: r["site"] for r in states.load_ap_states()}
    sites.update({a.id: a.site for a in cfg.aps})
    return {a: s for a, s in sites.items() if s in scope.sites}


def account(states: StateStore, cfg: Config, scope: ReportScope, rules: AccountingRules, *,
            start: datetime, end: datetime,
            maintenance: Iterable[MaintenanceWindow] = ()) -> Accounting:
    """Every AP of ``scope`` over ``[start, end)`` under ``rules``."""
    start, end = utc(start), utc(end)
    s_us, e_us = to_us(start), to_us(end)
    windows = list(maintenance) if rules.exclude_maintenance else []
    scope_aps = aps_in_scope(states, cfg, scope)
    sessions = intersect(merge((to_us(x.started), to_us(x.covered_until))
                               for x in states.sessions(start=start, end=end)), [(s_us, e_us)])
    by_ap: dict[str, list[Outage]] = {}
    for o in states.outages(start=start, end=end):
        if o.ap in scope_aps:
            by_ap.setdefault(o.ap, []).append(o)
    covered: dict[str, list[Interval]] = {}
    for c in states.coverage(start=start, end=end):
        if c.ap in scope_aps:
            covered.setdefault(c.ap, []).append((to_us(c.start), to_us(c.end)))
    sites = {x.id: x for x in cfg.sites}
    hours_of: dict[str, list[Interval]] = {}
    parts: dict[str, tuple[list[Interval], list[Interval], list[Interval]]] = {}
    for ap, site_id in sorted(scope_aps.items()):
        st = sites.get(site_id)
        if site_id not in hours_of:
            hours = st.service_hours if (st is not None and rules.exclude_outside_hours) else None
            hours_of[site_id] = service_intervals(hours, cfg.tz, start, end)
        hours = hours_of[site_id]
        maint = intersect(hours, merge((max(s_us, to_us(w.start)), min(e_us, to_us(w.end)))
                                       for w in windows if w.applies_to(ap, site_id)))
        avail = subtract(hours, maint)
        mon = intersect(intersect(avail, sessions), merge(covered.get(ap, [])))
        parts[ap] = (hours, maint, mon)
    judged: dict[str, list[str]] = {}
    for ap, site_id in sorted(scope_aps.items()):
        if total(parts[ap][2]) > 0:
            judged.setdefault(site_id, []).append(ap)
    power = _power_cuts(judged, by_ap)
    aps: dict[str, ApAccount] = {}
    lines: list[OutageLine] = []
    for ap, site_id in sorted(scope_aps.items()):
        hours, maint, mon = parts[ap]
        st = sites.get(site_id)
        acc = ApAccount(ap, site_id, st.district if st else None, e_us - s_us, total(hours),
                        total(maint), total(mon), 0, 0, 0)
        counted: list[Interval] = []
        short: list[Interval] = []
        cut: list[Interval] = []
        every: list[Interval] = []
        for o in by_ap.get(ap, []):
            iv = (to_us(o.start), to_us(o.end) if o.end is not None else e_us)
            in_month = intersect([(s_us, e_us)], [iv]) if iv[1] > iv[0] else []
            on_mon = intersect(mon, in_month)
            is_cut = o.id in power
            if not on_mon:
                status = NOT_IN_SERVICE
            elif is_cut and rules.exclude_power_cuts:
                status = POWER_CUT
            elif iv[1] - iv[0] < rules.min_outage_us:
                status = SHORT
            else:
                status = COUNTED
            {COUNTED: counted, SHORT: short, POWER_CUT: cut}.get(status, []).extend(on_mon)
            every.extend(on_mon)
            line = OutageLine(o, site_id, is_cut, status, iv[1] - iv[0], total(in_month),
                              total(subtract(in_month, hours)), total(intersect(in_month, maint)),
                              total(intersect(in_month, subtract(subtract(hours, maint), mon))),
                              total(on_mon))
            acc.outages.append(line)
            lines.append(line)
        acc.down_us = total(merge(counted))
        acc.short_us = total(subtract(merge(short), merge(counted)))
        acc.power_cut_us = total(subtract(merge(cut), merge(counted + short)))
        acc.outage_time = merge(every)
        aps[ap] = acc
    site_down: dict[str, int] = {}
    for site_id in sorted(set(scope_aps.values())):
        members = judged.get(site_id, [])
        both: Optional[list[Interval]] = None
        for ap in members:
            both = aps[ap].outage_time if both is None else intersect(both, aps[ap].outage_time)
        site_down[site_id] = total(both or [])
    lines.sort(key=lambda x: (x.outage.start, x.outage.ap, x.outage.id))
    return Accounting(aps, site_down, lines)


def _power_cuts(judged: dict[str, list[str]], by_ap: dict[str, list[Outage]]) -> set[int]:
    """Ids of outages that are part of a power cut: every observed AP of a site (at
    least two) went down within ``POWER_CUT_WINDOW_S`` of the first, and all of them
    were down together at some instant (the alerting rule ``site_down``/``power_cut``)."""
    out: set[int] = set()
    for site_id, members in judged.items():
        if len(members) < 2:
            continue
        outs = {ap: sorted(by_ap.get(ap, []), key=lambda o: o.start) for ap in members}
        for anchor in sorted((o for ap in members for o in outs[ap]), key=lambda o: (o.start, o.id)):
            a = to_us(anchor.start)
            chosen: list[Outage] = []
            for ap in members:
                o = next((x for x in outs[ap] if a <= to_us(x.start) <= a + POWER_CUT_WINDOW_US), None)
                if o is None:
                    break
                chosen.append(o)
            else:
                last_start = max(to_us(o.start) for o in chosen)
                first_end = min(to_us(o.end) if o.end is not None else 2**62 for o in chosen)
                if last_start < first_end:
                    out.update(o.id for o in chosen)
    return out
