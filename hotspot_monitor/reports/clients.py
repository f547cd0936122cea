"""Clients in a month: hourly peaks, concurrency of a group of APs, client-hours.

Read through the stores' rollups (one hourly ``max`` per AP, one ``sum`` per AP),
never raw points:

* an AP's clients in a clock hour = its largest ``radio=all`` reading in that hour;
* a group's (site, district, city) concurrent clients in an hour = the sum of its
  APs' hourly figures; its peak is the largest such sum and *when* the first hour
  that had it (readings inside an hour are not simultaneous, so this is an upper
  bound of the clients at any one instant);
* client-hours = every reading times the AP's polling interval (``interval_s`` of
  the AP, else ``collector.interval_s``), in integer milli-client-seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Optional

from .. import catalogue as cat
from ..config.models import AccessPoint, Config
from ..sample import to_us
from ..stores.base import MetricStore

HOUR = timedelta(hours=1)
ALL = {"radio": "all"}


@dataclass(frozen=True, slots=True)
class Peak:
    clients: int
    at_us: int  # start of the first hour with that figure


@dataclass(frozen=True, slots=True)
class ClientData:
    hourly: dict[str, dict[int, int]]  # AP -> hour start (µs) -> its largest reading
    sums: dict[str, int]  # AP -> sum of its readings in the month
    sites: dict[str, str]  # AP -> site tag

    def group_hours(self, aps: Iterable[str]) -> dict[int, int]:
        return add_hours(self.hourly.get(ap, {}) for ap in aps)

    def peak(self, aps: Iterable[str]) -> Optional[Peak]:
        return peak_of(self.group_hours(aps))


def add_hours(parts: Iterable[dict[int, int]]) -> dict[int, int]:
    """Hour -> the sum of the parts' figures (a group's concurrent clients)."""
    out: dict[int, int] = {}
    for part in parts:
        for h, v in part.items():
            out[h] = out.get(h, 0) + v
    return out


def peak_of(hours: dict[int, int]) -> Optional[Peak]:
    if not hours:
        return None
    top = max(hours.values())
    return Peak(top, min(h for h, v in hours.items() if v == top))


def client_data(store: MetricStore, start: datetime, end: datetime) -> ClientData:
    hourly: dict[str, dict[int, int]] = {}
    sites: dict[str, str] = {}
    # grouped by AP only (an AP's site comes from the totals below): the month's largest read
    for s in store.aggregate(cat.AP_CLIENTS, "clients", start=start, end=end, every=HOUR, agg="max",
                             tags=ALL, group_by=["ap"]):
        ap = s.tags.get("ap", "")
        per = hourly.setdefault(ap, {})
        for b in s.buckets:
            h = to_us(b.start)
            per[h] = max(per.get(h, 0), int(b.value))
    sums: dict[str, int] = {}
    for (site, ap), v in store.totals(cat.AP_CLIENTS, "clients", start=start, end=end, tags=ALL,
                                      group_by=["site", "ap"]).items():
        sums[ap] = sums.get(ap, 0) + int(v)
        sites.setdefault(ap, site)
    return ClientData(hourly, sums, sites)


def client_sums(store: MetricStore, start: datetime, end: datetime) -> dict[str, int]:
    """AP -> sum of its readings (the previous month needs only client-hours)."""
    sums: dict[str, int] = {}
    for (_site, ap), v in store.totals(cat.AP_CLIENTS, "clients", start=start, end=end, tags=ALL,
                                       group_by=["site", "ap"]).items():
        sums[ap] = sums.get(ap, 0) + int(v)
    return sums


def interval_ms(cfg: Config, ap: Optional[AccessPoint]) -> int:
    """The AP's polling interval in ms: what one reading stands for (None: not in the inventory)."""
    iv = ap.interval_s if ap is not None and ap.interval_s is not None else cfg.collector.interval_s
    return round(iv * 1000)


def heat_map(hours: dict[int, int], tz) -> list[list[Optional[float]]]:  # type: ignore[no-untyped-def]
    """7 x 24 (Monday first, local hours): the mean of the group's hourly concurrent
    clients over the hours of the month that had readings (None: no readings)."""
    from ..sample import from_us

    acc = [[[0, 0] for _ in range(24)] for _ in range(7)]
    for h, v in hours.items():
        local = from_us(h).astimezone(tz)
        cell = acc[local.weekday()][local.hour]
        cell[0] += v
        cell[1] += 1
    return [[(c[0] / c[1]) if c[1] else None for c in row] for row in acc]
