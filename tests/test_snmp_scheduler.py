"""The fleet scheduler: slots spread over the interval, jitter, per-device interval,
bounded concurrency, never a device twice at once. Pure asyncio timing, no agent."""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict

from collectors.snmp.scheduler import JITTER, Scheduler, slot


def run_for(seconds: float, intervals: dict[str, float], concurrency: int, poll_s: dict[str, float]):
    """Run a scheduler whose polls take ``poll_s[id]`` (default 0) for ``seconds``."""
    starts: dict[str, list[float]] = defaultdict(list)
    overruns: Counter[str] = Counter()
    active: set[str] = set()
    peak = {"in_flight": 0, "self_overlap": 0}

    async def poll(device_id: str, late_s: float) -> None:
        if device_id in active:
            peak["self_overlap"] += 1
        active.add(device_id)
        peak["in_flight"] = max(peak["in_flight"], len(active))
        starts[device_id].append(time.monotonic() - t0)
        try:
            await asyncio.sleep(poll_s.get(device_id, 0.0))
        finally:
            active.discard(device_id)

    async def go():
        stop = asyncio.Event()
        sched = Scheduler(intervals, concurrency, poll, lambda d: overruns.update([d]), rng=random.Random(7))
        task = asyncio.create_task(sched.run(stop))
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.wait_for(task, 5)
    t0 = time.monotonic()
    asyncio.run(go())
    return starts, overruns, peak


def test_first_polls_are_spread_over_the_interval_not_burst():
    ids = {f"ap-{i:04d}": 1.0 for i in range(400)}
    starts, overruns, peak = run_for(1.05 + JITTER, ids, 400, {})
    firsts = [s[0] for s in starts.values()]
    assert len(firsts) == 400 and not overruns
    # each device at its stable slot (+- jitter): a cold start is spread, not at :00
    late = [d for d, s in starts.items() if not -JITTER - 0.01 < s[0] - slot(d) < JITTER + 0.25]
    assert late == []  # (0.25 s of slack: a shared 2-core machine)
    tenths = Counter(min(9, int(f * 10)) for f in firsts)
    assert max(tenths.values()) < 400 * 0.2  # no tenth of the interval holds a burst
    assert peak["self_overlap"] == 0


def test_each_device_keeps_its_own_interval():
    starts, overruns, _ = run_for(2.0, {"fast": 0.25, "slow": 1.0}, 10, {})
    assert 7 <= len(starts["fast"]) <= 9  # 2 s / 0.25 s, first slot inside the first interval
    assert 1 <= len(starts["slow"]) <= 2
    gaps = [b - a for a, b in zip(starts["fast"], starts["fast"][1:])]
    assert all(abs(g - 0.25) <= 2 * JITTER * 0.25 + 0.03 for g in gaps), gaps
    assert not overruns


def test_concurrency_is_bounded_and_a_slow_device_is_never_polled_twice_at_once():
    ids = {f"ap-{i}": 0.5 for i in range(30)}
    ids["stuck"] = 0.3
    starts, overruns, peak = run_for(1.6, ids, 5, {"stuck": 1.0, **{f"ap-{i}": 0.05 for i in range(30)}})
    assert peak["in_flight"] <= 5
    assert peak["self_overlap"] == 0
    # "stuck" takes 1 s with a 0.3 s interval: its slots during a poll are skipped, not queued
    assert overruns["stuck"] >= 2 and len(starts["stuck"]) <= 2
    assert all(len(starts[f"ap-{i}"]) >= 2 for i in range(30))  # the others still run
