"""Chart data for a site or an AP over a range, from the metric store's aggregates.

Charts are plain data (title, unit, traces of x/y) that the API serves and
``static/js/charts.js`` turns into plotly figures; titles, units, colours and
thresholds come from the measurement catalogue. Times are local wall-clock
times in the configured zone (plotly's date axes know no time zones).
Ranges up to two days use 5-minute buckets, longer ones hourly buckets: both
are served by the stores' maintained rollups, never by a raw scan.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Sequence
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from hotspot_monitor import catalogue as cat
from hotspot_monitor.config.models import Config, Site
from hotspot_monitor.stores.base import MetricStore, Series

from .fleet import FleetData, duration

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_RANGE = timedelta(days=400)
FIVE_MIN = timedelta(minutes=5)
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Range:
    start: datetime
    end: datetime
    every: timedelta
    name: str  # 24h | 7d | 30d | custom


def parse_range(name: Optional[str], start: Optional[str], end: Optional[str], now: datetime,
                tz: ZoneInfo) -> Range:
    """``range=24h|7d|30d`` or a custom ``start``/``end`` (ISO date or time, local zone)."""
    if start or end:
        s = _parse_local(start, tz) if start else now - RANGES["24h"]
        e = _parse_local(end, tz, end_of_day=True) if end else now
        if e <= s:
            raise ValueError("end must be after start")
        if e - s > MAX_RANGE:
            raise ValueError("range longer than 400 days")
        return Range(s, e, FIVE_MIN if e - s <= timedelta(days=2) else HOUR, "custom")
    name = name or "24h"
    if name not in RANGES:
        raise ValueError("range must be 24h, 7d or 30d")
    span = RANGES[name]
    every = FIVE_MIN if span <= timedelta(days=2) else HOUR
    end_t = _ceil(now, every)
    return Range(end_t - span, end_t, every, name)


def _ceil(t: datetime, every: timedelta) -> datetime:
    step = int(every.total_seconds())
    ts = int(t.timestamp())
    return datetime.fromtimestamp(ts - ts % step + step, timezone.utc)


def _parse_local(s: str, tz: ZoneInfo, end_of_day: bool = False) -> datetime:
    try:
        t = datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
        if t.tzinfo is None:
            t = t.replace(tzinfo=tz)
        if len(s.strip()) == 10 and end_of_day:  # a date: the whole of that day
            t += timedelta(days=1)
        return t.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValueError(f"not a date or time in range: {s[:40]!r}") from None


@dataclass
class Trace:
    name: str
    x: list[Any]
    y: list[Any]
    kind: str = "line"  # line | step | stacked | bar | timeline
    colour: str = "#1f77b4"
    base: Optional[list[Any]] = None  # timeline: bar starts
    text: Optional[list[str]] = None


@dataclass
class Chart:
    id: str
    title: str
    unit: str
    traces: list[Trace] = field(default_factory=list)
    threshold: Optional[float] = None
    threshold_label: Optional[str] = None
    y_range: Optional[list[float]] = None
    x_type: str = "date"  # date | category

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["points"] = sum(len(t.y) for t in self.traces)
        return d


class ChartBuilder:
    def __init__(self, cfg: Config, store: MetricStore, fleet: FleetData, locale: str):
        self.cfg, self.store, self.fleet, self.locale = cfg, store, fleet, locale
        self.tz = cfg.tz

    def x(self, t: datetime) -> str:
        return t.astimezone(self.tz).replace(tzinfo=None).isoformat(timespec="minutes")

    def label(self, measurement: str, field_name: str) -> str:
        return cat.spec(measurement, field_name).label.get(self.locale)

    def _agg(self, measurement: str, field_name: str, r: Range, agg: str, tags: dict[str, str],
             group_by: Sequence[str]) -> list[Series]:
        return self.store.aggregate(measurement, field_name, start=r.start, end=r.end, every=r.every,
                                    agg=agg, tags=tags, group_by=list(group_by))  # type: ignore[arg-type]

    # -- building blocks ---------------------------------------------------------------
    def clients(self, r: Range, tags: dict[str, str], chart_id: str = "clients") -> Chart:
        """Clients per radio: each AP's mean per bucket, summed over the APs."""
        series = self._agg(cat.AP_CLIENTS, "clients", r, "mean", tags, ["ap", "radio"])
        radios = sorted({s.tags.get("radio", "all") for s in series} - {"all"}) or ["all"]
        per: dict[str, dict[datetime, float]] = {radio: {} for radio in radios}
        for s in series:
            radio = s.tags.get("radio", "all")
            if radio not in per:
                continue
            for b in s.buckets:
                per[radio][b.start] = per[radio].get(b.start, 0.0) + float(b.value)
        colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]
        f = cat.spec(cat.AP_CLIENTS, "clients")
        return Chart(chart_id, _("Clients per radio"), _unit(f.unit), [
            Trace(radio if radio != "all" else _("all radios"), [self.x(t) for t in sorted(v)],
                  [round(v[t], 1) for t in sorted(v)], "stacked", colours[i % len(colours)])
            for i, (radio, v) in enumerate(per.items())])

    def uplink_bytes(self, r: Range, tags: dict[str, str]) -> tuple[dict[datetime, int], dict[datetime, int]]:
        """rx and tx bytes per bucket through the APs' uplink interfaces.

        An interface name that is an uplink (``catalogue.UPLINK_IFACE``) is one for
        every AP, so each such name is summed over the APs by the store (its site
        rollups); only APs without any uplink-named interface are read per AP.
        """
        names: dict[str, set[str]] = {}
        for smp in self.store.latest(cat.AP_TRAFFIC, tags=tags, since=r.start - timedelta(days=1)):
            names.setdefault(smp.tags.get("ap", ""), set()).add(smp.tags.get("iface", ""))
        uplink = sorted({i for n in names.values() for i in n if cat.UPLINK_IFACE.match(i)})
        other = sorted(ap for ap, n in names.items() if not any(cat.UPLINK_IFACE.match(i) for i in n))
        out = []
        for fld in ("rx_bytes", "tx_bytes"):
            per: dict[datetime, int] = {}
            parts = [self._agg(cat.AP_TRAFFIC, fld, r, "sum", {**tags, "iface": i}, []) for i in uplink]
            parts += [self._agg(cat.AP_TRAFFIC, fld, r, "sum", {**tags, "ap": ap}, []) for ap in other]
            for series in parts:
                for s in series:
                    for b in s.buckets:
                        per[b.start] = per.get(b.start, 0) + int(b.value)
            out.append(per)
        return out[0], out[1]

    def traffic(self, r: Range, tags: dict[str, str]) -> tuple[Chart, tuple[dict, dict]]:
        rx, tx = self.uplink_bytes(r, tags)
        secs = r.every.total_seconds()
        f_rx, f_tx = cat.spec(cat.AP_TRAFFIC, "rx_bps"), cat.spec(cat.AP_TRAFFIC, "tx_bps")
        chart = Chart("traffic", _("Traffic through the uplink"), "Mbit/s", [
            Trace(f_rx.label.get(self.locale), [self.x(t) for t in sorted(rx)],
                  [round(rx[t] * 8 / secs / 1e6, 3) for t in sorted(rx)], "line", f_rx.colour),
            Trace(f_tx.label.get(self.locale), [self.x(t) for t in sorted(tx)],
                  [round(tx[t] * 8 / secs / 1e6, 3) for t in sorted(tx)], "line", f_tx.colour)])
        return chart, (rx, tx)

    def utilisation(self, r: Range, site: Site, rx: dict[datetime, int], tx: dict[datetime, int]) -> Optional[Chart]:
        if not site.backhaul_mbps:
            return None
        secs = r.every.total_seconds()
        cap = site.backhaul_mbps * 1e6
        times = sorted(set(rx) | set(tx))
        f = cat.UPLINK_UTILISATION
        return Chart("utilisation", f.label.get(self.locale) + f" ({site.backhaul_mbps:g} Mbit/s)", "%", [
            Trace(f.label.get(self.locale), [self.x(t) for t in times],
                  [round(100.0 * max(rx.get(t, 0), tx.get(t, 0)) * 8 / secs / cap, 2) for t in times],
                  "line", f.colour)],
            threshold=f.threshold.limit if f.threshold else None, threshold_label=_("threshold"))

    def availability_days(self, r: Range, sites: list[str]) -> Chart:
        first = r.start.astimezone(self.tz).date()
        last = (r.end - timedelta(microseconds=1)).astimezone(self.tz).date()
        last = min(last, self.fleet.book.today())
        days = self.fleet.book.days(first, last, sites)
        f = cat.AVAILABILITY
        return Chart("availability", _("Availability per day"), "%", [
            Trace(f.label.get(self.locale), [d.isoformat() for d, _t in days],
                  [None if t.pct is None else round(t.pct, 3) for _d, t in days], "bar", f.colour)],
            threshold=self.cfg.web.sla_target_pct, threshold_label=_("SLA target"), y_range=[0, 100],
            x_type="category")

    def outage_timeline(self, r: Range, *, site: Optional[str] = None, ap: Optional[str] = None) -> Chart:
        now = self.fleet.clock()
        rows = self.fleet.states.outages(start=r.start, end=r.end, site=site, aps=[ap] if ap else None)
        trace = Trace(_("Outage"), [], [], "timeline", cat.STATE_STYLE["down"]["colour"], [], [])
        for o in rows[-500:]:
            end = o.end or now
            trace.x.append(round((end - o.start).total_seconds() * 1000))
            trace.base.append(self.x(o.start))  # type: ignore[union-attr]
            trace.y.append(o.ap)
            trace.text.append(f"{o.ap}: {o.reason}, {round(duration(o, now))} s")  # type: ignore[union-attr]
        return Chart("outages", _("Outage timeline"), "", [trace])

    # -- pages ----------------------------------------------------------------------------
    def site_charts(self, site: Site, r: Range) -> list[Chart]:
        tags = {"site": site.id}
        traffic, (rx, tx) = self.traffic(r, tags)
        charts = [self.clients(r, tags), traffic]
        util = self.utilisation(r, site, rx, tx)
        if util is not None:
            charts.append(util)
        charts.append(self.availability_days(r, [site.id]))
        charts.append(self.outage_timeline(r, site=site.id))
        return charts

    def ap_charts(self, ap: str, r: Range) -> list[Chart]:
        tags = {"ap": ap}
        charts = [self.state(r, tags), self.clients(r, tags), self.traffic_per_iface(r, tags)]
        charts.append(self.system(r, tags))
        charts.append(self.uptime(r, tags))
        charts.append(self.outage_timeline(r, ap=ap))
        return charts

    def state(self, r: Range, tags: dict[str, str]) -> Chart:
        f = cat.spec(cat.AP_STATUS, "up")
        series = self._agg(cat.AP_STATUS, "up", r, "min", tags, ["source"])
        return Chart("state", _("State (1 = up) per source"), "", [
            Trace(s.tags.get("source", "?"), [self.x(b.start) for b in s.buckets],
                  [int(b.value) for b in s.buckets], "step", f.colour if i == 0 else "#17becf")
            for i, s in enumerate(series)], y_range=[-0.1, 1.1])

    def traffic_per_iface(self, r: Range, tags: dict[str, str]) -> Chart:
        secs = r.every.total_seconds()
        traces = []
        palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
        for fld, word in (("rx_bytes", "rx"), ("tx_bytes", "tx")):
            for s in self._agg(cat.AP_TRAFFIC, fld, r, "sum", tags, ["iface"]):
                traces.append(Trace(f"{s.tags.get('iface')} {word}", [self.x(b.start) for b in s.buckets],
                                    [round(int(b.value) * 8 / secs / 1e6, 3) for b in s.buckets], "line",
                                    palette[len(traces) % len(palette)]))
        return Chart("traffic", _("Traffic per interface"), "Mbit/s", traces)

    def system(self, r: Range, tags: dict[str, str]) -> Chart:
        traces = []
        for fld in ("cpu_pct", "mem_pct", "temp_c"):
            f = cat.spec(cat.AP_SYSTEM, fld)
            for s in self._agg(cat.AP_SYSTEM, fld, r, "mean", tags, []):
                traces.append(Trace(f"{f.label.get(self.locale)} ({f.unit})", [self.x(b.start) for b in s.buckets],
                                    [round(float(b.value), 1) for b in s.buckets], "line", f.colour))
        return Chart("system", _("CPU, memory, temperature"), "% / °C", traces)

    def uptime(self, r: Range, tags: dict[str, str]) -> Chart:
        f = cat.spec(cat.AP_STATUS, "uptime_s")
        series = self._agg(cat.AP_STATUS, "uptime_s", r, "max", tags, ["source"])
        traces = [Trace(f"{f.label.get(self.locale)} ({s.tags.get('source')})",
                        [self.x(b.start) for b in s.buckets],
                        [round(int(b.value) / 3600, 2) for b in s.buckets], "line", f.colour)
                  for s in series if s.buckets]
        return Chart("uptime", _("Uptime (hours); a drop is a reboot"), "h", traces)


def reboots(store: MetricStore, ap: str, r: Range) -> list[datetime]:
    """Bucket starts where the AP's uptime went down: it rebooted in that bucket."""
    out = []
    lows = store.aggregate(cat.AP_STATUS, "uptime_s", start=r.start, end=r.end, every=r.every,
                           agg="min", tags={"ap": ap})
    highs = store.aggregate(cat.AP_STATUS, "uptime_s", start=r.start, end=r.end, every=r.every,
                            agg="max", tags={"ap": ap})
    if not lows or not highs:
        return out
    hi = {b.start: b.value for b in highs[0].buckets}
    prev = None
    for b in lows[0].buckets:
        if prev is not None and b.value < prev:
            out.append(b.start)
        prev = hi.get(b.start, b.value)
    return out


def _unit(unit: str) -> str:
    return "" if unit in ("count", "text", "bool") else unit
