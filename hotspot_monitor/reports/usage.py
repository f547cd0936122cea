"""Bytes per AP in a month: exact sums of interval bytes, month edges apportioned.

Every ``ap_traffic`` point holds the bytes of ``[time - interval_s, time]``
(docs/counters.md). The month's bytes of one interface are

    sum over its points of share(point, month start, month end)

which the stores answer exactly and fast as ``totals`` over ``[start, end)``
(rollups), corrected at the two edges: the intervals of one interface follow
each other without overlapping (each starts at the reading before it), so at
each edge only the interface's first point at or after it can cross it, and
``points(first=1)`` finds that point however long the gap before it was. The
share of a crossing interval that falls in the month is "apportioned" and
stated apart. Only uplink interfaces count (``catalogue.usage_ifaces``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from .. import catalogue as cat
from ..sample import Sample, to_us
from ..stores.base import MetricStore
from .apportion import bytes_before, share

FIELDS = ("rx_bytes", "tx_bytes")


@dataclass(slots=True)
class ApUsage:
    site: str
    rx: int = 0
    tx: int = 0
    rx_apportioned: int = 0  # this month's share of intervals that cross one of its edges
    tx_apportioned: int = 0
    crossing: int = 0  # such intervals (uplink interfaces)

    def add(self, other: "ApUsage") -> None:
        self.rx += other.rx
        self.tx += other.tx
        self.rx_apportioned += other.rx_apportioned
        self.tx_apportioned += other.tx_apportioned
        self.crossing += other.crossing


SeriesKey = tuple[str, str, str]  # site, ap, iface


def _key(s: Sample) -> SeriesKey:
    return (s.tags.get("site", ""), s.tags.get("ap", ""), s.tags.get("iface", ""))


def _int(v: object) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0


def _interval(s: Sample) -> float:
    v = s.fields.get("interval_s")
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def usage_by_iface(store: MetricStore, start: datetime, end: datetime
                   ) -> tuple[dict[SeriesKey, ApUsage], dict[str, set[str]]]:
    """Per interface: the month's bytes; and per AP the interfaces that count."""
    lo, hi = to_us(start), to_us(end)
    sums = {f: store.totals(cat.AP_TRAFFIC, f, start=start, end=end, group_by=["site", "ap", "iface"])
            for f in FIELDS}
    first_lo = {_key(s): s for s in store.points(cat.AP_TRAFFIC, start=start, first=1)}
    first_hi = {_key(s): s for s in store.points(cat.AP_TRAFFIC, start=end, first=1)}
    out: dict[SeriesKey, ApUsage] = {}
    present = set(sums["rx_bytes"]) | set(sums["tx_bytes"])  # interfaces with points in the month
    keys = present | set(first_hi)
    for key in keys:
        u = ApUsage(key[0])
        got = {f: _int(sums[f].get(key)) for f in FIELDS}
        p: Optional[Sample] = first_lo.get(key)
        if p is not None and lo <= to_us(p.time) < hi:
            crosses = to_us(p.time) - round(_interval(p) * 1e6) < lo < to_us(p.time)
            for f in FIELDS:
                n = _int(p.fields.get(f))
                before = bytes_before(n, p.time, _interval(p), start)
                got[f] -= before
                if crosses:
                    setattr(u, f[:2] + "_apportioned", getattr(u, f[:2] + "_apportioned") + n - before)
            u.crossing += int(crosses)
        q: Optional[Sample] = first_hi.get(key)
        if q is not None:
            q_start = to_us(q.time) - round(_interval(q) * 1e6)
            crosses = q_start < hi < to_us(q.time)
            for f in FIELDS:
                part = share(_int(q.fields.get(f)), q.time, _interval(q), start, end)
                got[f] += part
                if crosses:
                    setattr(u, f[:2] + "_apportioned", getattr(u, f[:2] + "_apportioned") + part)
            u.crossing += int(crosses)
            if crosses:
                present.add(key)
        u.rx, u.tx = got["rx_bytes"], got["tx_bytes"]
        out[key] = u
    ifaces: dict[str, set[str]] = {}
    for _site, ap, iface in present:
        ifaces.setdefault(ap, set()).add(iface)
    return out, {ap: cat.usage_ifaces(names) for ap, names in ifaces.items()}


def usage_by_ap(store: MetricStore, start: datetime, end: datetime) -> dict[str, ApUsage]:
    """AP -> its uplink bytes in ``[start, end)`` (month edges apportioned)."""
    per_iface, counted = usage_by_iface(store, start, end)
    out: dict[str, ApUsage] = {}
    for (site, ap, iface), u in sorted(per_iface.items()):
        if iface in counted.get(ap, ()):
            out.setdefault(ap, ApUsage(site)).add(u)
    return out
