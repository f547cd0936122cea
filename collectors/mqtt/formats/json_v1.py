"""JSON telemetry schema v1 (see ``collectors/mqtt/telemetry.py``) -> Samples.

* ``ap_status``: up=1, uptime_s when given, source=mqtt;
* ``ap_clients``: one per known radio, plus ``all`` (the payload's ``all`` if
  present, else the sum of the valid radios);
* ``ap_traffic``: per iface, counters through :class:`CounterTracker` (first
  reading is a baseline; uptime going back means a reboot; gaps longer than
  ``collector.max_gap_s`` give no interval);
* ``ap_system``: cpu_pct, mem_pct, temp_c when present and in range.

A message whose ``ts`` equals one of the AP's recent ``ts`` values is a
redelivery (QoS 1 is at-least-once) and is dropped as a duplicate.
"""
from __future__ import annotations

from collections import deque
from typing import Optional

from pydantic import ValidationError

from collectors.counters import CounterTracker
from collectors.policy import MetricsPolicy
from hotspot_monitor.config.models import MqttLimits
from hotspot_monitor.sample import Sample

from ..telemetry import decode_telemetry
from ..topics import Route
from .base import BadInput, ParseResult, finite, sample_time

RADIOS = ("2.4GHz", "5GHz", "6GHz")
MAX_CLIENTS = 10_000
RANGES = {"cpu_pct": (0.0, 100.0), "mem_pct": (0.0, 100.0), "temp_c": (-50.0, 150.0)}
RECENT = 64  # how many recent ts per AP are remembered for duplicate detection


class JsonV1Parser:
    def __init__(self, counters: CounterTracker, policy: Optional[MetricsPolicy] = None,
                 limits: Optional[MqttLimits] = None):
        self.counters = counters
        self.policy = policy
        self.limits = limits or MqttLimits()
        self._recent: dict[str, deque[float]] = {}

    def parse(self, route: Route, payload: bytes, received) -> ParseResult:
        try:
            t = decode_telemetry(payload)
        except ValidationError as e:
            errs = e.errors()
            where = ".".join(str(x) for x in errs[0]["loc"]) if errs else ""
            raise BadInput("malformed", f"{where}: {errs[0]['msg']}" if errs else "invalid") from None
        except (ValueError, UnicodeDecodeError) as e:
            raise BadInput("malformed", type(e).__name__) from None
        if not finite(t.ts):
            raise BadInput("malformed", "ts is not a finite number")
        if len(t.ifaces) > self.limits.max_ifaces or len(t.clients) > self.limits.max_radios:
            raise BadInput("too_many_items", f"{len(t.ifaces)} ifaces, {len(t.clients)} radios")
        res = ParseResult()
        recent = self._recent.setdefault(route.ap, deque(maxlen=RECENT))
        if t.ts in recent:
            res.duplicate = True
            return res
        recent.append(t.ts)
        when = sample_time(t.ts, received, res)
        tags = {"site": route.site, "ap": route.ap}

        status: dict = {"up": 1}
        if t.uptime_s is not None:
            status["uptime_s"] = int(t.uptime_s)
        res.samples.append(Sample("ap_status", {**tags, "source": "mqtt"}, status, when))
        if self.policy is not None and not self.policy.counts_metrics(route.ap, "mqtt"):
            return res  # another source supplies this AP's metrics (aps[].metrics_from)

        total, counted = 0, False
        for radio, n in t.clients.items():
            if radio not in RADIOS and radio != "all":
                res.problems.append(("unknown_metric", f"clients.{radio}"))
            elif not 0 <= n <= MAX_CLIENTS:
                res.problems.append(("out_of_range", f"clients.{radio}={n}"))
            elif radio != "all":
                res.samples.append(Sample("ap_clients", {**tags, "radio": radio}, {"clients": n}, when))
                total += n
                counted = True
        given_all = t.clients.get("all")
        if given_all is not None and 0 <= given_all <= MAX_CLIENTS:
            res.samples.append(Sample("ap_clients", {**tags, "radio": "all"}, {"clients": given_all}, when))
        elif counted:
            res.samples.append(Sample("ap_clients", {**tags, "radio": "all"}, {"clients": total}, when))

        now_s = when.timestamp()
        for name, c in t.ifaces.items():
            limit = 1 << c.bits
            if c.rx_bytes >= limit or c.tx_bytes >= limit:
                res.problems.append(("out_of_range", f"ifaces.{name} counter >= 2**{c.bits}"))
                continue
            iface_bps = c.speed_mbps * 1e6 if c.speed_mbps else None
            speed = self.policy.link_bps(route.site, iface_bps, self.counters.default_bps) \
                if self.policy is not None else iface_bps
            key = ("mqtt", route.ap, name)
            if not self.counters.admits(key, self.limits.max_ifaces):
                res.problems.append(("too_many_items", f"ifaces.{name[:64]}: the device already has "
                                     f"{self.limits.max_ifaces} interfaces"))
                continue
            iv = self.counters.update(key, c.rx_bytes, c.tx_bytes, now_s,
                                      bits=c.bits, uptime_s=t.uptime_s, speed_bps=speed)
            if iv is not None:
                res.samples.append(Sample("ap_traffic", {**tags, "iface": name}, iv.fields(), when))

        system: dict = {}
        for key, (lo, hi) in RANGES.items():
            v = getattr(t, key)
            if v is None:
                continue
            if not finite(v) or not lo <= v <= hi:
                res.problems.append(("out_of_range", f"{key}={v}"))
            else:
                system[key] = float(v)
        if system:
            res.samples.append(Sample("ap_system", tags, system, when))
        return res
