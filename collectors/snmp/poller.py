"""SNMP collector: polls APs and controllers, produces Samples.

API for the service runner::

    collector = SnmpCollector(config, on_samples=callback)
    samples = await collector.poll_once()            # one round, all devices
    samples = await collector.poll_once(["ap-1"])    # or only some ids
    results = await collector.poll_results(["ap-1"]) # PollResult per device (tests, CLI)
    await collector.run(stop_event)                  # every device on its own interval
    collector.stats                                  # Counter: polls, failures, bad answers
    collector.detected                               # {device id: profile name}
    collector.last_round                             # RoundSummary of the last round, or None
    await collector.close()

Each device poll is one coordinator (:meth:`SnmpCollector.poll_device`):
detect the profile once, GET the scalars, walk the tables, and turn every
library error into one outcome: up with Samples, or down with a reason
(``snmp_timeout``, ``snmp_auth``, ``snmp_error``). Only the scalar GET (and
the detection GET) decide that: a table walk that times out or fails after
a good GET is partial data (the device is up, that table's metrics are
missing and counted). Bad answers (noSuch*, endOfMibView, wrong types,
truncated tables) are counted in ``stats`` and logged rate-limited; the
rest of the device's data still arrives.

``run`` gives every device its own loop, started at a stable offset inside
the interval so a thousand APs do not fire together; a semaphore bounds
polls in flight (``collector.concurrency``), so one slow device only ever
holds its own slot.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Optional

from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType
from pysnmp.proto.rfc1902 import ObjectName

from collectors.counters import CounterTracker
from hotspot_monitor.config.models import Config
from hotspot_monitor.logutil import RateLimitedLog
from hotspot_monitor.sample import Sample

from .detect import by_signature, choose, detect_oids, signature_oids
from .inventory import Device, build_devices
from .profile import Profile, builtin_profiles
from .readings import DeviceData, Extractor, Reading
from .rounds import RoundSummary, RoundTally
from .samples import SampleBuilder
from .session import Engines, Session, SnmpFailure
from .values import convert

log = logging.getLogger("collectors.snmp")
RECHECK_EVERY = 10  # re-ask columns an agent lacked (e.g. hrProcessorLoad after snmpd start)
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # SNMPv2-MIB::sysUpTime.0: the liveness check after a walk timeout
WALK_TIMEOUTS_BEFORE_SKIP = 2  # in a row: the agent went quiet, do not wait out every table


@dataclass
class PollResult:
    device_id: str
    ok: bool
    reason: Optional[str] = None
    error: Optional[str] = None
    profile: Optional[str] = None
    response_ms: Optional[float] = None
    duration_s: float = 0.0
    reading: Optional[Reading] = None
    samples: list[Sample] = field(default_factory=list)
    failed_at: Optional[datetime] = None  # down: the agent stopped answering mid-poll, from then


def _oid_obj(oid: str) -> ObjectType:
    return ObjectType(ObjectIdentity(ObjectName(oid)))


class _Plan:
    """A profile's requests, built once (OID objects are costly to build)."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.extractor = Extractor(profile)
        self.scalar_names = list(profile.scalars)
        self.scalar_oids = [_oid_obj(profile.scalars[n].oid) for n in self.scalar_names]
        self.tables = [(t, [c.oid for c in tb.columns.values()], tb.max_rows)
                       for t, tb in profile.tables.items()]
        # column oid -> the column oid it stands in for (fetched only while that one is empty)
        self.fallback = {c.oid: tb.columns[c.fallback_for].oid
                         for tb in profile.tables.values() for c in tb.columns.values()
                         if c.fallback_for}
        # columns read with the full re-check only (values reused in between)
        self.slow = {t: [c.oid for c in tb.columns.values() if c.slow] for t, tb in profile.tables.items()}


def _pct_safe(text: str) -> str:
    """The label goes into a log template (one rate limit per device): a '%'
    in it (an IPv6 zone id such as fe80::1%eth0) must not read as a directive."""
    return text.replace("%", "%%")


class SnmpCollector:
    def __init__(self, config: Config, *, on_samples: Optional[Callable[[list[Sample]], None]] = None,
                 profiles: Optional[dict[str, Profile]] = None):
        self.config = config
        self.on_samples = on_samples
        self.profiles = profiles or builtin_profiles()
        unknown = {d.profile for d in [*config.aps, *config.controllers]
                   if d.profile != "auto" and d.profile not in self.profiles}
        if unknown:
            raise ValueError(f"unknown SNMP profile(s) {sorted(unknown)}; "
                             f"known: {sorted(self.profiles)}")
        self.stats: Counter[str] = Counter()
        self.detected: dict[str, str] = {}
        self.counters = CounterTracker(max_gap_s=config.collector.max_gap_s,
                                       default_bps=config.collector.default_link_mbps * 1e6)
        self.devices = build_devices(config)
        self._builder = SampleBuilder(config, self.counters, self.profiles, self.stats)
        self._engines = Engines()
        self._sessions: dict[str, Session] = {}
        self._plans: dict[str, _Plan] = {}
        self._detect_oids = [_oid_obj(o) for o in detect_oids(self.profiles)]
        self._signature_oids = signature_oids(self.profiles)
        self._liveness_oid = [_oid_obj(SYS_UPTIME)]
        self.last_round: Optional[RoundSummary] = None
        self._window: Optional[RoundTally] = None  # the round `run` is counting
        self._sem: Optional[asyncio.Semaphore] = None
        self._rlog = RateLimitedLog(log, 60.0)
        # (device, table) -> (rows last time, columns that were empty, polls)
        self._hints: dict[tuple[str, str], tuple[int, set, int]] = {}
        # (device, table) -> {slow column oid: {index: Raw}} from the last full poll
        self._slow: dict[tuple[str, str], dict[str, dict]] = {}

    # ---- inventory -------------------------------------------------------
    def resolve_ids(self, ids: Iterable[str]) -> tuple[list[str], dict[str, str]]:
        """Device ids to poll for ``ids``; an AP reported by a controller maps to it.

        Returns (device ids, {requested AP id: controller id}) for filtering.
        """
        out: list[str] = []
        via: dict[str, str] = {}
        aps = {a.id: a for a in self.config.aps}
        for i in ids:
            if i in self.devices:
                out.append(i)
            elif i in aps and aps[i].controller and aps[i].controller in self.devices:
                via[i] = aps[i].controller
                out.append(aps[i].controller)
            else:
                raise KeyError(f"no SNMP-polled AP or controller with id {i!r}")
        return list(dict.fromkeys(out)), via

    # ---- polling ---------------------------------------------------------
    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.config.collector.concurrency)
        return self._sem

    async def _session(self, dev: Device) -> Session:
        s = self._sessions.get(dev.id)
        if s is None:
            s = await Session.create(self._engines, dev.label, dev.model.host or "", dev.model.port,
                                     self.config.credentials(dev.model), dev.timeout_s, dev.retries)
            self._sessions[dev.id] = s
        return s

    def _plan(self, name: str) -> _Plan:
        if name not in self._plans:
            self._plans[name] = _Plan(self.profiles[name])
        return self._plans[name]

    def _bad(self, dev: Device, what: str, reason: str) -> None:
        """Count a bad answer by reason; log at most once a minute per device."""
        self.stats[f"bad.{reason}"] += 1
        self._rlog.warning(f"snmp {_pct_safe(dev.label)}: bad answer %s: %s", what, reason)

    async def poll_device(self, device_id: str) -> PollResult:
        """One coordinated poll of one device; never raises for SNMP trouble."""
        dev = self.devices[device_id]
        async with self._semaphore():
            t0 = time.monotonic()
            when = datetime.now(timezone.utc)
            res = PollResult(dev.id, ok=False)
            try:
                await self._collect(dev, res)
                res.ok = True
                self.stats["polls_ok"] += 1
            except SnmpFailure as e:
                res.reason, res.error = e.reason, str(e)
                self.stats[e.reason] += 1
                self._rlog.warning(f"snmp {_pct_safe(dev.label)} down: %s", e.reason)
            except (OSError, asyncio.TimeoutError, PySnmpError) as e:  # DNS, socket, transport
                res.reason, res.error = "snmp_error", f"{dev.label}: {type(e).__name__}: {e}"
                self.stats["snmp_error"] += 1
                self._rlog.warning(f"snmp {_pct_safe(dev.label)} down: %s", type(e).__name__)
            except Exception as e:  # a bug or a pysnmp surprise: one device, not the collector
                res.reason, res.error = "snmp_error", f"{dev.label}: {type(e).__name__}"
                self.stats["snmp_error"] += 1
                self.stats["internal_error"] += 1
                log.exception("snmp %s: unexpected error while polling", dev.label)
            self.stats["polls"] += 1
            res.duration_s = time.monotonic() - t0
            # a device that stopped answering mid-poll was last seen failing then
            res.samples = self._builder.build(dev, res, res.failed_at if not res.ok and res.failed_at
                                              else when)
            return res

    async def _collect(self, dev: Device, res: PollResult) -> None:
        sess = await self._session(dev)
        name = dev.model.profile
        if name == "auto":
            name = self.detected.get(dev.id) or await self._detect(dev, sess)
        res.profile = name
        plan = self._plan(name)
        data = DeviceData()
        t0 = time.monotonic()
        got = await sess.get(plan.scalar_oids) if plan.scalar_oids else {}
        res.response_ms = (time.monotonic() - t0) * 1000.0
        for n, o in zip(plan.scalar_names, plan.scalar_oids):
            raw = got.get(str(o[0]))
            col = plan.profile.scalars[n]
            v, why = convert(raw, col.type, col.scale) if raw is not None else (None, "no_such_object")
            if v is not None:
                data.scalars[n] = v
            elif why in ("no_such_object", "no_such_instance", "end_of_mib_view"):
                self.stats[f"missing.{why}"] += 1  # optional MIBs: counted, not logged
            else:
                self._bad(dev, n, why or "bad_type")
        ctrl = plan.profile.controller
        ap_table = ctrl.aps.table if ctrl is not None and ctrl.aps is not None else None
        timeouts = 0  # walks in a row that timed out
        for tname, cols, max_rows in plan.tables:
            if timeouts >= WALK_TIMEOUTS_BEFORE_SKIP:
                self.stats["bad.table_skipped"] += 1
                data.incomplete.add(tname)
                continue
            hint = self._hints.get((dev.id, tname))
            # a controller's AP table is always asked in full: an empty answer
            # (controller just rebooted) must not hide its APs for ten polls
            full = hint is None or hint[2] % RECHECK_EVERY == 0 or tname == ap_table
            slow = plan.slow[tname]
            ask = cols if full else [
                c for c in cols if c not in hint[1] and c not in slow
                and not (c in plan.fallback and plan.fallback[c] not in hint[1])]
            if not ask:
                self._hints[(dev.id, tname)] = (0, hint[1], hint[2] + 1)
                if self._slow.get((dev.id, tname)):
                    data.tables[tname] = self._rows(dev, plan.profile, tname, self._slow[(dev.id, tname)])
                continue
            walk_started = datetime.now(timezone.utc)
            try:
                rows, truncated = await sess.walk_columns(
                    ask, max_rows, first_reps=(hint[0] + 1) if hint else 10)
            except SnmpFailure as e:
                if e.reason == "snmp_timeout" and not await self._alive(sess):
                    # the agent went away during this poll: down from this walk on
                    res.failed_at = walk_started
                    raise
                # the device answers: it is up, only this table's metrics are missing
                self._bad(dev, tname, "table_" + e.reason.removeprefix("snmp_"))
                data.incomplete.add(tname)
                timeouts = timeouts + 1 if e.reason == "snmp_timeout" else 0
                continue
            timeouts = 0
            if truncated:
                self._bad(dev, tname, "table_truncated")
                data.incomplete.add(tname)
            # remember the size and the columns this agent does not have
            empty = {c for c in ask if not rows.get(c)} | \
                (set() if full else {c for c in hint[1] if c not in ask})
            n_rows = max((len(v) for v in rows.values()), default=0)
            self._hints[(dev.id, tname)] = (n_rows, empty, (hint[2] if hint else 0) + 1)
            if slow and full:
                self._slow[(dev.id, tname)] = {c: rows[c] for c in slow if rows.get(c)}
            elif slow:
                rows = {**rows, **self._slow.get((dev.id, tname), {})}
            data.tables[tname] = self._rows(dev, plan.profile, tname, rows)
        res.reading = plan.extractor.read(data)

    async def _alive(self, sess: Session) -> bool:
        """After a walk timed out: does the agent still answer a one-OID GET?

        Tells a slow or broken table (partial data, the AP is up) from an
        agent that stopped answering mid-poll (down, at once)."""
        try:
            await sess.get(self._liveness_oid)
            return True
        except SnmpFailure:
            return False

    async def _detect(self, dev: Device, sess: Session) -> str:
        """First contact with a ``profile: auto`` device: one GET, maybe one GETNEXT.

        A timeout of the GET is the device being down (raised). The
        signature GETNEXT only follows when the GET named no family; if it
        fails, the device is polled as ``generic`` this time and detected
        again next time.
        """
        got = await sess.get(self._detect_oids)
        prof = choose(self.profiles, got)
        if prof.name == "generic" and self._signature_oids:
            try:
                found = await sess.get_next(self._signature_oids)
            except SnmpFailure as e:
                self._bad(dev, "detect.signature", "detect_" + e.reason.removeprefix("snmp_"))
                return prof.name
            prof = by_signature(self.profiles, found) or prof
            if prof.name != "generic":
                self.stats["detections_by_signature"] += 1
        self.detected[dev.id] = prof.name
        self.stats["detections"] += 1
        return prof.name

    def _rows(self, dev: Device, p: Profile, tname: str, walked: dict) -> dict:
        table: dict[tuple, dict[str, object]] = {}
        for cname, col in p.tables[tname].columns.items():
            for idx, raw in walked.get(col.oid, {}).items():
                v, why = convert(raw, col.type, col.scale)
                if v is None:
                    self._bad(dev, f"{tname}.{cname}", why or "bad_type")
                    continue
                table.setdefault(idx, {})[cname] = v
        return table

    async def poll_results(self, device_ids: Optional[Iterable[str]] = None) -> list[PollResult]:
        """One round over ``device_ids`` (default all); it becomes ``last_round``."""
        ids = list(self.devices) if device_ids is None else list(device_ids)
        tally = RoundTally()
        results = list(await asyncio.gather(*(self.poll_device(i) for i in ids)))
        for r in results:
            tally.add(r.ok, r.reason)
        self.last_round = tally.summary()
        return results

    async def poll_once(self, device_ids: Optional[Iterable[str]] = None) -> list[Sample]:
        """One round over ``device_ids`` (default all); hands Samples to ``on_samples`` too."""
        out: list[Sample] = []
        for r in await self.poll_results(device_ids):
            out.extend(r.samples)
        if self.on_samples and out:
            self.on_samples(out)
        return out

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every device on its own interval until ``stop`` is set."""
        self._window = RoundTally()
        tasks = [asyncio.create_task(self._loop(d, stop), name=f"snmp:{d.id}")
                 for d in self.devices.values()]
        tasks.append(asyncio.create_task(self._rounds(stop), name="snmp:rounds"))
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._window = None

    async def _rounds(self, stop: asyncio.Event) -> None:
        """Close a round every ``collector.interval_s``: it becomes ``last_round``."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.config.collector.interval_s)
                return
            except asyncio.TimeoutError:
                pass
            done, self._window = self._window, RoundTally()
            if done is not None:
                self.last_round = done.summary()

    async def _loop(self, dev: Device, stop: asyncio.Event) -> None:
        # stable offset in [0, interval): spreads the fleet over the interval
        offset = (int(hashlib.sha1(dev.id.encode()).hexdigest()[:8], 16) % 10_000) / 10_000
        next_t = time.monotonic() + offset * dev.interval_s
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, next_t - time.monotonic()))
                return
            except asyncio.TimeoutError:
                pass
            next_t += dev.interval_s
            res = await self.poll_device(dev.id)
            if self._window is not None:
                self._window.add(res.ok, res.reason)
            if self.on_samples and res.samples:
                try:
                    self.on_samples(res.samples)
                except Exception:
                    log.exception("snmp: on_samples callback failed")
            if next_t < time.monotonic():  # overran: skip missed slots, never burst
                self.stats["overruns"] += 1
                next_t = time.monotonic() + dev.interval_s

    async def close(self) -> None:
        self._engines.close()
        self._sessions.clear()
