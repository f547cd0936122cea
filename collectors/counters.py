"""Counter math shared by every collector: raw octet counters -> interval bytes.

SNMP and MQTT both report ever-growing byte counters that wrap (32 or 64 bit)
and restart from zero when a device reboots. Contract reports sum the
interval bytes, so every rule errs on the side of **never counting a byte that
may not exist**: when a reading is ambiguous the tracker counts less (or
nothing, keeping the reading as a new baseline), never more. The rules, in the
order they are applied to a reading of one interface (rx and tx together):

1. A value outside ``[0, 2**bits)`` refuses the whole reading (baseline kept).
2. The first reading of an interface is a baseline only.
3. **Width belongs to the baseline.** A reading of another width (an agent
   falling back from ifHCInOctets to ifInOctets) starts a new baseline; the
   old one is *parked*, and a later reading of the old width continues from it
   as long as nothing was counted meanwhile (64 -> 32 -> 64 loses nothing).
4. A counter discontinuity (IF-MIB ifCounterDiscontinuityTime changed)
   starts a new baseline.
5. A reading not newer than the baseline (redelivered, out of order, a clock
   stepped back) is ignored; the newer baseline stays, so the bytes are
   counted once by the next newer reading.
6. **Reboot** = a counter dropped *and* the uptime says the device booted since
   the previous reading (uptime went back, or is shorter than the time since
   the previous reading), or the caller says so (``reset``). Then the bytes
   since boot (the new values) are counted, if the link could have carried
   them in that time; otherwise the reading is a baseline only. Uptime going
   back while the counters went on (an NTP step in an agent computing
   ``now - boot``, an SNMP agent restart) is **not** a reboot: the counters
   are continuous and their difference is counted.
7. A counter that went up: the difference.
8. A 32-bit counter that dropped without a reboot: a **wrap** at 2**32 if the
   wrapped difference fits in what the link can carry in the interval
   (``speed_bps``: the interface's own speed, else the site's backhaul, else
   ``default_bps``); otherwise a counter reset and the new value is counted
   (if the link could carry it), never a wrap. A 64-bit counter never wraps
   in a device's life (2**64 bytes take 4,676 years at 1 Gbit/s): a drop is a
   reset, and an agent whose "64-bit" counters really wrap at 2**32 is
   counted short, never long.
9. After a gap longer than ``max_gap_s`` no rate is given (an average over
   hours is no rate). 64-bit differences stay exact and are counted; a 32-bit
   counter whose link could wrap it within the gap is ambiguous: baseline only.

Each interval carries its length (``interval_s``) so a report can apportion an
interval that crosses a month boundary.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Optional

DEFAULT_LINK_BPS = 100e6  # a hotspot AP's uplink when neither it nor its site says (docs/snmp.md)
MAX_PLAUSIBLE_BPS = 100e9  # no AP port carries more: a larger jump is garbage, not traffic
SPEED_SLACK = 1.05  # poll-time jitter: a wrap at line rate must still be a wrap
SNAPSHOT_VERSION = 2


@dataclass(frozen=True, slots=True)
class Interval:
    """Bytes counted for one interface over one interval ending at the reading."""

    rx: int
    tx: int
    seconds: float  # the interval's length (bytes were carried in [t - seconds, t])
    kind: str  # "normal", "wrap", "reset", "gap"
    rated: bool  # False after a gap: the bytes are exact, an average rate is not meaningful

    def fields(self) -> dict:
        """The ``ap_traffic`` fields: built here and nowhere else."""
        out: dict = {"rx_bytes": self.rx, "tx_bytes": self.tx, "interval_s": float(self.seconds)}
        if self.rated and self.seconds > 0:
            out["rx_bps"] = self.rx * 8 / self.seconds
            out["tx_bps"] = self.tx * 8 / self.seconds
        return out


def traffic_fields(rx_bytes: int, tx_bytes: int, seconds: float,
                   rx_bps: Optional[float] = None, tx_bps: Optional[float] = None) -> dict:
    """``ap_traffic`` fields for bytes a publisher computed itself (collectd
    StoreRates): same shape as :meth:`Interval.fields`."""
    out: dict = {"rx_bytes": int(rx_bytes), "tx_bytes": int(tx_bytes), "interval_s": float(seconds)}
    if rx_bps is not None and tx_bps is not None:
        out["rx_bps"] = float(rx_bps)
        out["tx_bps"] = float(tx_bps)
    return out


def link_bps(iface_bps: Optional[float], backhaul_mbps: Optional[float],
             default_bps: float = DEFAULT_LINK_BPS) -> float:
    """What an interface can carry: its own speed, else the site's backhaul, else the default."""
    if iface_bps is not None and iface_bps > 0:
        return float(iface_bps)
    if backhaul_mbps is not None and backhaul_mbps > 0:
        return float(backhaul_mbps) * 1e6
    return float(default_bps)


@dataclass(slots=True)
class _Base:
    rx: int
    tx: int
    t: float
    uptime_s: Optional[float]
    bits: int
    discontinuity: Optional[int] = None


@dataclass(slots=True)
class _State:
    base: _Base
    parked: Optional[_Base] = None  # the other width's baseline, usable while nothing was counted


class CounterTracker:
    """Remembers the last reading per key (device, interface) and turns the
    next one into an :class:`Interval`. ``stats`` counts every decision."""

    def __init__(self, max_gap_s: float = 900.0, default_bps: float = DEFAULT_LINK_BPS):
        self.max_gap_s = max_gap_s
        self.default_bps = default_bps
        self._last: dict[Hashable, _State] = {}
        self._groups: dict[Hashable, int] = {}  # baselines per device: key[:-1] of tuple keys
        self.stats: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._last)

    def keys(self) -> list[Hashable]:
        """The interfaces with a baseline."""
        return list(self._last)

    # -- persistence across a clean restart ---------------------------------
    def snapshot(self) -> list[list]:
        """The baselines as JSON-able rows, to carry them across a restart."""
        rows = []
        for k, st in self._last.items():
            b = st.base
            rows.append([SNAPSHOT_VERSION, list(k) if isinstance(k, tuple) else k,
                         b.rx, b.tx, b.t, b.uptime_s, b.bits, b.discontinuity])
        return rows

    def restore(self, rows: list[list]) -> int:
        """Load baselines saved by :meth:`snapshot`; rows of another version are skipped.

        Only a snapshot taken after every Sample computed from these baselines
        was made durable is safe: the runner saves it at a clean shutdown and
        deletes it when it starts, so a crash never leaves a stale one.
        """
        n = 0
        for row in rows:
            if not isinstance(row, list) or len(row) != 8 or row[0] != SNAPSHOT_VERSION:
                self._count("restore_skipped")
                continue
            _, key, rx, tx, t, up, bits, disc = row
            k = tuple(key) if isinstance(key, list) else key
            if k not in self._last:
                self._last[k] = _State(_Base(int(rx), int(tx), float(t),
                                             None if up is None else float(up), int(bits),
                                             None if disc is None else int(disc)))
                g = self._group(k)
                if g is not None:
                    self._groups[g] = self._groups.get(g, 0) + 1
                n += 1
        return n

    def forget(self, key: Hashable) -> None:
        if self._last.pop(key, None) is not None:
            self._ungroup(key)

    # -- bounds against hostile input (docs/operations.md) ----------------------
    @staticmethod
    def _group(key: Hashable) -> Optional[Hashable]:
        return key[:-1] if isinstance(key, tuple) and len(key) > 1 else None

    def _ungroup(self, key: Hashable) -> None:
        g = self._group(key)
        if g is not None:
            n = self._groups.get(g, 0) - 1
            if n > 0:
                self._groups[g] = n
            else:
                self._groups.pop(g, None)

    def admits(self, key: Hashable, limit: int) -> bool:
        """May ``key`` be tracked? True when it already is, or its device (the key
        without its last part: source and AP) has fewer than ``limit`` baselines:
        a device inventing interface names cannot grow memory without end."""
        if key in self._last:
            return True
        g = self._group(key)
        if g is None or self._groups.get(g, 0) < limit:
            return True
        self._count("device_full")
        return False

    def evict_silent(self, before_t: float) -> int:
        """Forget baselines last read before ``before_t`` (series silent for days):
        their next reading, if any, is a new baseline. Returns how many went."""
        old = [k for k, st in self._last.items() if st.base.t < before_t]
        for k in old:
            self.forget(k)
        if old:
            self.stats["evicted"] = self.stats.get("evicted", 0) + len(old)
        return len(old)

    # -- the rules -------------------------------------------------------------
    def update(
        self,
        key: Hashable,
        rx: int,
        tx: int,
        t: float,
        *,
        bits: int = 64,
        uptime_s: Optional[float] = None,
        speed_bps: Optional[float] = None,
        discontinuity: Optional[int] = None,
        reset: bool = False,
    ) -> Optional[Interval]:
        """Feed one reading of an interface taken at ``t`` (epoch seconds).

        ``speed_bps`` is what the link can carry (see :func:`link_bps`; default
        ``default_bps``); ``discontinuity`` is the interface's
        ifCounterDiscontinuityTime where the device has it; ``reset`` says the
        device is known to have rebooted since the previous reading.
        """
        if bits not in (32, 64):
            raise ValueError("bits must be 32 or 64")
        if not (_valid(rx, bits) and _valid(tx, bits)):
            self._count("out_of_range")
            return None
        new = _Base(rx, tx, float(t), None if uptime_s is None else float(uptime_s), bits, discontinuity)
        st = self._last.get(key)
        if st is None:
            self._last[key] = _State(new)
            g = self._group(key)
            if g is not None:
                self._groups[g] = self._groups.get(g, 0) + 1
            self._count("first")
            return None
        base = st.base
        if new.t <= base.t:
            self._count("out_of_order")
            return None  # keep the newer baseline
        if bits != base.bits:
            parked = st.parked
            if parked is not None and parked.bits == bits:  # parked.t < base.t < new.t
                base = parked  # back to the width we counted before: continue from there
                self._count("width_resumed")
            else:
                self._last[key] = _State(new, parked=base)
                self._count("width_switch")
                return None
        if (discontinuity is not None and base.discontinuity is not None
                and discontinuity != base.discontinuity):
            self._last[key] = _State(new)
            self._count("discontinuity")
            return None
        interval = self._interval(base, new, reset, speed_bps or self.default_bps)
        if interval is None:
            self._last[key] = _State(new)  # a new baseline; nothing counted
            return None
        self._last[key] = _State(new)  # counted: any parked baseline is stale now
        self._count(interval.kind)
        return interval

    def _interval(self, prev: _Base, new: _Base, reset: bool, speed_bps: float) -> Optional[Interval]:
        dt = new.t - prev.t
        gap = dt > self.max_gap_s
        cap = speed_bps * SPEED_SLACK * dt / 8  # bytes the link can carry in the interval
        dropped = new.rx < prev.rx or new.tx < prev.tx
        booted = new.uptime_s is not None and (
            (prev.uptime_s is not None and new.uptime_s < prev.uptime_s) or new.uptime_s < dt)
        if reset or (dropped and booted):
            # a direction that dropped restarted at boot: its value is the bytes
            # since boot; one that did not drop may be a counter that went on (an
            # agent restart or an uptime glitch beside a wrap): its difference
            since = dt if new.uptime_s is None else min(dt, max(new.uptime_s, 1.0))
            boot_cap = speed_bps * SPEED_SLACK * since / 8
            counted = []
            for p, v in ((prev.rx, new.rx), (prev.tx, new.tx)):
                if reset or v < p:
                    if v > boot_cap:
                        self._count("implausible")
                        return None
                    counted.append(v)
                else:
                    counted.append(v - p)
            all_since_boot = reset or (new.rx < prev.rx and new.tx < prev.tx)
            return Interval(counted[0], counted[1], since if all_since_boot else dt, "reset", not gap)
        if gap and new.bits == 32 and cap >= 1 << 32:
            self._count("gap")  # the counter may have wrapped any number of times
            return None
        kinds = []
        counted = []
        for p, v in ((prev.rx, new.rx), (prev.tx, new.tx)):
            if v >= p:
                n, kind = v - p, "normal"
            else:
                wrapped = v + (1 << new.bits) - p
                if new.bits == 32 and wrapped <= cap:
                    n, kind = wrapped, "wrap"
                elif v <= cap:
                    n, kind = v, "reset"  # a counter reset without a reboot
                else:
                    self._count("implausible")
                    return None
            if n > MAX_PLAUSIBLE_BPS * dt / 8:
                self._count("implausible")
                return None
            counted.append(n)
            kinds.append(kind)
        kind = "gap" if gap else next((k for k in ("reset", "wrap") if k in kinds), "normal")
        return Interval(counted[0], counted[1], dt, kind, not gap)

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1


def _valid(v: object, bits: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << bits
