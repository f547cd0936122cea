"""collectd's ``write_mqtt`` format -> Samples.

Topic ``<prefix>/<host>/<plugin>[-<inst>]/<type>[-<type_inst>]`` (the topic
mapper has already split off the host); payload ``<epoch>:<v>[:<v>...]``
followed by a NUL byte. Mapped metrics:

=============================  ===========================================
``interface-<if>/if_octets``   ``ap_traffic`` iface=<if>. StoreRates true:
                               values are bytes/s over the publisher's last
                               interval; interval bytes = round(rate * dt),
                               dt = time since this series' previous message
                               (first message, ``nan``, is a baseline).
                               StoreRates false: raw counters, through
                               :class:`CounterTracker` (64 bit).
``iwinfo-<wlan>/stations``     ``ap_clients`` radio=all: sum over the host's
                               wlans seen within ``max_gap_s``. collectd does
                               not know the band, so no per-radio samples.
``uptime/uptime``              ``ap_status`` up=1, uptime_s.
``load/load``                  ``ap_system`` ``load1`` (1-minute load average;
                               a load is not a percentage, so not cpu_pct).
``cpu/percent-active|idle``    ``ap_system`` cpu_pct (cpu plugin with
                               ``ValuesPercentage true``, ``ReportByCpu false``).
``memory/memory-<kind>``       ``ap_system`` mem_pct = used / sum(all kinds),
                               computed once a reading's kinds are complete.
``memory/percent-used``        ``ap_system`` mem_pct directly.
=============================  ===========================================

Other series of these plugins (``if_packets``, ``if_errors``...) are counted
as ``ignored``; series of other plugins are ``unknown_metric``. A message whose
time is not after the series' previous one is a redelivery: dropped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from collectors.counters import CounterTracker, traffic_fields
from collectors.policy import MetricsPolicy
from hotspot_monitor.config.models import MqttLimits
from hotspot_monitor.sample import Sample

from ..topics import Route
from .base import BadInput, ParseResult, sample_time

IGNORED_PLUGINS = {"interface", "load", "memory", "cpu", "uptime", "iwinfo"}
MAX_RATE = 100e9 / 8  # bytes/s: above any AP port
MAX_CLIENTS = 10_000


@dataclass(slots=True)
class _MemGroup:
    ts: float
    when: datetime  # the sample time after the clock-skew rule
    values: dict[str, float] = field(default_factory=dict)
    emitted: bool = False


def parse_payload(payload: bytes) -> tuple[float, list[float | int]]:
    """``b"1700000000.123:1:nan\\0"`` -> (ts, values); raises BadInput."""
    try:
        text = payload.rstrip(b"\0").decode("ascii").strip()
    except UnicodeDecodeError:
        raise BadInput("malformed", "not ASCII") from None
    parts = text.split(":")
    if len(parts) < 2:
        raise BadInput("malformed", "expected <epoch>:<value>")
    try:
        ts = float(parts[0])
    except ValueError:
        raise BadInput("malformed", "bad epoch") from None
    if not math.isfinite(ts) or ts <= 0:
        raise BadInput("malformed", "bad epoch")
    values: list[float | int] = []
    for p in parts[1:]:
        if p == "U":
            values.append(math.nan)
            continue
        try:
            values.append(int(p))
        except ValueError:
            try:
                values.append(float(p))
            except ValueError:
                raise BadInput("malformed", "bad value") from None
    return ts, values


class CollectdParser:
    def __init__(self, counters: CounterTracker, max_gap_s: float,
                 policy: Optional[MetricsPolicy] = None, limits: Optional[MqttLimits] = None):
        self.counters = counters
        self.max_gap_s = max_gap_s
        self.policy = policy
        self.limits = limits or MqttLimits()
        self._last_ts: dict[tuple[str, str], float] = {}
        self._series: dict[str, int] = {}  # series per AP in _last_ts (bounded)
        self._stations: dict[str, dict[str, tuple[float, int]]] = {}
        self._mem: dict[str, _MemGroup] = {}
        self._mem_kinds: dict[str, frozenset[str]] = {}

    @property
    def max_series(self) -> int:
        """collectd series kept per AP: a few per interface and radio, plus the system ones."""
        return 4 * (self.limits.max_ifaces + self.limits.max_radios) + 32

    def evict_silent(self, before_ts: float) -> int:
        """Forget series last heard before ``before_ts`` (see MessageHandler._evict)."""
        old = [k for k, ts in self._last_ts.items() if ts < before_ts]
        for k in old:
            del self._last_ts[k]
            n = self._series.get(k[0], 0) - 1
            if n > 0:
                self._series[k[0]] = n
            else:
                self._series.pop(k[0], None)
        return len(old)

    def parse(self, route: Route, payload: bytes, received: datetime) -> ParseResult:
        ts, values = parse_payload(payload)
        plugin_full, _, type_full = route.kind.partition("/")
        plugin, _, pinst = plugin_full.partition("-")
        type_, _, tinst = type_full.partition("-")
        res = ParseResult()
        key = (route.ap, route.kind)
        prev_ts = self._last_ts.get(key)
        if prev_ts is not None and ts <= prev_ts:
            res.duplicate = True
            return res
        if prev_ts is None:
            if self._series.get(route.ap, 0) >= self.max_series:
                raise BadInput("too_many_items", "the device already has the most collectd series")
            self._series[route.ap] = self._series.get(route.ap, 0) + 1
        self._last_ts[key] = ts
        when = sample_time(ts, received, res)
        tags = {"site": route.site, "ap": route.ap}
        ap = route.ap
        if plugin != "uptime" and self.policy is not None and not self.policy.counts_metrics(ap, "mqtt"):
            res.ignored += 1  # another source supplies this AP's metrics (aps[].metrics_from)
        elif plugin == "interface" and type_ == "if_octets" and pinst:
            self._octets(res, route, pinst, ts, prev_ts, values, when, tags)
        elif plugin == "iwinfo" and type_ == "stations" and pinst:
            n = self._one(values)
            if not 0 <= n <= MAX_CLIENTS:
                raise BadInput("out_of_range", f"stations={n}")
            wl = self._stations.setdefault(ap, {})
            wl[pinst] = (ts, int(round(n)))
            total = sum(c for (t, c) in wl.values() if ts - t <= self.max_gap_s)
            res.samples.append(Sample("ap_clients", {**tags, "radio": "all"}, {"clients": total}, when))
        elif plugin == "uptime" and type_ == "uptime":
            up = self._one(values)
            if not 0 <= up < 1e10:
                raise BadInput("out_of_range", f"uptime={up}")
            res.samples.append(Sample("ap_status", {**tags, "source": "mqtt"},
                                      {"up": 1, "uptime_s": int(up)}, when))
        elif plugin == "load" and type_ == "load":
            v = self._one(values[:1] if len(values) == 3 else values)  # shortterm:midterm:longterm
            if not 0 <= v < 1e6:
                raise BadInput("out_of_range", f"load={v}")
            res.samples.append(Sample("ap_system", tags, {"load1": float(v)}, when))
        elif plugin == "cpu" and type_ == "percent" and tinst in ("active", "idle") and not pinst:
            v = self._pct(values)
            res.samples.append(Sample("ap_system", tags,
                                      {"cpu_pct": v if tinst == "active" else 100.0 - v}, when))
        elif plugin == "memory" and type_ == "percent" and tinst == "used":
            res.samples.append(Sample("ap_system", tags, {"mem_pct": self._pct(values)}, when))
        elif plugin == "memory" and type_ == "memory" and tinst:
            v = self._one(values)
            if not 0 <= v < 1e15:
                raise BadInput("out_of_range", f"memory={v}")
            self._memory(res, ap, tinst, ts, float(v), tags, when)
        elif plugin in IGNORED_PLUGINS:
            res.ignored += 1
        else:
            res.problems.append(("unknown_metric", route.kind))
        return res

    # -- helpers -----------------------------------------------------------
    @staticmethod
    def _one(values: list) -> float:
        if len(values) != 1 or not math.isfinite(values[0]):
            raise BadInput("malformed", "expected one finite value")
        return values[0]

    def _pct(self, values: list) -> float:
        v = self._one(values)
        if not -0.5 <= v <= 100.5:
            raise BadInput("out_of_range", f"percent={v}")
        return float(min(100.0, max(0.0, v)))

    def _octets(self, res, route, iface, ts, prev_ts, values, when, tags) -> None:
        if len(values) != 2:
            raise BadInput("malformed", "if_octets needs rx:tx")
        fields: Optional[dict] = None
        if route.store_rates:
            if any(isinstance(v, float) and math.isnan(v) for v in values):
                return  # the publisher's first reading: a baseline
            if any(not math.isfinite(v) or not 0 <= v <= MAX_RATE for v in values):
                raise BadInput("out_of_range", "if_octets rate")
            if prev_ts is None or ts - prev_ts > self.max_gap_s:
                return  # no known interval length
            dt = ts - prev_ts
            rx, tx = values
            fields = traffic_fields(int(round(rx * dt)), int(round(tx * dt)), dt,
                                    float(rx) * 8.0, float(tx) * 8.0)
        else:
            if any(not isinstance(v, int) or not 0 <= v < 1 << 64 for v in values):
                raise BadInput("out_of_range", "if_octets counter")
            speed = self.policy.link_bps(route.site, None, self.counters.default_bps) \
                if self.policy is not None else None
            ckey = ("collectd", route.ap, iface)
            if not self.counters.admits(ckey, self.limits.max_ifaces):
                raise BadInput("too_many_items", "the device already has the most interfaces")
            iv = self.counters.update(ckey, values[0], values[1], ts, bits=64, speed_bps=speed)
            fields = iv.fields() if iv is not None else None
        if fields:
            res.samples.append(Sample("ap_traffic", {**tags, "iface": iface}, fields, when))

    def _memory(self, res, ap, kind, ts, v, tags, when) -> None:
        g = self._mem.get(ap)
        if g is None or g.ts != ts:
            if g is not None and ts > g.ts:
                self._flush_mem(res, ap, g, tags)  # previous reading, complete or not
                self._mem_kinds[ap] = frozenset(g.values)
            if g is not None and ts < g.ts:
                return  # late part of an older reading
            g = self._mem[ap] = _MemGroup(ts, when)
        g.values[kind] = v
        known = self._mem_kinds.get(ap)
        if known and known <= set(g.values):
            self._flush_mem(res, ap, g, tags)

    def _flush_mem(self, res, ap, g: _MemGroup, tags) -> None:
        if g.emitted:
            return
        g.emitted = True
        total = sum(g.values.values())
        if "used" not in g.values or total <= 0:
            return
        res.samples.append(Sample("ap_system", tags, {"mem_pct": 100.0 * g.values["used"] / total}, g.when))
