"""Outage, reboot and power-cut schedule: planned (pure function of the seed) plus
events injected at run time.

Planned events are drawn per AP (or per site for power cuts) and per *local
day* from a hash, so the schedule of any day is computed on its own:

* ``reboot``: the AP restarts; it does not answer for ``BOOT_S`` seconds and
  its uptime and counters restart at ``start``;
* ``outage``: the AP stops answering (uplink lost) for 3 min .. 4 h; half of
  them end with a reboot (``boot_at = end - BOOT_S``);
* ``power_cut``: every AP of a site is down 10 min .. 3 h, then all reboot;
* a maintenance reboot every 40 days per AP bounds the uptime, which keeps
  "time since last boot" a bounded backwards search.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Iterator, Optional

from .model import DAY, FleetModel, stable_key, u01

BOOT_S = 60
MAINTENANCE_DAYS = 40
INF = float("inf")


@dataclass(frozen=True)
class Rates:
    """Probabilities per AP (per site for power cuts) per day."""

    reboot: float = 0.02
    outage: float = 0.03
    power_cut: float = 0.01


@dataclass(frozen=True)
class Event:
    kind: str  # reboot | outage | power_cut | forced_down
    site: str
    ap: Optional[str]  # None: every AP of the site
    start: float  # epoch seconds: stops answering
    end: float  # answers again (INF: until revived)
    boot_at: Optional[float]  # uptime and counters restart here
    source: str = "plan"  # plan | runtime

    def to_dict(self) -> dict:
        d = asdict(self)
        d["end"] = None if self.end == INF else self.end
        return d


@dataclass
class Runtime:
    """Events injected while running (tests, demo): intervals and boots."""

    down: dict[str, list[list[float]]] = field(default_factory=dict)  # ap -> [[start, end]]
    cuts: dict[str, list[list[float]]] = field(default_factory=dict)  # site -> [[start, end]]
    boots: dict[str, list[float]] = field(default_factory=dict)  # ap -> boot times


class Plan:
    def __init__(self, model: FleetModel, rates: Rates = Rates()) -> None:
        self.model = model
        self.rates = rates
        self.runtime = Runtime()
        self._site_key = {s: stable_key(model.seed, "power", s) for s in model.sites}
        self._ap_key = {a: stable_key(model.seed, "events", a) for a in model.aps}
        self._cached_day = lru_cache(maxsize=300_000)(self._day_events)

    # --- planned events ---------------------------------------------------
    def _utc(self, x: float) -> float:
        return x - self.model.offset_s

    def _day_events(self, ap_id: str, day: int) -> tuple[Event, ...]:
        """Planned events touching one AP that start in local ``day``."""
        m, r = self.model, self.rates
        spec = m.aps[ap_id]
        k = self._ap_key[ap_id]
        d0 = day * DAY
        out: list[Event] = []
        if (day + k % MAINTENANCE_DAYS) % MAINTENANCE_DAYS == 0:
            s = self._utc(d0 + 3 * 3600 + 60 * int(60 * u01(k, day, 1)))
            out.append(Event("reboot", spec.site, ap_id, s, s + BOOT_S, s))
        if u01(k, day, 2) < r.reboot:
            s = self._utc(d0 + 60 * int(1440 * u01(k, day, 3)))
            out.append(Event("reboot", spec.site, ap_id, s, s + BOOT_S, s))
        if u01(k, day, 4) < r.outage:
            s = self._utc(d0 + 60 * int(1440 * u01(k, day, 5)))
            dur = 60 * round(math.exp(math.log(3) + (math.log(240) - math.log(3)) * u01(k, day, 6)))
            boots = u01(k, day, 7) < 0.5
            out.append(Event("outage", spec.site, ap_id, s, s + dur,
                             s + dur - BOOT_S if boots else None))
        sk = self._site_key[spec.site]
        if u01(sk, day, 8) < r.power_cut:
            s = self._utc(d0 + 60 * int(1440 * u01(sk, day, 9)))
            dur = 60 * round(math.exp(math.log(10) + (math.log(180) - math.log(10)) * u01(sk, day, 10)))
            out.append(Event("power_cut", spec.site, None, s, s + dur + BOOT_S, s + dur))
        return tuple(sorted(out, key=lambda e: e.start))

    def _local_day(self, t: float) -> int:
        return int(self.model.local(t) // DAY)

    def ap_events(self, ap_id: str, t0: float, t1: float) -> list[Event]:
        """Planned and runtime events of one AP overlapping [t0, t1)."""
        out = []
        for day in range(self._local_day(t0) - 1, self._local_day(t1) + 1):
            out += [e for e in self._cached_day(ap_id, day) if e.start < t1 and e.end > t0]
        out += [e for e in self._runtime_events(ap_id) if e.start < t1 and e.end > t0]
        return sorted(out, key=lambda e: (e.start, e.kind))

    def _runtime_events(self, ap_id: str) -> list[Event]:
        rt = self.runtime
        site = self.model.aps[ap_id].site
        out = [Event("forced_down", site, ap_id, s, e, None, "runtime") for s, e in rt.down.get(ap_id, [])]
        out += [Event("power_cut", site, None, s, e, e if e != INF else None, "runtime")
                for s, e in rt.cuts.get(site, [])]
        out += [Event("reboot", site, ap_id, b, b, b, "runtime") for b in rt.boots.get(ap_id, [])]
        return out

    def events(self, t0: float, t1: float, ap_ids: Optional[list[str]] = None) -> list[Event]:
        """Every event starting in [t0, t1); power cuts listed once per site."""
        seen: set = set()
        out: list[Event] = []
        for ap_id in ap_ids or list(self.model.aps):
            for e in self.ap_events(ap_id, t0, t1):
                if not (t0 <= e.start < t1):
                    continue
                key = (e.kind, e.site, e.ap, e.start, e.source)
                if key not in seen:
                    seen.add(key)
                    out.append(e)
        return sorted(out, key=lambda e: (e.start, e.site, e.ap or ""))

    # --- state at an instant -------------------------------------------
    def down_reason(self, ap_id: str, t: float) -> Optional[str]:
        """Why the AP does not answer at t (event kind), or None when it answers."""
        rt = self.runtime
        for s, e in rt.down.get(ap_id, ()):
            if s <= t < e:
                return "forced_down"
        for s, e in rt.cuts.get(self.model.aps[ap_id].site, ()):
            if s <= t < e:
                return "power_cut"
        day = self._local_day(t)
        for d in (day - 1, day):
            for ev in self._cached_day(ap_id, d):
                if ev.start <= t < ev.end:
                    if any(b <= t and b > ev.start for b in rt.boots.get(ap_id, ())):
                        continue  # revived at run time (power restored early)
                    return ev.kind
        return None

    def last_boot(self, ap_id: str, t: float) -> float:
        """When the AP last booted at or before t (uptime and counters start there)."""
        best = max((b for b in self.runtime.boots.get(ap_id, ()) if b <= t), default=-INF)
        day = self._local_day(t)
        for d in range(day + 1, day - MAINTENANCE_DAYS - 3, -1):
            # Events of the day before may boot later (outage past midnight).
            found = [e.boot_at for dd in (d, d - 1) for e in self._cached_day(ap_id, dd)
                     if e.boot_at is not None and e.boot_at <= t]
            if found:
                return max(best, max(found))
            if best > -INF and best >= self._utc((d + 1) * DAY):
                return best
        return best if best > -INF else self._utc((day - MAINTENANCE_DAYS) * DAY)

    def iter_days(self, t0: float, t1: float) -> Iterator[int]:
        return iter(range(self._local_day(t0), self._local_day(t1) + 1))
