"""Uplink traffic per site and clock hour: saturation against ``backhaul_mbps``, daily traffic.

Bytes of a site's APs' uplink interfaces (``catalogue.usage_ifaces``, as the
dashboard and the ``saturation`` alert count them), summed per hour by the
time each interval ends. Where every AP of a site has recognisable uplink
interfaces the site rollups answer it (one query per uplink name for all
sites); a site with an AP that has none (all its interfaces count) is read
per AP and interface.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Optional

from .. import catalogue as cat
from ..sample import to_us
from ..stores.base import MetricStore

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SiteLoad:
    saturated_hours: int
    busiest_pct: Optional[float]  # utilisation of the busiest hour (busier direction)
    busiest_at_us: Optional[int]


def site_hours(store: MetricStore, start: datetime, end: datetime, sites: set[str],
               counted: dict[str, set[str]], ap_site: dict[str, str]
               ) -> dict[str, dict[int, tuple[int, int]]]:
    """Site -> hour start (µs) -> (rx, tx) uplink bytes."""
    aps_of: dict[str, list[str]] = {}
    for ap, site in ap_site.items():
        if site in sites and ap in counted:
            aps_of.setdefault(site, []).append(ap)
    clean, mixed = set(), set()
    names: set[str] = set()
    for site, aps in aps_of.items():
        if all(all(cat.UPLINK_IFACE.match(i) for i in counted[ap]) for ap in aps):
            clean.add(site)
            names.update(i for ap in aps for i in counted[ap])
        else:
            mixed.add(site)
    out: dict[str, dict[int, list[int]]] = {}
    for k, fld in enumerate(("rx_bytes", "tx_bytes")):
        for name in sorted(names):
            for s in store.aggregate(cat.AP_TRAFFIC, fld, start=start, end=end, every=HOUR, agg="sum",
                                     tags={"iface": name}, group_by=["site"]):
                site = s.tags.get("site", "")
                if site not in clean:
                    continue
                per = out.setdefault(site, {})
                for b in s.buckets:
                    per.setdefault(to_us(b.start), [0, 0])[k] += int(b.value)
        for site in sorted(mixed):
            keep = {(ap, i) for ap in aps_of[site] for i in counted[ap]}
            for s in store.aggregate(cat.AP_TRAFFIC, fld, start=start, end=end, every=HOUR, agg="sum",
                                     tags={"site": site}, group_by=["ap", "iface"]):
                if (s.tags.get("ap", ""), s.tags.get("iface", "")) not in keep:
                    continue
                per = out.setdefault(site, {})
                for b in s.buckets:
                    per.setdefault(to_us(b.start), [0, 0])[k] += int(b.value)
    return {site: {h: (v[0], v[1]) for h, v in per.items()} for site, per in out.items()}


def saturation(hours: dict[int, tuple[int, int]], backhaul_mbps: float, threshold_pct: float) -> SiteLoad:
    """Hours whose busier direction averaged more than ``threshold_pct`` of the backhaul."""
    cap = Fraction(Decimal(repr(backhaul_mbps))) * 1_000_000 * 3600 / 8  # bytes in an hour
    limit = cap * Fraction(Decimal(repr(threshold_pct))) / 100
    n, best, best_at = 0, -1, None
    for h in sorted(hours):
        busier = max(hours[h])
        if busier > limit:
            n += 1
        if busier > best:
            best, best_at = busier, h
    return SiteLoad(n, None if best_at is None else float(best * 100 / cap), best_at)
