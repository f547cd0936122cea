"""Availability of an AP, a site, a district or the city, derived from the state store.

For each AP, over ``[start, end)`` (docs/status.md has the rules as a table):

* *service time* = the site's service hours.
* *maintenance time* = service time inside planned maintenance windows (none
  exist yet: the alerting work passes them in as :class:`MaintenanceWindow`).
* *monitored time* = the rest of the service time, intersected with the time
  the service was running (``monitor_sessions``) and the AP's *coverage*: the
  stretches in which it was actually observed (no gap between observations
  longer than ``collector.max_gap_s``, its controller reachable, the MQTT
  collector listening). An AP removed from the inventory is no longer
  observed, so it stops counting at its last observation.
* *unmonitored time* = service - maintenance - monitored: counts neither as up
  nor as down, and is reported, never hidden.
* *downtime* = the union of the AP's outages intersected with its monitored
  time. An outage still open counts up to the end of the monitored time.

``availability_pct = 100 * (monitored - down) / monitored`` (None when nothing
was monitored). A site, a district or the city aggregates AP-time weighted:
the sums of its APs' times. Outages are listed with their full duration;
``counted_s`` says how much of each counted against availability. All
arithmetic is on integer microseconds (the ``*_us`` fields), so results are
exact and a range split at any instant gives parts that add up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Iterator, Optional

from ..config.models import Config
from ..sample import to_us, utc
from .service_hours import Interval, intersect, merge, service_intervals, subtract, total
from .statestore import Outage, StateStore


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """Planned maintenance: neither up nor down, and not counted as unmonitored.

    ``ap`` set: that AP; else ``site`` set: every AP of the site; neither: the city.
    """

    start: datetime
    end: datetime
    ap: Optional[str] = None
    site: Optional[str] = None

    def applies_to(self, ap: str, site: str) -> bool:
        if self.ap is not None:
            return self.ap == ap
        return self.site is None or self.site == site


@dataclass(frozen=True, slots=True)
class CountedOutage:
    outage: Outage
    counted_s: float  # part inside the range, service hours and monitored time


@dataclass(frozen=True, slots=True)
class Availability:
    start: datetime
    end: datetime
    aps: int
    monitored_s: float
    downtime_s: float
    availability_pct: Optional[float]  # None when nothing was monitored
    outages: list[CountedOutage] = field(default_factory=list)
    service_s: float = 0.0
    unmonitored_s: float = 0.0  # service - maintenance - monitored
    maintenance_s: float = 0.0
    # the same figures exact, in integer microseconds (sum these, not the floats)
    service_us: int = 0
    monitored_us: int = 0
    down_us: int = 0
    unmonitored_us: int = 0
    maintenance_us: int = 0

    @property
    def uptime_s(self) -> float:
        return self.monitored_s - self.downtime_s


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Every level at once (one pass): what the monthly report needs."""

    city: Availability
    districts: dict[Optional[str], Availability]  # None: sites without a district
    sites: dict[str, Availability]
    aps: dict[str, Availability]


def availability(store: StateStore, cfg: Config, *, start: datetime, end: datetime,
                 ap: Optional[str] = None, site: Optional[str] = None,
                 district: Optional[str] = None,
                 maintenance: Iterable[MaintenanceWindow] = ()) -> Availability:
    """Availability of one AP, one site, one district, or the city (none given)."""
    rows = list(_per_ap(store, cfg, start, end, ap, site, district, list(maintenance)))
    return _aggregate(start, end, rows)


def availability_by_site(store: StateStore, cfg: Config, *, start: datetime, end: datetime,
                         maintenance: Iterable[MaintenanceWindow] = ()) -> dict[str, Availability]:
    """Every site's availability in one pass over the outage log (status, reports)."""
    return availability_breakdown(store, cfg, start=start, end=end, maintenance=maintenance).sites


def availability_by_district(store: StateStore, cfg: Config, *, start: datetime, end: datetime,
                             maintenance: Iterable[MaintenanceWindow] = ()
                             ) -> dict[Optional[str], Availability]:
    """Every district's availability in one pass (key None: sites without a district)."""
    return availability_breakdown(store, cfg, start=start, end=end,
                                  maintenance=maintenance).districts


def availability_breakdown(store: StateStore, cfg: Config, *, start: datetime, end: datetime,
                           maintenance: Iterable[MaintenanceWindow] = ()) -> Breakdown:
    """AP, site, district and city availability from one pass over the state store."""
    rows = list(_per_ap(store, cfg, start, end, None, None, None, list(maintenance)))
    by_site: dict[str, list[_ApTime]] = {s.id: [] for s in cfg.sites}
    by_district: dict[Optional[str], list[_ApTime]] = {s.district: [] for s in cfg.sites}
    for r in rows:
        by_site.setdefault(r.site, []).append(r)
        by_district.setdefault(r.district, []).append(r)
    return Breakdown(
        city=_aggregate(start, end, rows),
        districts={d: _aggregate(start, end, rs) for d, rs in by_district.items()},
        sites={s: _aggregate(start, end, rs) for s, rs in by_site.items()},
        aps={r.ap: _aggregate(start, end, [r]) for r in rows},
    )


@dataclass(frozen=True, slots=True)
class _ApTime:
    ap: str
    site: str
    district: Optional[str]
    service_us: int
    maintenance_us: int
    monitored_us: int
    down_us: int
    outages: list[CountedOutage]


def _aggregate(start: datetime, end: datetime, rows: list[_ApTime]) -> Availability:
    service = sum(r.service_us for r in rows)
    maint = sum(r.maintenance_us for r in rows)
    monitored = sum(r.monitored_us for r in rows)
    down = sum(r.down_us for r in rows)
    unmonitored = service - maint - monitored
    counted = sorted((c for r in rows for c in r.outages), key=lambda c: (c.outage.start, c.outage.id))
    pct = None if monitored == 0 else 100.0 * (monitored - down) / monitored
    return Availability(utc(start), utc(end), len(rows), monitored / 1e6, down / 1e6, pct, counted,
                        service_s=service / 1e6, unmonitored_s=unmonitored / 1e6,
                        maintenance_s=maint / 1e6, service_us=service, monitored_us=monitored,
                        down_us=down, unmonitored_us=unmonitored, maintenance_us=maint)


def _aps_in_scope(store: StateStore, cfg: Config, ap: Optional[str], site: Optional[str],
                  district: Optional[str]) -> dict[str, str]:
    """AP id -> site for the inventory APs plus APs the store knows that the
    inventory no longer lists (their past coverage still counts, under their last site)."""
    sites = {r["ap"]: r["site"] for r in store.load_ap_states()}
    sites.update({a.id: a.site for a in cfg.aps})  # the inventory wins
    districts = {s.id: s.district for s in cfg.sites}
    return {a: s for a, s in sites.items()
            if (ap is None or a == ap) and (site is None or s == site)
            and (district is None or districts.get(s) == district)}


def _per_ap(store: StateStore, cfg: Config, start: datetime, end: datetime,
            ap: Optional[str], site: Optional[str], district: Optional[str],
            maintenance: list[MaintenanceWindow]) -> Iterator[_ApTime]:
    """Service, maintenance, monitored and down time of every AP in scope (integer µs)."""
    start, end = utc(start), utc(end)
    s_us, e_us = to_us(start), to_us(end)
    scope = _aps_in_scope(store, cfg, ap, site, district)
    sessions = merge((to_us(x.started), to_us(x.covered_until))
                     for x in store.sessions(start=start, end=end))
    sessions = intersect(sessions, [(s_us, e_us)])
    # One AP: filter in SQL. Otherwise fetch the range and filter here (a long
    # IN list of AP ids would hit bind-parameter limits on big fleets).
    only = [ap] if ap is not None else None
    by_ap: dict[str, list[Outage]] = {}
    for o in store.outages(start=start, end=end, aps=only):
        if o.ap in scope:
            by_ap.setdefault(o.ap, []).append(o)
    covered: dict[str, list[Interval]] = {}
    for c in store.coverage(start=start, end=end, aps=only):
        covered.setdefault(c.ap, []).append((to_us(c.start), to_us(c.end)))
    sites = {x.id: x for x in cfg.sites}
    hours_cache: dict[str, list[Interval]] = {}
    for a, site_id in sorted(scope.items()):
        st = sites.get(site_id)
        if site_id not in hours_cache:
            hours_cache[site_id] = service_intervals(st.service_hours if st else None, cfg.tz,
                                                     start, end)
        hours = hours_cache[site_id]
        maint = intersect(hours, merge((max(s_us, to_us(w.start)), min(e_us, to_us(w.end)))
                                       for w in maintenance if w.applies_to(a, site_id)))
        mon = intersect(intersect(subtract(hours, maint), sessions), merge(covered.get(a, [])))
        ap_down: list[Interval] = []
        counted: list[CountedOutage] = []
        for o in by_ap.get(a, []):
            o_iv = (to_us(o.start), to_us(o.end) if o.end is not None else e_us)
            counted.append(CountedOutage(o, total(intersect(mon, [o_iv])) / 1e6))
            ap_down.append(o_iv)
        yield _ApTime(a, site_id, st.district if st else None, total(hours), total(maint),
                      total(mon), total(intersect(mon, merge(ap_down))), counted)
