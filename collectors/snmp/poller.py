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
detect the profile (first contact, daily, after a reboot), GET the scalars,
walk the tables the scalars did not make unnecessary, and turn every
library error into one outcome: up with Samples, or down with a reason
(``snmp_timeout``, ``snmp_auth``, ``snmp_error``). Only the scalar GET (and
the detection GET) decide that: a table walk that times out or fails after
a good GET is partial data (the device is up, that table's metrics are
missing and counted). Bad answers (noSuch*, endOfMibView, wrong types,
truncated tables) are counted in ``stats`` and logged rate-limited; the
rest of the device's data still arrives.

The SNMP library is behind ``transport.py`` (``collector.engine``: gufo or
pysnmp). ``run`` hands the fleet to one :class:`~.scheduler.Scheduler`:
every device at a stable slot inside its interval, at most
``collector.concurrency`` polls in flight, so one slow device only ever
holds its own slot.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Optional

from collectors.counters import CounterTracker
from hotspot_monitor.config.models import Config
from hotspot_monitor.logutil import RateLimitedLog
from hotspot_monitor.sample import Sample

from .detect import by_signature, choose, detect_oids, signature_oids
from .inventory import Device, build_devices
from .plan import Plan
from .profile import Profile, builtin_profiles
from .readings import DeviceData, Reading
from .rounds import RoundSummary, RoundTally
from .samples import SampleBuilder
from .scheduler import Scheduler
from .transport import Session, SnmpFailure, Target, open_engine, wire_kinds
from .values import convert

log = logging.getLogger("collectors.snmp")
RECHECK_EVERY = 10  # re-ask columns an agent lacked (e.g. hrProcessorLoad after snmpd start)
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # SNMPv2-MIB::sysUpTime.0: the liveness check after a walk timeout
WALK_TIMEOUTS_BEFORE_SKIP = 2  # in a row: the agent went quiet, do not wait out every table
REDETECT_AFTER_S = 86400.0  # profile: auto devices are detected again daily (and after a reboot)


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


def _pct_safe(text: str) -> str:
    """The label goes into a log template (one rate limit per device): a '%'
    in it (an IPv6 zone id such as fe80::1%eth0) must not read as a directive."""
    return text.replace("%", "%%")


@dataclass
class TableHint:
    """What the last walk of one device's table taught (sizes the next walk)."""

    rows: int  # rows seen
    empty: set[str]  # columns the agent did not have
    polls: int  # walks so far: every RECHECK_EVERY-th asks every column


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
        self.engine = open_engine(config.collector.engine, wire_kinds(self.profiles))
        self._targets: dict[str, Target] = {}
        self._plans: dict[str, Plan] = {}
        self._detect_oids = detect_oids(self.profiles)
        self._signature_oids = signature_oids(self.profiles)
        self.last_round: Optional[RoundSummary] = None
        self._window: Optional[RoundTally] = None  # the round `run` is counting
        self._sem: Optional[asyncio.Semaphore] = None
        self._rlog = RateLimitedLog(log, 60.0)
        self._hints: dict[tuple[str, str], TableHint] = {}  # (device, table)
        # (device, table) -> {slow column oid: {index: Raw}} from the last full poll
        self._slow: dict[tuple[str, str], dict[str, dict]] = {}
        # profile: auto devices: when detection is due again (monotonic), last uptime seen
        self._redetect_at: dict[str, float] = {}
        self._uptime: dict[str, int] = {}

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

    def _target(self, dev: Device) -> Target:
        t = self._targets.get(dev.id)
        if t is None:
            t = self._targets[dev.id] = Target(dev.id, dev.label, dev.model.host or "", dev.model.port,
                                               self.config.credentials(dev.model), dev.timeout_s,
                                               dev.retries)
        return t

    def _plan(self, name: str) -> Plan:
        if name not in self._plans:
            self._plans[name] = Plan(self.profiles[name])
        return self._plans[name]

    def _bad(self, dev: Device, what: str, reason: str) -> None:
        """Count a bad answer by reason; log at most once a minute per device."""
        self.stats[f"bad.{reason}"] += 1
        self._rlog.warning(f"snmp {_pct_safe(dev.label)}: bad answer %s: %s", what, reason)

    async def poll_device(self, device_id: str) -> PollResult:
        """One coordinated poll of one device; never raises for SNMP trouble."""
        async with self._semaphore():
            return await self._poll(device_id)

    async def _poll(self, device_id: str) -> PollResult:
        dev = self.devices[device_id]
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
        except (OSError, asyncio.TimeoutError) as e:  # DNS, socket
            res.reason, res.error = "snmp_error", f"{dev.label}: {type(e).__name__}: {e}"
            self.stats["snmp_error"] += 1
            self._rlog.warning(f"snmp {_pct_safe(dev.label)} down: %s", type(e).__name__)
        except Exception as e:  # a bug or a library surprise: one device, not the collector
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
        sess = await self.engine.session(self._target(dev))
        name = dev.model.profile
        if name == "auto":
            name = self.detected.get(dev.id)
            if name is None or time.monotonic() >= self._redetect_at.get(dev.id, 0.0):
                name = await self._detect(dev, sess)
        res.profile = name
        plan = self._plan(name)
        data = DeviceData()
        t0 = time.monotonic()
        got = await sess.get(plan.scalar_oids) if plan.scalar_oids else {}
        res.response_ms = (time.monotonic() - t0) * 1000.0
        for n, o in zip(plan.scalar_names, plan.scalar_oids):
            raw = got.get(o)
            col = plan.profile.scalars[n]
            v, why = convert(raw, col.type, col.scale) if raw is not None else (None, "absent")
            if v is not None:
                data.scalars[n] = v
            elif why in ("absent", "end_of_mib_view", "null"):
                self.stats[f"missing.{why}"] += 1  # optional MIBs: counted, not logged
            else:
                self._bad(dev, n, why or "bad_type")
        await self._walk_tables(dev, sess, plan, data, res)
        res.reading = plan.extractor.read(data)
        self._watch_reboot(dev, res.reading)

    async def _walk_tables(self, dev: Device, sess: Session, plan: Plan, data: DeviceData,
                           res: PollResult) -> None:
        ctrl = plan.profile.controller
        ap_table = ctrl.aps.table if ctrl is not None and ctrl.aps is not None else None
        timeouts = 0  # walks in a row that timed out
        # every table of one poll shares one time budget (collector.max_walk_s):
        # an endless or very slow table never holds the device's slot for longer
        deadline = time.monotonic() + self.config.collector.max_walk_s
        for tp in plan.tables:
            tname, cols = tp.name, tp.columns
            if not plan.needed(tname, data):
                continue  # an earlier alternative answered from the scalars (UCD memory)
            if timeouts >= WALK_TIMEOUTS_BEFORE_SKIP or time.monotonic() >= deadline:
                self.stats["bad.table_skipped"] += 1
                data.incomplete.add(tname)
                continue
            key = (dev.id, tname)
            hint = self._hints.get(key)
            # a controller's AP table is always asked in full: an empty answer
            # (controller just rebooted) must not hide its APs for ten polls
            full = hint is None or hint.polls % RECHECK_EVERY == 0 or tname == ap_table
            ask = cols if full else [
                c for c in cols if c not in hint.empty and c not in tp.slow
                and not (c in plan.fallback and plan.fallback[c] not in hint.empty)]
            if not ask:
                hint.polls += 1
                hint.rows = 0
                if self._slow.get(key):
                    data.tables[tname] = self._rows(dev, plan.profile, tname, self._slow[key])
                continue
            walk_started = datetime.now(timezone.utc)
            try:
                walk = await sess.walk_columns(
                    ask, tp.max_rows, first_reps=(hint.rows + 1) if hint else 10, deadline=deadline)
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
            rows, truncated = walk.columns, walk.truncated
            if walk.overtime:
                self._bad(dev, tname, "walk_time_exceeded")
                data.incomplete.add(tname)
            elif truncated:
                self._bad(dev, tname, "table_truncated")
                data.incomplete.add(tname)
            # remember the size and the columns this agent does not have
            empty = {c for c in ask if not rows.get(c)} | \
                (set() if full else {c for c in hint.empty if c not in ask})
            n_rows = max((len(v) for v in rows.values()), default=0)
            self._hints[key] = TableHint(n_rows, empty, (hint.polls if hint else 0) + 1)
            if tp.slow and full:
                self._slow[key] = {c: rows[c] for c in tp.slow if rows.get(c)}
            elif tp.slow:
                rows = {**rows, **self._slow.get(key, {})}
            data.tables[tname] = self._rows(dev, plan.profile, tname, rows)

    def _watch_reboot(self, dev: Device, reading: Reading) -> None:
        """profile: auto: detect again after a reboot (new firmware may be another family)."""
        if dev.model.profile != "auto" or reading.uptime_s is None:
            return
        before = self._uptime.get(dev.id)
        self._uptime[dev.id] = reading.uptime_s
        if before is not None and reading.uptime_s < before:
            self._redetect_at[dev.id] = 0.0  # at the next poll

    async def _alive(self, sess: Session) -> bool:
        """After a walk timed out: does the agent still answer a one-OID GET?

        Tells a slow or broken table (partial data, the AP is up) from an
        agent that stopped answering mid-poll (down, at once)."""
        try:
            await sess.get([SYS_UPTIME])
            return True
        except SnmpFailure:
            return False

    async def _detect(self, dev: Device, sess: Session) -> str:
        """First contact with a ``profile: auto`` device (and daily, and after a reboot):
        one GET, maybe GETNEXTs of the vendor signatures.

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
                self._redetect_at[dev.id] = 0.0
                return prof.name
            prof = by_signature(self.profiles, found) or prof
            if prof.name != "generic":
                self.stats["detections_by_signature"] += 1
        old = self.detected.get(dev.id)
        if old is not None and old != prof.name:
            log.info("snmp %s: profile %s -> %s (detected again)", dev.label, old, prof.name)
            self._forget_tables(dev.id)
        self.detected[dev.id] = prof.name
        self._redetect_at[dev.id] = time.monotonic() + REDETECT_AFTER_S
        self.stats["detections"] += 1
        return prof.name

    def _forget_tables(self, device_id: str) -> None:
        for key in [k for k in self._hints if k[0] == device_id]:
            del self._hints[key]
        for key in [k for k in self._slow if k[0] == device_id]:
            del self._slow[key]

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
            tally.add(r.ok, r.reason, r.duration_s)
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
        """Poll every device on its own interval until ``stop`` is set (see ``scheduler.py``)."""
        self._window = RoundTally()
        sched = Scheduler({d.id: d.interval_s for d in self.devices.values()},
                          self.config.collector.concurrency, self._scheduled,
                          on_overrun=lambda _id: self.stats.update(("overruns",)))
        rounds = asyncio.create_task(self._rounds(stop), name="snmp:rounds")
        try:
            await sched.run(stop)
        finally:
            await Scheduler.cancel([rounds])
            self._window = None

    async def _scheduled(self, device_id: str, late_s: float) -> None:
        res = await self._poll(device_id)  # the scheduler bounds polls in flight
        if self._window is not None:
            self._window.add(res.ok, res.reason, res.duration_s, late_s)
        if self.on_samples and res.samples:
            try:
                self.on_samples(res.samples)
            except Exception:
                log.exception("snmp: on_samples callback failed")

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

    async def close(self) -> None:
        self.engine.close()
