"""What every payload format shares: the result type, bad-input errors and the
clock-skew rule.

A parser turns one payload (plus its :class:`~collectors.mqtt.topics.Route`)
into Samples. A message that cannot be used at all raises :class:`BadInput`;
a message that is partly usable returns its Samples plus ``problems`` (e.g. an
out-of-range field), which the collector counts and dead-letters.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from hotspot_monitor.sample import Sample

# Device clocks: a timestamp more than FUTURE_SKEW_S ahead of the time we
# received the message, or more than MAX_AGE_S behind it, is not believed.
# The past allowance is large on purpose: QoS 1 messages queued by the broker
# while the collector was down legitimately arrive hours late.
FUTURE_SKEW_S = 300.0
MAX_AGE_S = 7 * 86400.0


class BadInput(ValueError):
    """The whole message is unusable; ``reason`` is the stats / dead-letter key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class ParseResult:
    samples: list[Sample] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail)
    ignored: int = 0  # known metrics we deliberately do not store
    duplicate: bool = False  # a redelivered / older message, dropped
    clock_skew: bool = False


def sample_time(ts: Optional[float], received: datetime, result: ParseResult) -> datetime:
    """The device time ``ts`` if believable, else the receive time (flagged)."""
    if ts is None or not math.isfinite(ts):
        result.clock_skew = ts is not None
        return received
    r = received.timestamp()
    if ts - r > FUTURE_SKEW_S or r - ts > MAX_AGE_S:
        result.clock_skew = True
        return received
    return datetime.fromtimestamp(ts, timezone.utc)


def finite(x: float) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
