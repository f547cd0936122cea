"""History backfill: what the collector would have stored, computed from the model.

Samples every ``step_s`` (default 300 s: 5-minute resolution keeps a month
fast) for each AP: ``ap_status`` (up=0 with reason ``snmp_timeout`` while a
planned event keeps the AP silent), ``ap_clients`` per radio and ``all``,
``ap_traffic`` per interface as the SNMP profiles select them (all but
loopback and bridges; interval bytes and bits/s via
:class:`collectors.counters.CounterTracker`, exactly as a poller turns raw
counters into intervals, wraps and reboots included), ``ap_system``, and an
``ap_event`` down/up pair for every planned outage and power cut. Values are
the ones the live agents answer at the same instants (same model and seed).
All of it is simulated data.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Iterator

from collectors.counters import CounterTracker, link_bps

from ..sample import Sample
from ..stores.base import MetricStore
from .fleet import Simulator
from .mib import IFACES, TEMP_VENDORS
from .model import u01

BATCH = 5000


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


def backfill_samples(sim: Simulator, start: float, end: float, step_s: float = 300.0) -> Iterator[Sample]:
    """Samples of every AP for [start, end), in time order per AP."""
    tracker = CounterTracker(max_gap_s=max(900.0, 3 * step_s))
    t0 = start - (start % step_s)
    backhaul = {s.id: s.backhaul_mbps for s in sim.config.sites}
    for ap in sim.config.aps:
        spec = sim.model.aps[ap.id]
        tags = {"site": ap.site, "ap": ap.id}
        speed = link_bps(None, backhaul.get(ap.site))
        ifaces = [name for _, name, _, role, _ in IFACES[spec.vendor] if role not in ("lo", "bridge")]
        for ev in sim.plan.ap_events(ap.id, start, end):
            if ev.kind in ("outage", "power_cut") and ev.source == "plan":
                if start <= ev.start < end:
                    yield Sample("ap_event", tags, {"state": "down", "reason": "snmp_timeout"}, _dt(ev.start))
                if start <= ev.end < end:
                    yield Sample("ap_event", tags, {"state": "up", "reason": "",
                                                    "down_s": int(ev.end - ev.start)}, _dt(ev.end))
        n = 0
        t = t0
        while t < end:
            if t < start:
                t += step_s
                continue
            when = _dt(t)
            reason = sim.plan.down_reason(ap.id, t)
            if reason is not None:
                yield Sample("ap_status", {**tags, "source": "snmp"},
                             {"up": 0, "reason": "snmp_timeout"}, when)
                t += step_s
                continue
            st = sim.state(ap.id, t)
            resp = round(2.0 + 6.0 * u01(spec.key, n, 31), 2)
            n += 1
            yield Sample("ap_status", {**tags, "source": "snmp"},
                         {"up": 1, "response_ms": resp, "uptime_s": st.uptime_s}, when)
            for radio, c in (("2.4GHz", st.clients_24), ("5GHz", st.clients_5),
                             ("all", st.clients_24 + st.clients_5)):
                yield Sample("ap_clients", {**tags, "radio": radio}, {"clients": c}, when)
            for iface in ifaces:
                rx, tx = st.counters[iface]
                iv = tracker.update((ap.id, iface), rx, tx, t, bits=st.bits, uptime_s=st.uptime_s,
                                    speed_bps=speed)
                if iv is not None:
                    yield Sample("ap_traffic", {**tags, "iface": iface}, iv.fields(), when)
            system = {"cpu_pct": st.cpu_pct, "mem_pct": st.mem_pct}
            if spec.vendor in TEMP_VENDORS:
                system["temp_c"] = st.temp_c
            yield Sample("ap_system", tags, system, when)
            t += step_s


def backfill(sim: Simulator, store: MetricStore, start: float, end: float,
             step_s: float = 300.0) -> dict[str, float]:
    """Write the history to ``store``; returns counts and the time it took."""
    t_begin = time.monotonic()
    batch: list[Sample] = []
    counts: dict[str, float] = {}
    for s in backfill_samples(sim, start, end, step_s):
        counts[s.measurement] = counts.get(s.measurement, 0) + 1
        batch.append(s)
        if len(batch) >= BATCH:
            store.write(batch)
            batch = []
    if batch:
        store.write(batch)
    store.flush()
    store.refresh_rollups()  # history is read at once (dashboard, reports): roll it up now
    counts["seconds"] = round(time.monotonic() - t_begin, 2)
    return counts
