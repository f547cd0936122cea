"""The collector's last SNMP round, for ``status --json``, health pages and benchmarks.

A round is one ``poll_once`` / ``poll_results`` call, or, while ``run`` polls
each device on its own clock, the polls completed in one full
``collector.interval_s`` window. CPU is the whole process's
(``time.process_time``): polls overlap on one event loop, so no share of it
can be told apart per poll.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional, TypedDict


class RoundSummary(TypedDict):
    devices: int                # device polls completed in the round
    seconds: float              # wall time of the round
    cpu_s: float                # process CPU seconds in the round
    failures: dict[str, int]    # polls that found the device down, by reason
    finished: str               # ISO 8601, UTC
    poll_p95_s: float           # 95th percentile of one poll's duration
    late_p95_s: float           # run: 95th percentile of a poll's start after its slot (else 0)


def p95(xs: list[float]) -> float:
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, int(0.95 * len(s)))]


@dataclass
class RoundTally:
    started: float = field(default_factory=time.monotonic)
    cpu_started: float = field(default_factory=time.process_time)
    devices: int = 0
    failures: Counter = field(default_factory=Counter)
    durations: list[float] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)

    def add(self, ok: bool, reason: Optional[str], duration_s: float = 0.0, late_s: float = 0.0) -> None:
        self.devices += 1
        self.durations.append(duration_s)
        self.lateness.append(late_s)
        if not ok:
            self.failures[reason or "snmp_error"] += 1

    def summary(self) -> RoundSummary:
        return RoundSummary(devices=self.devices,
                            seconds=round(time.monotonic() - self.started, 3),
                            cpu_s=round(time.process_time() - self.cpu_started, 3),
                            failures=dict(sorted(self.failures.items())),
                            finished=datetime.now(timezone.utc).isoformat(),
                            poll_p95_s=round(p95(self.durations), 3),
                            late_p95_s=round(max(0.0, p95(self.lateness)), 3))
