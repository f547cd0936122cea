"""Failed logins per client address, in memory (the per-account lockout lives in
the accounts table): stops one address from trying many usernames."""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Optional


class AddressThrottle:
    def __init__(self, limit: int = 20, window_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, max_addresses: int = 10_000):
        self.limit, self.window_s, self.clock, self.max_addresses = limit, window_s, clock, max_addresses
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, addr: str, now: float) -> deque[float]:
        q = self._fails.get(addr)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def blocked_for(self, addr: str) -> Optional[float]:
        """Seconds until ``addr`` may try again, or None."""
        now = self.clock()
        with self._lock:
            q = self._recent(addr, now)
            if len(q) >= self.limit:
                return q[0] + self.window_s - now
        return None

    def failed(self, addr: str) -> None:
        now = self.clock()
        with self._lock:
            if addr not in self._fails and len(self._fails) >= self.max_addresses:
                self._fails.pop(next(iter(self._fails)))  # forget the oldest address
            q = self._fails.setdefault(addr, deque())
            q.append(now)
            self._recent(addr, now)
