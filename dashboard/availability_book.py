"""Availability per local day and site, kept ready for the pages.

Computing availability reads the outage and session logs of the whole fleet
(about a second per call at 5,000 APs), far too slow for a page. Availability
over a range is additive over a split of the range (docs/status.md: parts add
up exactly), so the book keeps monitored and down seconds per *local day* and
site, computes each past day once (refreshed every few hours, in case history
was imported) and today at most once a minute, in the background after the
first time. A month-to-date figure or a 30-day chart is then a sum of days.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterable, Optional

from hotspot_monitor.config.models import Config
from hotspot_monitor.status.availability import MaintenanceWindow, availability_by_site
from hotspot_monitor.status.statestore import StateStore

from .cache import RefreshCache

log = logging.getLogger("dashboard.availability")
TODAY_TTL_S = 60.0
PAST_TTL_S = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class SiteTime:
    """Monitored and down AP-seconds of one site (or a sum of sites / days)."""

    monitored_s: float = 0.0
    downtime_s: float = 0.0
    aps: int = 0
    unmonitored_s: Optional[float] = None  # once the status engine reports them
    maintenance_s: Optional[float] = None

    @property
    def pct(self) -> Optional[float]:
        if self.monitored_s <= 0:
            return None
        return 100.0 * (self.monitored_s - self.downtime_s) / self.monitored_s

    def __add__(self, o: "SiteTime") -> "SiteTime":
        def opt(a: Optional[float], b: Optional[float]) -> Optional[float]:
            return None if a is None and b is None else (a or 0.0) + (b or 0.0)

        return SiteTime(self.monitored_s + o.monitored_s, self.downtime_s + o.downtime_s,
                        max(self.aps, o.aps), opt(self.unmonitored_s, o.unmonitored_s),
                        opt(self.maintenance_s, o.maintenance_s))


def total(times: Iterable[SiteTime]) -> SiteTime:
    out = SiteTime()
    for t in times:
        out = out + t
    return out


Maintenance = Callable[[datetime, datetime], list[MaintenanceWindow]]


class AvailabilityBook:
    """``maintenance(start, end)`` gives the planned maintenance windows (silences of kind
    maintenance and the config's): that time is planned downtime, neither up nor down."""

    def __init__(self, cfg: Config, states: StateStore, cache: RefreshCache,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 maintenance: Optional[Maintenance] = None):
        self.cfg, self.states, self.cache, self.clock = cfg, states, cache, clock
        self.maintenance = maintenance
        self._stop = threading.Event()

    def today(self) -> date:
        return self.clock().astimezone(self.cfg.tz).date()

    def bounds(self, d: date) -> tuple[datetime, datetime]:
        tz = self.cfg.tz
        return (datetime.combine(d, time(0), tzinfo=tz).astimezone(timezone.utc),
                datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc))

    def day(self, d: date) -> dict[str, SiteTime]:
        """Every site's time on local day ``d`` (today: up to now)."""
        today = self.today()
        if d > today:
            return {}
        ttl = TODAY_TTL_S if d == today else PAST_TTL_S
        return self.cache.get(("availability-day", d), ttl, lambda: self._compute(d))

    def _compute(self, d: date) -> dict[str, SiteTime]:
        start, end = self.bounds(d)
        end = min(end, self.clock())
        if end <= start:
            return {}
        out = {}
        windows = self.maintenance(start, end) if self.maintenance is not None else []
        for site, a in availability_by_site(self.states, self.cfg, start=start, end=end,
                                            maintenance=windows).items():
            out[site] = SiteTime(a.monitored_s, a.downtime_s, a.aps,
                                 getattr(a, "unmonitored_s", None), getattr(a, "maintenance_s", None))
        return out

    def forget_from(self, t: datetime, max_days: int = 400) -> None:
        """Recompute the days from ``t``'s local day to today on their next read (a
        maintenance window was added or ended; at most ``max_days`` back)."""
        today = self.today()
        d = max(t.astimezone(self.cfg.tz).date(), today - timedelta(days=max_days))
        while d <= today:
            self.cache.invalidate(("availability-day", d))
            d += timedelta(days=1)

    def days(self, first: date, last: date, sites: Optional[Iterable[str]] = None
             ) -> list[tuple[date, SiteTime]]:
        """(day, the sites' summed time) for each local day in [first, last]."""
        keep = None if sites is None else set(sites)
        out = []
        d = first
        while d <= last:
            per_site = self.day(d)
            out.append((d, total(t for s, t in per_site.items() if keep is None or s in keep)))
            d += timedelta(days=1)
        return out

    def month_to_date(self) -> dict[str, SiteTime]:
        today = self.today()
        out: dict[str, SiteTime] = {}
        d = today.replace(day=1)
        while d <= today:
            for site, t in self.day(d).items():
                out[site] = out.get(site, SiteTime()) + t
            d += timedelta(days=1)
        return out

    def warm(self, days: int = 35) -> threading.Thread:
        """Compute the last ``days`` days in the background, newest first."""
        def run() -> None:
            today = self.today()
            for i in range(days):
                if self._stop.is_set():
                    return
                try:
                    self.day(today - timedelta(days=i))
                except Exception:
                    log.exception("availability for %s failed", today - timedelta(days=i))
        t = threading.Thread(target=run, name="dash-availability-warm", daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()
