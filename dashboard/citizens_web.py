"""What the public pages and the report queue share in the app (``app.extensions["citizens"]``).

* The report desk on the state store's engine.
* Rate limits per client address, in memory only and keyed by a salted hash of
  the address (the salt is random per process): no reporter's address is kept
  in clear anywhere, not even in memory, and none is ever written.
* A short-lived cache of rendered public pages, so a page shared on social
  media costs one render per ``citizens.cache_s`` and language.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Hashable, Optional

from hotspot_monitor.citizens.desk import ReportDesk
from hotspot_monitor.config.models import Config
from hotspot_monitor.status.statestore import StateStore

from .throttle import AddressThrottle

_SALT = secrets.token_bytes(16)


def client_key(addr: Optional[str]) -> str:
    """A salted hash of the client's address: enough to count, useless to identify."""
    return hashlib.sha256(_SALT + (addr or "?").encode()).hexdigest()[:24]


class RateLimit:
    """At most ``limit`` hits per ``window_s`` per key (a sliding window)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self._t = AddressThrottle(limit=limit, window_s=window_s, clock=clock, max_addresses=50_000)

    def blocked(self, key: str) -> Optional[float]:
        """Seconds to wait when ``key`` is over the limit, else None (nothing counted)."""
        wait = self._t.blocked_for(key)
        return None if wait is None else max(1.0, wait)

    def count(self, key: str) -> None:
        self._t.failed(key)

    def hit(self, key: str) -> Optional[float]:
        """Count one hit; the seconds to wait when over the limit (then nothing is counted)."""
        wait = self.blocked(key)
        if wait is None:
            self.count(key)
        return wait


@dataclass(frozen=True, slots=True)
class _Kept:
    at: float
    value: object


class PageCache:
    """Rendered bytes per key for ``ttl`` seconds (at most ``size`` keys, oldest dropped)."""

    def __init__(self, ttl: float, size: int = 512, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.size, self.clock = ttl, size, clock
        self._d: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], object]) -> object:
        now = self.clock()
        with self._lock:
            hit = self._d.get(key)
            if hit is not None and now - hit.at < self.ttl:
                return hit.value
        value = make()
        with self._lock:
            self._d[key] = _Kept(now, value)
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._d.clear()


@dataclass
class CitizensWeb:
    cfg: Config
    desk: ReportDesk
    pages: RateLimit = field(init=False)
    reports: RateLimit = field(init=False)
    cache: PageCache = field(init=False)
    posters: PageCache = field(init=False)

    def __post_init__(self) -> None:
        c = self.cfg.citizens
        self.pages = RateLimit(c.page_requests_per_min, 60.0)
        self.reports = RateLimit(c.reports_per_hour, 3600.0)
        self.cache = PageCache(c.cache_s)
        self.posters = PageCache(3600.0, size=64)

    @classmethod
    def create(cls, cfg: Config, states: StateStore) -> "CitizensWeb":
        return cls(cfg, ReportDesk(states, cfg.citizens.contact_retention_days))
