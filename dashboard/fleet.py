"""Everything the pages and the API read, through the stores' public APIs only.

One ``FleetData`` per app. It reads the state store (AP states via the status
engine, outages), the metric store (``latest``, ``aggregate``, ``totals``) and
the service's ``runtime.json``; it never polls a device nor talks to the
broker. Fleet-wide values are cached for a few seconds (see ``cache.py``) and
filtered per request by the user's :class:`Scope`, so a partner's view is the
same data cut to its sites.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from hotspot_monitor import catalogue as cat
from hotspot_monitor.config.models import Config, Site
from hotspot_monitor.runner import ServicePaths
from hotspot_monitor.status.engine import ApRow, StatusEngine, site_state
from hotspot_monitor.status.service_hours import service_intervals
from hotspot_monitor.status.statestore import Outage, StateStore
from hotspot_monitor.stores.base import MetricStore

from .availability_book import AvailabilityBook, SiteTime, total
from .cache import RefreshCache

log = logging.getLogger("dashboard.fleet")
SNAPSHOT_TTL_S = 5.0
CLIENTS_TTL_S = 10.0
USAGE_TTL_S = 60.0
RUNTIME_TTL_S = 2.0


@dataclass(frozen=True, slots=True)
class Scope:
    """Which sites a user (or token) may see: ``sites`` None means all."""

    sites: Optional[frozenset[str]] = None
    partner: Optional[str] = None

    def allows(self, site: Optional[str]) -> bool:
        return self.sites is None or site in self.sites

    def filter(self, items: Iterable[Any], key: Callable[[Any], str]) -> list[Any]:
        return [x for x in items if self.allows(key(x))]


ALL = Scope()


@dataclass(frozen=True, slots=True)
class Usage:
    rx_bytes: int = 0
    tx_bytes: int = 0

    def __add__(self, o: "Usage") -> "Usage":
        return Usage(self.rx_bytes + o.rx_bytes, self.tx_bytes + o.tx_bytes)


@dataclass(frozen=True, slots=True)
class SiteView:
    site: Site
    state: str  # up | degraded | down | unknown | closed
    engine_state: str  # the status engine's verdict, also while closed
    aps: int
    up: int
    down: int
    unknown: int
    clients: Optional[int]
    usage_today: Usage
    month: SiteTime
    open_now: bool


@dataclass(frozen=True, slots=True)
class Kpis:
    at: datetime
    aps_up: int
    aps_down: int
    aps_unknown: int
    sites_up: int
    sites_degraded: int
    sites_down: int
    sites_closed: int
    sites_unknown: int
    clients_now: int
    rx_bytes_today: int
    tx_bytes_today: int
    month_availability_pct: Optional[float]
    sla_target_pct: float
    open_outages: int
    stale: bool
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    ap: str
    site: str
    state: str  # down | up
    reason: str
    duration_s: Optional[float]
    outage_id: int


@dataclass(frozen=True, slots=True)
class Freshness:
    """Is the data live? ``problems`` are short codes the templates translate."""

    stale: bool
    problems: list[str]
    runtime_updated: Optional[datetime]
    last_observation: Optional[datetime]


@dataclass(frozen=True, slots=True)
class OutageFilter:
    start: Optional[datetime] = None
    end: Optional[datetime] = None
    district: Optional[str] = None
    kind: Optional[str] = None
    reason: Optional[str] = None
    min_duration_s: float = 0.0
    site: Optional[str] = None
    ap: Optional[str] = None
    state: Optional[str] = None  # open | closed | None


class FleetData:
    def __init__(self, cfg: Config, base_dir: Path, states: StateStore, store: MetricStore,
                 cache: Optional[RefreshCache] = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.cfg, self.base_dir, self.states, self.store, self.clock = cfg, base_dir, states, store, clock
        self.cache = cache or RefreshCache()
        self.book = AvailabilityBook(cfg, states, self.cache, clock)
        self.sites = {s.id: s for s in cfg.sites}
        self.ap_cfg = {a.id: a for a in cfg.aps}
        self.runtime_path = ServicePaths(base_dir).runtime_file(cfg)

    # -- cached fleet-wide reads ------------------------------------------------------
    def engine(self) -> StatusEngine:
        """A read-only status engine loaded from the state store (never started)."""
        return self.cache.get("engine", SNAPSHOT_TTL_S, lambda: StatusEngine(self.cfg, self.states))

    def ap_rows(self) -> list[ApRow]:
        return self.cache.get("snapshot", SNAPSHOT_TTL_S, lambda: self.engine().snapshot().aps)

    def clients_now(self) -> dict[str, dict[str, int]]:
        """AP -> radio -> latest client count (recent samples only)."""
        def compute() -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = {}
            since = self.clock() - timedelta(seconds=self.stale_after_s())
            for s in self.store.latest(cat.AP_CLIENTS, since=since):
                c = s.fields.get("clients")
                if isinstance(c, (int, float)):
                    out.setdefault(s.tags.get("ap", ""), {})[s.tags.get("radio", "all")] = int(c)
            return out
        return self.cache.get("clients", CLIENTS_TTL_S, compute)

    def usage_today(self) -> dict[str, Usage]:
        """AP -> bytes through its uplink since local midnight (catalogue.usage_ifaces)."""
        def compute() -> dict[str, Usage]:
            now = self.clock()
            start, _ = self.book.bounds(now.astimezone(self.cfg.tz).date())
            return self.usage(start, now)
        return self.cache.get("usage-today", USAGE_TTL_S, compute)

    def usage(self, start: datetime, end: datetime, tags: Optional[dict[str, str]] = None
              ) -> dict[str, Usage]:
        rx = self.store.totals(cat.AP_TRAFFIC, "rx_bytes", start=start, end=end,
                               group_by=["ap", "iface"], tags=tags)
        tx = self.store.totals(cat.AP_TRAFFIC, "tx_bytes", start=start, end=end,
                               group_by=["ap", "iface"], tags=tags)
        ifaces: dict[str, set[str]] = {}
        for ap, iface in set(rx) | set(tx):
            ifaces.setdefault(ap, set()).add(iface)
        out: dict[str, Usage] = {}
        for ap, names in ifaces.items():
            for iface in cat.usage_ifaces(names):
                out[ap] = out.get(ap, Usage()) + Usage(int(rx.get((ap, iface)) or 0),
                                                       int(tx.get((ap, iface)) or 0))
        return out

    def runtime(self) -> Optional[dict[str, Any]]:
        def compute() -> Optional[dict[str, Any]]:
            try:
                return json.loads(self.runtime_path.read_text())
            except (OSError, ValueError):
                return None
        return self.cache.get("runtime", RUNTIME_TTL_S, compute)

    # -- derived -------------------------------------------------------------------
    def stale_after_s(self) -> float:
        w = self.cfg.web.stale_after_s
        return w if w is not None else max(3 * self.cfg.collector.interval_s, 120.0)

    def freshness(self) -> Freshness:
        now = self.clock()
        problems = []
        rt = self.runtime()
        updated = None
        if rt is None:
            problems.append("no_runtime")
        else:
            updated = _parse(rt.get("updated"))
            if rt.get("stopped"):
                problems.append("service_stopped")
            elif updated is None or (now - updated).total_seconds() > max(60.0, self.stale_after_s()):
                problems.append("service_silent")
            if not (rt.get("writer") or {}).get("store_ok", True):
                problems.append("store_down")
            if (rt.get("writer") or {}).get("spool_full"):
                problems.append("spool_full")
        seen = [r.last_seen for r in self.ap_rows() if r.last_seen is not None]
        last = max(seen) if seen else None
        if self.cfg.aps and (last is None or (now - last).total_seconds() > self.stale_after_s()):
            problems.append("no_observations")
        return Freshness(bool(problems), problems, updated, last)

    def is_open(self, site: Site, now: Optional[datetime] = None) -> bool:
        now = now or self.clock()
        if site.service_hours is None:
            return True
        return bool(service_intervals(site.service_hours, self.cfg.tz, now, now + timedelta(seconds=1)))

    def site_views(self, scope: Scope = ALL) -> list[SiteView]:
        rows = self.ap_rows()
        clients = self.clients_now()
        usage = self.usage_today()
        month = self.book.month_to_date()
        now = self.clock()
        by_site: dict[str, list[ApRow]] = {}
        for r in rows:
            by_site.setdefault(r.site, []).append(r)
        out = []
        for s in self.cfg.sites:
            if not scope.allows(s.id):
                continue
            aps = by_site.get(s.id, [])
            states = [r.state for r in aps]
            engine_state = site_state(states)
            open_now = self.is_open(s, now)
            n_clients = [clients[r.ap].get("all") for r in aps if r.state == "up" and r.ap in clients]
            out.append(SiteView(
                s, engine_state if open_now else "closed", engine_state, len(aps),
                states.count("up"), states.count("down"), states.count("unknown"),
                sum(c for c in n_clients if c is not None) if n_clients else None,
                sum((usage.get(r.ap, Usage()) for r in aps), Usage()),
                month.get(s.id, SiteTime()), open_now))
        return out

    def kpis(self, scope: Scope = ALL) -> Kpis:
        views = self.site_views(scope)
        rows = scope.filter(self.ap_rows(), lambda r: r.site)
        fresh = self.freshness()
        month = total(v.month for v in views)
        states = [v.state for v in views]
        return Kpis(
            at=self.clock(),
            aps_up=sum(1 for r in rows if r.state == "up"),
            aps_down=sum(1 for r in rows if r.state == "down"),
            aps_unknown=sum(1 for r in rows if r.state == "unknown"),
            sites_up=states.count("up"), sites_degraded=states.count("degraded"),
            sites_down=states.count("down"), sites_closed=states.count("closed"),
            sites_unknown=states.count("unknown"),
            clients_now=sum(v.clients or 0 for v in views),
            rx_bytes_today=sum(v.usage_today.rx_bytes for v in views),
            tx_bytes_today=sum(v.usage_today.tx_bytes for v in views),
            month_availability_pct=month.pct,
            sla_target_pct=self.cfg.web.sla_target_pct,
            open_outages=len(self.open_outages(scope)),
            stale=fresh.stale, problems=fresh.problems)

    # -- outages and events ------------------------------------------------------------
    def open_outages(self, scope: Scope = ALL) -> list[Outage]:
        """Open outages, longest first."""
        rows = scope.filter(self.states.outages(open_only=True), lambda o: o.site)
        return sorted(rows, key=lambda o: (o.start, o.id))

    def outages(self, scope: Scope, f: OutageFilter, limit: Optional[int] = None) -> list[Outage]:
        """Outages overlapping [start, end) that match the filter, newest first."""
        if f.start is not None and f.end is not None and f.end <= f.start:
            return []  # an empty range
        rows = self.states.outages(start=f.start, end=f.end, site=f.site,
                                   aps=[f.ap] if f.ap else None, open_only=f.state == "open")
        now = self.clock()
        out = []
        for o in reversed(rows):
            if not scope.allows(o.site):
                continue
            site = self.sites.get(o.site)
            if f.district and (site is None or site.district != f.district):
                continue
            if f.kind and (site is None or site.kind != f.kind):
                continue
            if f.reason and o.reason != f.reason:
                continue
            if f.state == "closed" and o.end is None:
                continue
            if f.min_duration_s and duration(o, now) < f.min_duration_s:
                continue
            out.append(o)
            if limit is not None and len(out) >= limit:
                break
        return out

    def outage(self, outage_id: int) -> Optional[Outage]:
        """One outage by id (the outage log's table, read-only)."""
        from sqlalchemy import select

        from hotspot_monitor.status.statestore import OutageRow

        t = OutageRow.__table__
        with self.states.engine.connect() as c:
            r = c.execute(select(t).where(t.c.id == outage_id)).mappings().first()
        return None if r is None else Outage(**dict(r))

    def events(self, scope: Scope = ALL, hours: float = 24.0, n: int = 20) -> list[Event]:
        """Latest state changes (an outage's start and end), newest first."""
        now = self.clock()
        evs = []
        for o in self.states.outages(start=now - timedelta(hours=hours)):
            if not scope.allows(o.site):
                continue
            evs.append(Event(o.start, o.ap, o.site, "down", o.reason, None, o.id))
            if o.end is not None:
                evs.append(Event(o.end, o.ap, o.site, "up", "recovered", o.duration_s, o.id))
        evs.sort(key=lambda e: (e.at, e.state == "up"), reverse=True)
        return evs[:n]

    def ap_track(self, ap: str) -> Any:
        """The engine's view of one AP (per-source verdicts), or None."""
        try:
            return self.engine().ap(ap)
        except KeyError:
            return None

    def days(self, n: int) -> tuple[date, date]:
        last = self.book.today()
        return last - timedelta(days=n - 1), last


def duration(o: Outage, now: datetime) -> float:
    return o.duration_s if o.duration_s is not None else max(0.0, (now - o.start).total_seconds())


def _parse(s: Any) -> Optional[datetime]:
    if not isinstance(s, str):
        return None
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
