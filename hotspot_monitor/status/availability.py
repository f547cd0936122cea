"""Availability of an AP, a site or the whole fleet, derived from the outage log.

For each AP, over ``[start, end)``:

* *monitored time* = the site's service hours, intersected with the time the
  service was running (``monitor_sessions``), from the AP's first
  observation on. Everything else is *unmonitored*: it counts neither as up
  nor as down.
* *downtime* = the union of the AP's outages intersected with its monitored
  time. An outage still open counts up to the end of the monitored time.

A site or the fleet aggregates AP-time weighted: the sum of the APs' downtime
over the sum of their monitored time. Outages are listed with their full
duration; ``counted_s`` says how much of each counted against availability.
All arithmetic is on integer microseconds, so results are exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, Optional

from ..config.models import Config
from ..sample import to_us, utc
from .service_hours import Interval, intersect, merge, service_intervals, total
from .statestore import Outage, StateStore


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

    @property
    def uptime_s(self) -> float:
        return self.monitored_s - self.downtime_s


def _aps_in_scope(store: StateStore, cfg: Config, ap: Optional[str],
                  site: Optional[str]) -> dict[str, tuple[str, Optional[datetime]]]:
    """AP id -> (site, first_seen) for the inventory APs plus APs known to the store."""
    first_seen: dict[str, Optional[datetime]] = {}
    sites: dict[str, str] = {}
    for r in store.load_ap_states():
        sites[r["ap"]] = r["site"]
        first_seen[r["ap"]] = r.get("first_seen")
    for a in cfg.aps:
        sites[a.id] = a.site  # the inventory wins
        first_seen.setdefault(a.id, None)
    out = {}
    for a, s in sites.items():
        if ap is not None and a != ap:
            continue
        if site is not None and s != site:
            continue
        out[a] = (s, first_seen[a])
    return out


def availability(store: StateStore, cfg: Config, *, start: datetime, end: datetime,
                 ap: Optional[str] = None, site: Optional[str] = None) -> Availability:
    """Availability of one AP (``ap``), one site (``site``) or the fleet (neither)."""
    return _aggregate(start, end, list(_per_ap(store, cfg, start, end, ap, site)))


def availability_by_site(store: StateStore, cfg: Config, *, start: datetime,
                         end: datetime) -> dict[str, Availability]:
    """Every site's availability in one pass over the outage log (status, reports)."""
    by_site: dict[str, list[_ApTime]] = {s.id: [] for s in cfg.sites}
    for row in _per_ap(store, cfg, start, end, None, None):
        by_site.setdefault(row.site, []).append(row)
    return {site: _aggregate(start, end, rows) for site, rows in by_site.items()}


@dataclass(frozen=True, slots=True)
class _ApTime:
    ap: str
    site: str
    monitored_us: int
    down_us: int
    outages: list[CountedOutage]


def _aggregate(start: datetime, end: datetime, rows: list[_ApTime]) -> Availability:
    monitored = sum(r.monitored_us for r in rows)
    down = sum(r.down_us for r in rows)
    counted = sorted((c for r in rows for c in r.outages), key=lambda c: (c.outage.start, c.outage.id))
    pct = None if monitored == 0 else 100.0 * (monitored - down) / monitored
    return Availability(utc(start), utc(end), len(rows), monitored / 1e6, down / 1e6, pct, counted)


def _per_ap(store: StateStore, cfg: Config, start: datetime, end: datetime,
            ap: Optional[str], site: Optional[str]) -> Iterator[_ApTime]:
    """Monitored time and downtime of every AP in scope (integer microseconds)."""
    start, end = utc(start), utc(end)
    s_us, e_us = to_us(start), to_us(end)
    scope = _aps_in_scope(store, cfg, ap, site)
    sessions = merge((to_us(x.started), to_us(x.covered_until))
                     for x in store.sessions(start=start, end=end))
    sessions = intersect(sessions, [(s_us, e_us)])
    # One AP: filter in SQL. Otherwise fetch the range and filter here (a long
    # IN list of AP ids would hit bind-parameter limits on big fleets).
    outages = store.outages(start=start, end=end, aps=[ap] if ap is not None else None)
    by_ap: dict[str, list[Outage]] = {}
    for o in outages:
        if o.ap in scope:
            by_ap.setdefault(o.ap, []).append(o)
    sites = {x.id: x for x in cfg.sites}
    hours_cache: dict[str, list[Interval]] = {}
    for a, (site_id, first_seen) in sorted(scope.items()):
        if site_id not in hours_cache:
            st = sites.get(site_id)
            hours = st.service_hours if st is not None else None
            hours_cache[site_id] = intersect(service_intervals(hours, cfg.tz, start, end),
                                             sessions)
        mon = hours_cache[site_id]
        if first_seen is None:
            mon = []
        else:
            mon = intersect(mon, [(max(s_us, to_us(first_seen)), e_us)])
        ap_down: list[Interval] = []
        counted: list[CountedOutage] = []
        for o in by_ap.get(a, []):
            o_iv = (to_us(o.start), to_us(o.end) if o.end is not None else e_us)
            counted.append(CountedOutage(o, total(intersect(mon, [o_iv])) / 1e6))
            ap_down.append(o_iv)
        yield _ApTime(a, site_id, total(mon), total(intersect(mon, merge(ap_down))), counted)
