"""Counter math shared by every collector: raw octet counters -> interval bytes.

SNMP and MQTT both report ever-growing counters that wrap (32 or 64 bit) and
restart from zero when a device reboots. Contract reports sum the interval
bytes, so each rule below errs on the side of never counting a byte twice:

* first reading of a counter: baseline only, no interval;
* gap longer than ``max_gap_s``: never a rate (an average over hours is no
  rate), but the bytes are still exact when nothing can have hidden them: a
  64-bit counter that went up while the device's uptime went on (no reboot)
  is counted as one interval without a rate, and after a reboot inside the
  gap the bytes since boot are; anything else (32-bit, which may have wrapped
  any number of times, or no uptime to rule out a reboot) is baseline only;
* reboot (uptime went back, or ``reset=True``): the interval is the new counter
  value, the bytes since boot; traffic between the last poll and the reboot is
  unknowable and not invented;
* value went down without a reboot: a wrap at 2**bits if the wrapped delta is
  plausible at ``max_bps``, otherwise a reset;
* reading not newer than the baseline (out of order, redelivered): ignored;
* clock stepped back but the counter went up: bytes counted, no rate;
* with ``agent_uptime`` (SNMP sysUpTime is the agent's uptime, not the
  device's): uptime went back but the counter kept growing means the agent
  restarted, not the device: a normal interval.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Optional

DEFAULT_MAX_BPS = 100e9  # faster than any AP port: above it a "wrap" must be a reset


@dataclass(frozen=True, slots=True)
class Delta:
    bytes: int
    seconds: float
    bps: Optional[float]  # bits per second; None when the interval has no usable length
    kind: str  # "normal", "wrap", "reset", "clock_back", "gap"


def interval_fields(direction: str, delta: Delta) -> dict:
    """``ap_traffic`` fields of one direction (``rx``/``tx``): bytes, and bits/s
    when the interval has a usable length."""
    out: dict = {f"{direction}_bytes": delta.bytes}
    if delta.bps is not None:
        out[f"{direction}_bps"] = float(delta.bps)
    return out


@dataclass(slots=True)
class _State:
    value: int
    t: float
    uptime_s: Optional[float]


class CounterTracker:
    """Remembers the last reading per key (device, interface, direction)."""

    def __init__(self, max_gap_s: float = 900.0, max_bps: float = DEFAULT_MAX_BPS):
        self.max_gap_s = max_gap_s
        self.max_bps = max_bps
        self._last: dict[Hashable, _State] = {}
        self.stats: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._last)

    def snapshot(self) -> list[list]:
        """The baselines as JSON-able rows, to carry them across a restart."""
        return [[list(k) if isinstance(k, tuple) else k, st.value, st.t, st.uptime_s]
                for k, st in self._last.items()]

    def restore(self, rows: list[list]) -> int:
        """Load baselines saved by :meth:`snapshot` (tuple keys come back as tuples).

        Only a snapshot taken after every Sample computed from these baselines
        was made durable is safe: the runner saves it at a clean shutdown and
        deletes it when it starts, so a crash never leaves a stale one.
        """
        n = 0
        for key, value, t, uptime_s in rows:
            k = tuple(key) if isinstance(key, list) else key
            if k not in self._last:
                self._last[k] = _State(int(value), float(t), None if uptime_s is None else float(uptime_s))
                n += 1
        return n

    def forget(self, key: Hashable) -> None:
        self._last.pop(key, None)

    def update(
        self,
        key: Hashable,
        value: int,
        t: float,
        *,
        bits: int = 64,
        uptime_s: Optional[float] = None,
        reset: bool = False,
        max_bps: Optional[float] = None,
        agent_uptime: bool = False,
    ) -> Optional[Delta]:
        """Feed one reading taken at ``t`` (epoch seconds); return the interval or None."""
        if bits not in (32, 64):
            raise ValueError("bits must be 32 or 64")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 1 << bits:
            self._count("out_of_range")
            return None
        prev = self._last.get(key)
        state = _State(value, t, uptime_s)
        if prev is None:
            self._last[key] = state
            self._count("first")
            return None
        dt = t - prev.t
        uptime_back = uptime_s is not None and prev.uptime_s is not None and uptime_s < prev.uptime_s
        if dt <= 0 and not reset:
            # Not newer than the baseline. Only a counter that went up while the
            # uptime did not go back is a newer reading under a clock that
            # stepped back; anything else (a redelivery, an older message whose
            # lower uptime would look like a reboot) is ignored.
            if value <= prev.value or uptime_back:
                self._count("out_of_order")
                return None  # keep the newer baseline
            self._last[key] = state
            self._count("clock_back")
            return Delta(value - prev.value, 0.0, None, "clock_back")
        # With an agent's uptime (SNMP sysUpTime), the uptime going back while
        # the counter went on growing is an agent restart (snmpd respawned),
        # not a reboot: a rebooted device's counters restart near zero.
        agent_restart = agent_uptime and uptime_back and not reset and value >= prev.value
        rebooted = reset or (uptime_back and not agent_restart)
        if agent_restart:
            self._count("agent_restart")
        self._last[key] = state
        if dt > self.max_gap_s:
            if rebooted:
                self._count("gap_reset")
                return Delta(value, dt, None, "reset")
            continuous = uptime_s is not None and prev.uptime_s is not None
            if bits == 64 and continuous and value >= prev.value:
                self._count("gap_counted")
                return Delta(value - prev.value, dt, None, "gap")
            self._count("gap")
            return None
        if rebooted:
            self._count("reset")
            return self._delta(value, dt, "reset")
        if value >= prev.value:
            self._count("normal")
            return self._delta(value - prev.value, dt, "normal")
        wrapped = value + (1 << bits) - prev.value
        limit = (max_bps or self.max_bps) * dt / 8
        if wrapped <= limit:
            self._count("wrap")
            return self._delta(wrapped, dt, "wrap")
        self._count("reset")
        return self._delta(value, dt, "reset")

    def _delta(self, n: int, dt: float, kind: str) -> Delta:
        return Delta(n, dt, (n * 8 / dt) if dt > 0 else None, kind)

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1
