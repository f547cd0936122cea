"""Values computed at most every ``ttl`` seconds, shared by all requests.

Refresh-ahead: once a value exists, a request that finds it stale gets it at
once while one background thread recomputes it, so a slow computation (a
fleet's month availability) never sits in a page's response time after the
first one. Concurrent first requests for a key share one computation.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Hashable

log = logging.getLogger("dashboard.cache")


@dataclass
class _Entry:
    value: Any
    at: float
    refreshing: bool = False


class RefreshCache:
    def __init__(self, workers: int = 2, clock: Callable[[], float] = time.monotonic):
        self._entries: dict[Hashable, _Entry] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dash-refresh")
        self._clock = clock

    def get(self, key: Hashable, ttl: float, compute: Callable[[], Any]) -> Any:
        e = self._entries.get(key)
        now = self._clock()
        if e is not None:
            if now - e.at >= ttl:
                self._refresh_later(key, e, compute)
            return e.value
        with self._lock_for(key):
            e = self._entries.get(key)
            if e is None:
                e = _Entry(compute(), self._clock())
                self._entries[key] = e
            return e.value

    def _lock_for(self, key: Hashable) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _refresh_later(self, key: Hashable, e: _Entry, compute: Callable[[], Any]) -> None:
        with self._guard:
            if e.refreshing:
                return
            e.refreshing = True

        def run() -> None:
            try:
                self._entries[key] = _Entry(compute(), self._clock())
            except Exception:  # keep serving the old value; try again next time
                log.exception("refreshing %r failed", key)
                e.refreshing = False

        self._pool.submit(run)

    def invalidate(self, key: Hashable | None = None) -> None:
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
