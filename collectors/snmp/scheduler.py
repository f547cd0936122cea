"""When each device is polled: one timer heap for the whole fleet.

Every device has a stable slot inside its own interval (a hash of its id),
so 10,000 APs at 60 s are 167 polls a second, never a burst at :00 — and
the first round, which also detects profiles, is spread the same way, so a
cold start fits in one interval. Each poll lands within ``JITTER`` of the
interval around its slot (the grid itself never drifts). At most
``concurrency`` polls run at once; a device is never polled twice at the
same time: a slot that comes while its previous poll still runs is skipped
(counted as an overrun), not queued.
"""
from __future__ import annotations

import asyncio
import hashlib
import heapq
import random
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable

JITTER = 0.02  # of the interval, either side of the slot


def slot(device_id: str) -> float:
    """A stable place in [0, 1) for a device inside its interval."""
    return (int(hashlib.sha1(device_id.encode()).hexdigest()[:8], 16) % 100_000) / 100_000


@dataclass(order=True)
class _Due:
    at: float
    k: int = field(compare=False)  # slot number since the start (the grid)
    device_id: str = field(compare=False)


class Scheduler:
    """Runs ``poll(device_id, late_s)`` for every device on its interval until ``stop`` is set
    (``late_s``: how long after its slot the poll starts)."""

    def __init__(self, intervals: dict[str, float], concurrency: int,
                 poll: Callable[[str, float], Awaitable[None]], on_overrun: Callable[[str], None],
                 rng: random.Random | None = None):
        self.intervals = intervals
        self.poll = poll
        self.on_overrun = on_overrun
        self.sem = asyncio.Semaphore(concurrency)
        self.rng = rng or random.Random()
        self.running: dict[str, asyncio.Task] = {}

    def _at(self, start: float, device_id: str, k: int) -> float:
        iv = self.intervals[device_id]
        return start + (slot(device_id) + k) * iv + self.rng.uniform(-JITTER, JITTER) * iv

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        heap = [_Due(max(start, self._at(start, d, 0)), 0, d) for d in self.intervals]
        heapq.heapify(heap)
        stopping = loop.create_task(stop.wait())
        try:
            while heap and not stop.is_set():
                due = heap[0]
                delay = due.at - time.monotonic()
                if delay > 0:
                    await asyncio.wait({stopping}, timeout=delay)
                    continue
                heapq.heappop(heap)
                k = due.k + 1
                nxt = self._at(start, due.device_id, k)
                while nxt < time.monotonic():  # fell behind (all slots busy): skip, never burst
                    self.on_overrun(due.device_id)
                    k += 1
                    nxt = self._at(start, due.device_id, k)
                heapq.heappush(heap, _Due(nxt, k, due.device_id))
                if due.device_id in self.running:
                    self.on_overrun(due.device_id)  # still polling since its last slot
                    continue
                if self.sem.locked():  # every slot busy: wait for one (or for stop)
                    acquire = loop.create_task(self.sem.acquire())
                    await asyncio.wait({acquire, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not acquire.done():
                        acquire.cancel()
                        break
                else:
                    await self.sem.acquire()  # free: returns at once
                task = loop.create_task(self._one(due.device_id, time.monotonic() - due.at))
                self.running[due.device_id] = task
        finally:
            stopping.cancel()
            await self.cancel(self.running.values())

    async def _one(self, device_id: str, late_s: float) -> None:
        try:
            await self.poll(device_id, late_s)
        finally:
            self.sem.release()
            self.running.pop(device_id, None)

    @staticmethod
    async def cancel(tasks: Iterable[asyncio.Task]) -> None:
        tasks = list(tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
