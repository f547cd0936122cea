"""Pro-rata split of interval bytes across a boundary (a month, a day).

An ``ap_traffic`` point holds the bytes of ``[time - interval_s, time]``. When
that interval crosses a report's boundary, its bytes are shared by time. Each
share is ``before(hi) - before(lo)`` with ``before(x)`` the bytes carried
before ``x``, rounded once: so the shares of consecutive months always add up
to the point's bytes exactly, never a byte more or less.
"""
from __future__ import annotations

from datetime import datetime

from ..sample import to_us


def bytes_before(n: int, end: datetime, interval_s: float, x: datetime) -> int:
    """Of ``n`` bytes carried evenly over ``[end - interval_s, end]``, those before ``x``."""
    end_us = to_us(end)
    length_us = round(interval_s * 1e6)
    if length_us <= 0:
        return n if end_us < to_us(x) else 0  # no length: all bytes are at ``end``
    start_us = end_us - length_us
    x_us = to_us(x)
    if x_us <= start_us:
        return 0
    if x_us > end_us:
        return n
    # integer arithmetic, half up: exact and the same on every machine
    return (2 * n * (x_us - start_us) + length_us) // (2 * length_us)


def share(n: int, end: datetime, interval_s: float, lo: datetime, hi: datetime) -> int:
    """Bytes of the point that fall in ``[lo, hi)``."""
    return bytes_before(n, end, interval_s, hi) - bytes_before(n, end, interval_s, lo)
