"""The long-running service behind ``hotspot-monitor run``.

Wiring only: collectors produce Samples, every Sample goes through one queue
to :meth:`Service._ingest`, which feeds ``ap_status`` Samples to the status
engine and hands everything (plus the engine's ``ap_event`` Samples) to the
:class:`SampleWriter`. The SNMP poller runs on the asyncio loop; the MQTT
collector runs its own thread and enqueues thread-safely. The status
engine's work (state store SQL) runs in one worker thread of its own, never
on the loop: at 10,000 APs a slow commit must not delay SNMP polls, and one
thread keeps the engine's calls in order. A housekeeping task
marks silent MQTT APs stale, saves state and writes ``runtime.json`` (read by
``hotspot-monitor status``).

Sharded (``--shard i/n``, docs/scaling.md): the collectors and the engine see
only this shard's APs (``cluster.ownership.shard_config``); every pass the
shard writes its heartbeat and keeps or tries the leader lock; the leader
watches the other shards' heartbeats and is the only one to evaluate alerts
and send monthly reports.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .cluster.heartbeats import Heartbeats
from .cluster.leader import LeaderLock, ShardBusy
from .cluster.ownership import ShardId, shard_config, this_host
from .cluster.schema import create_service_tables, schema_lock
from .cluster.watch import ShardWatch
from .config.models import Config
from .fileperm import private_dir, write_private_text
from .sample import Sample
from .status.engine import StatusEngine
from .status.migrations import SchemaTooNew
from .status.statestore import StateStore, resolve_url
from .stores.base import MetricStore, StoreError
from .stores.factory import open_store
from .writer import SampleWriter

log = logging.getLogger("hotspot_monitor.service")
CONTACT_PURGE_EVERY = timedelta(minutes=5)


class StartupError(Exception):
    """The service cannot start (store unreachable, state store broken...)."""


@dataclass
class ServicePaths:
    base_dir: Path

    def state_dir(self, cfg: Config) -> Path:
        """``state.dir``; one subdirectory per shard when sharded, so shards that share
        a machine (and a config file) keep their own spool, baselines and runtime file."""
        d = Path(cfg.state.dir)
        d = d if d.is_absolute() else self.base_dir / d
        shard = ShardId.parse(cfg.collector.shard)
        return d / f"shard-{shard.index}-of-{shard.count}" if shard.sharded else d

    def runtime_file(self, cfg: Config) -> Path:
        return self.state_dir(cfg) / "runtime.json"


@dataclass
class Service:
    cfg: Config
    base_dir: Path = field(default_factory=Path.cwd)
    housekeeping_s: float = 5.0
    durable_timeout_s: float = 30.0
    store: Optional[MetricStore] = None
    states: Optional[StateStore] = None
    engine: Optional[StatusEngine] = None
    writer: Optional[SampleWriter] = None
    snmp: Any = None
    mqtt: Any = None
    alerting: Any = None
    started_at: Optional[datetime] = None
    web: Any = None  # the dashboard's server when web.enabled (dashboard.server.WebServer)
    retention: Optional[dict[str, Any]] = None  # the last retention pass, for runtime.json
    _queue: Optional[asyncio.Queue] = None
    _state_thread: Optional[ThreadPoolExecutor] = None  # every status engine call runs here
    _desk: Any = None  # citizens' report desk (contacts purged by housekeeping)
    _next_contact_purge: datetime = datetime.min.replace(tzinfo=timezone.utc)
    shard: ShardId = field(default_factory=lambda: ShardId(0, 1))
    lock: Optional[LeaderLock] = None
    heartbeats: Optional[Heartbeats] = None
    watch: Optional[ShardWatch] = None
    _health: Any = None  # a shard's own HealthTracker, for its heartbeat

    def __post_init__(self) -> None:
        self.shard = ShardId.parse(self.cfg.collector.shard)
        if self.shard.sharded:  # the heartbeat is written by the housekeeping pass
            self.housekeeping_s = self.cfg.collector.shard_heartbeat_s

    @classmethod
    def for_shard(cls, cfg: Config, shard: Optional[str], **kw: Any) -> "Service":
        """The service for ``--shard i/n`` (overrides ``collector.shard``)."""
        if shard is not None:
            ShardId.parse(shard)  # ValueError on nonsense
            cfg = cfg.model_copy(update={"collector": cfg.collector.model_copy(update={"shard": shard})})
        return cls(cfg, **kw)

    @property
    def leader(self) -> bool:
        """Whether this process does the once-only work now (always, when alone on SQLite)."""
        return self.lock.leader if self.lock is not None else not self.shard.sharded

    # -- start-up ----------------------------------------------------------
    def open(self) -> None:
        """Open and check the stores; raise StartupError with a clear message."""
        self._check_sharding()
        paths = ServicePaths(self.base_dir)
        state_dir = paths.state_dir(self.cfg)
        try:
            private_dir(state_dir)
        except OSError as e:
            raise StartupError(f"cannot create state directory {state_dir}: {e.strerror}") from None
        try:
            self.store = open_store(self.cfg.store, self.base_dir)
            self._setup_influx_retention()
            if self.shard.sharded and hasattr(self.store, "set_writer_lane"):
                self.store.set_writer_lane(self.shard.index, self.shard.count)  # :last slots
            self.store.ping()
        except StoreError as e:
            raise StartupError(f"metric store unreachable: {e}") from None
        try:
            with schema_lock(resolve_url(self.cfg.state.url, self.base_dir)):  # shards start together
                self._open_state()
                if self.cfg.web.enabled:
                    self._open_web()
        except SQLAlchemyError as e:  # the schema lock's connection; the URL may hold a password
            raise StartupError(f"state store unusable: {type(e).__name__}") from None
        self._open_cluster()
        self.engine = StatusEngine(shard_config(self.cfg, self.shard), self.states)
        self.writer = SampleWriter(self.store, spool_dir=state_dir / "spool",
                                   batch_size=self.cfg.store.influxdb.batch_size,
                                   max_buffer=self.cfg.spool.max_buffer_samples,
                                   max_spool_bytes=int(self.cfg.spool.max_mb * 1e6))

    def _open_state(self) -> None:
        try:
            self.states = StateStore.from_config(self.cfg, self.base_dir)
            create_service_tables(self.states.engine)
        except SchemaTooNew as e:  # the message holds no URL
            raise StartupError(f"state store unusable: {e}") from None
        except Exception as e:  # SQLAlchemy raises many kinds; the URL may hold a password
            raise StartupError(f"state store unusable: {type(e).__name__}") from None

    def _check_sharding(self) -> None:
        """Shards share one state store and one metric store, reachable from every
        machine: PostgreSQL and InfluxDB. SQLite files are for one process."""
        if not self.shard.sharded:
            return
        if make_url(self.cfg.state.url).get_backend_name() != "postgresql":
            raise StartupError(f"--shard {self.shard} needs a PostgreSQL state store "
                               f"(state.url: postgresql+psycopg://...); SQLite is for one process")
        if self.cfg.store.kind != "influxdb":
            raise StartupError(f"--shard {self.shard} needs the InfluxDB metric store (store.kind: "
                               f"influxdb); SQLite is for one process")

    def _open_cluster(self) -> None:
        """This shard's lock (a second process for the same shard must not start) and
        the heartbeat table."""
        assert self.states is not None
        try:
            self.lock = LeaderLock(self.states.engine, self.shard)
            self.lock.claim_shard()
            self.heartbeats = Heartbeats(self.states.engine)
        except ShardBusy as e:
            raise StartupError(str(e)) from None
        except Exception as e:  # the URL may hold a password: the type only
            raise StartupError(f"state store unusable for the shard lock: {type(e).__name__}") from None

    def _setup_influx_retention(self) -> None:
        """``manage_retention``: the raw and rollup RPs exist with the configured durations
        before the first write (docs/retention.md)."""
        influx = self.cfg.store.influxdb
        if self.cfg.store.kind != "influxdb" or not influx.manage_retention:
            return
        from .stores.influx_setup import setup_retention

        for action in setup_retention(self.store, self.cfg.store.retention):
            log.info("InfluxDB %s: %s", influx.database, action)

    def _prunes(self) -> bool:
        """SQLite: prune; InfluxDB (its RPs expire data): keep the month-edge points."""
        r = self.cfg.store.retention
        return r.raw_days is not None or r.rollup_days is not None

    async def _retention(self, stop: asyncio.Event) -> None:
        """Retention as a job: a pass now, then every ``prune_interval_s``, off the loop."""
        from .retention import prune_once

        every = self.cfg.store.retention.prune_interval_s
        while not stop.is_set():
            if not self.leader:  # once-only work for the fleet: asks again soon, in case it leads
                try:
                    await asyncio.wait_for(stop.wait(), min(60.0, every))
                except asyncio.TimeoutError:
                    pass
                continue
            began = datetime.now(timezone.utc)
            try:
                result = await asyncio.to_thread(prune_once, self.store, self.cfg)
                if result is not None and (result.raw_rows or result.rollup_rows):
                    log.info("retention: pruned %d raw rows, %d rollup rows",
                             result.raw_rows, result.rollup_rows)
                self.retention = {"last_pass": began.isoformat(), "error": None} | (
                    {"raw_rows": result.raw_rows, "rollup_rows": result.rollup_rows,
                     "raw_until": {m: t.isoformat() for m, t in result.raw_until.items()}}
                    if result is not None else {})
            except Exception as e:  # never take the monitor down; tried again next pass
                log.error("retention pass failed: %s", e)
                self.retention = {"last_pass": began.isoformat(), "error": str(e)}
            try:
                await asyncio.wait_for(stop.wait(), every)
            except asyncio.TimeoutError:
                pass

    def _open_web(self) -> None:
        """The dashboard in this process, on the service's own stores (one service
        for a small city); bound now so a busy port stops the start-up."""
        from dashboard import create_app
        from dashboard.server import WebServer

        app = create_app(self.cfg, base_dir=self.base_dir, states=self.states, store=self.store)
        try:
            self.web = WebServer(app, self.cfg.web.listen, self.cfg.web.threads).bind()
        except (OSError, ValueError) as e:
            raise StartupError(f"dashboard cannot listen on {self.cfg.web.listen}: {e}") from None

    def _make_collectors(self, loop: asyncio.AbstractEventLoop) -> None:
        def from_thread(samples: list[Sample]) -> None:
            # Return only once the samples are durable (store or spool): the
            # MQTT collector acknowledges the broker after this returns.
            done = threading.Event()
            loop.call_soon_threadsafe(self._queue.put_nowait, (samples, done))
            if not done.wait(self.durable_timeout_s):
                raise TimeoutError("samples not confirmed durable in time")  # collector retries

        mine = shard_config(self.cfg, self.shard)  # this shard's APs and controllers only
        if any(a.host for a in mine.aps) or mine.controllers:
            from collectors.snmp.poller import SnmpCollector

            self.snmp = SnmpCollector(mine, on_samples=lambda s: self._queue.put_nowait((s, None)))
        if self.cfg.mqtt.enabled:
            from collectors.mqtt.collector import MqttCollector

            dead = ServicePaths(self.base_dir).state_dir(self.cfg) / "mqtt-dead-letters.jsonl"
            self.mqtt = MqttCollector(mine, on_samples=from_thread, dead_letter_path=dead)
        self._restore_counters()

    def _start_alerting(self) -> None:
        """Rules, lifecycle and delivery (hotspot_monitor/alerts): evaluated on the loop,
        stored and sent from worker threads."""
        from .alerts.rules import MonitorHealth
        from .alerts.service import AlertingService, HealthTracker

        assert self.states is not None and self.store is not None and self.engine is not None
        tracker = HealthTracker(self.started_at or datetime.now(timezone.utc), self.snmp is not None,
                                self.cfg.collector.interval_s)

        def health():
            if not self.shard.sharded or self.watch is None:
                return tracker.snapshot(datetime.now(timezone.utc), self.snmp, self.writer)
            # every live shard's own health, from the heartbeats (the leader's included)
            return MonitorHealth(
                shards=[f"{i}/{self.shard.count}" for i in range(self.shard.count)],
                shards_down={k: d.since for k, d in self.watch.down.items()},
                shards_foreign={k: hb.started if hb else None for k, hb in self.watch.foreign.items()},
                shard_health={k: MonitorHealth.from_json(hb.health) for k, hb in self.watch.alive.items()
                              if hb.health is not None})

        states = self.states
        self.alerting = AlertingService(
            self.cfg, self.states, self.store, self.engine, health,
            is_leader=lambda: self.leader,
            # a shard's engine holds its own APs: site rules need every shard's
            fleet=(lambda: StatusEngine(self.cfg, states)) if self.shard.sharded else None)
        self.alerting.start()

    def _trackers(self) -> dict[str, Any]:
        out = {}
        if self.snmp is not None:
            out["snmp"] = self.snmp.counters
        if self.mqtt is not None:
            out["mqtt"] = self.mqtt.handler.counters
        return out

    def _restore_counters(self) -> None:
        """Counter baselines of the last clean shutdown: the first reading after a
        restart then gives the bytes of the downtime instead of a new baseline.
        The file is removed at once, so a crash later never leaves a stale one
        (stale baselines would count bytes twice)."""
        path = ServicePaths(self.base_dir).state_dir(self.cfg) / "counters.json"
        if not path.exists():
            return
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            log.warning("ignoring unreadable counter baselines %s: %s", path, type(e).__name__)
            saved = {}
        path.unlink(missing_ok=True)
        for name, tracker in self._trackers().items():
            n = tracker.restore(saved.get(name, []))
            log.info("restored %d %s counter baselines", n, name)

    def _save_counters(self) -> None:
        path = ServicePaths(self.base_dir).state_dir(self.cfg) / "counters.json"
        data = {name: t.snapshot() for name, t in self._trackers().items()
                if not (name == "mqtt" and self.mqtt.counters_unsafe)}
        write_private_text(path, json.dumps(data))

    # -- running -------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        if self.engine is None:
            self.open()
        assert self.engine is not None and self.writer is not None
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_quiet_late_datagrams)
        self._queue = asyncio.Queue()
        self._state_thread = ThreadPoolExecutor(1, thread_name_prefix="status-engine")
        self._make_collectors(loop)
        self.started_at = datetime.now(timezone.utc)
        self.watch = ShardWatch(self.cfg, self.shard, self.states, self.heartbeats,
                                self.cfg.collector.shard_timeout_s, self.started_at)
        self.engine.start(self.started_at)
        self._cluster_pass(self.started_at)
        self.writer.start()
        log.info("service started: %d sites, %d APs, %d controllers, store %s, mqtt %s%s",
                 len(self.cfg.sites), len(self.engine.aps()), len(self.cfg.controllers),
                 self.cfg.store.kind, "on" if self.mqtt else "off",
                 f", shard {self.shard} ({'leader' if self.leader else 'not leader'})"
                 if self.shard.sharded else "")
        if self.mqtt is not None:
            self.mqtt.start()
        if self.web is not None:
            self.web.start_thread()
            log.info("dashboard on %s", self.web.url)
        tasks = [asyncio.create_task(self._consume(), name="ingest"),
                 asyncio.create_task(self._housekeeping(stop), name="housekeeping")]
        if self.snmp is not None:
            tasks.append(asyncio.create_task(self.snmp.run(stop), name="snmp"))
        if self.cfg.alerts.enabled:
            self._start_alerting()
            tasks.append(asyncio.create_task(self.alerting.run(stop), name="alerting"))
        if self._sends_reports():
            tasks.append(asyncio.create_task(self._reports(stop), name="reports"))
        if self._prunes():
            tasks.append(asyncio.create_task(self._retention(stop), name="retention"))
        try:
            await stop.wait()
        finally:
            await self._shutdown(tasks)

    def _sends_reports(self) -> bool:
        """Monthly reports are once-only work: every shard schedules them, only the
        leader of the moment sends (``_reports`` checks ``self.leader`` each pass)."""
        from .reports.sender import sends

        return any(sends(p) for p in self.cfg.partners)

    async def _reports(self, stop: asyncio.Event) -> None:
        """Partners' monthly reports: due on the 1st, claimed, generated and e-mailed off the
        loop (hotspot_monitor/reports/sender.py); sleeps until the next thing falls due."""
        from .reports.sender import ReportSender

        assert self.states is not None and self.store is not None
        sender = ReportSender(self.cfg, self.states, self.store, ServicePaths(self.base_dir).state_dir(self.cfg))
        while not stop.is_set():
            try:
                if self.leader:
                    await asyncio.to_thread(sender.run_once)
                    wait = await asyncio.to_thread(sender.seconds_to_next, datetime.now(timezone.utc))
                else:  # a standby: look again soon, it may be leading by then
                    wait = self.housekeeping_s
            except Exception:  # a report must never take the monitor down; retried next pass
                log.exception("monthly reports failed")
                wait = 60.0
            try:
                await asyncio.wait_for(stop.wait(), wait)
            except asyncio.TimeoutError:
                pass

    async def _consume(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            samples, done = await self._queue.get()
            try:
                await loop.run_in_executor(self._state_thread, self._ingest, samples, done)
            except Exception:  # one bad batch must not stop ingestion
                log.exception("ingest failed for a batch of %d samples", len(samples))

    def _ingest(self, samples: list[Sample], done: Optional[threading.Event] = None) -> None:
        assert self.engine is not None and self.writer is not None
        events: list[Sample] = []
        status = [s for s in samples if s.measurement == "ap_status"]
        if status:
            events = self.engine.observe_many(sorted(status, key=lambda s: s.time))
            for e in events:
                log.info("AP %s %s (%s)", e.tags.get("ap"), e.fields.get("state"), e.fields.get("reason", ""))
        self.writer.submit(samples + events, done)

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        assert self.engine is not None
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.housekeeping_s)
            except asyncio.TimeoutError:
                pass
            now = datetime.now(timezone.utc)
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self._state_thread, self._housekeep_state, now)
                self.write_runtime(now)  # on the loop: it reads the collectors' counters
            except Exception:  # keep the session alive and state saved next time
                log.exception("housekeeping failed")

    def _housekeep(self, now: datetime) -> None:
        self._housekeep_state(now)
        self.write_runtime(now)

    def _housekeep_state(self, now: datetime) -> None:
        """Stale MQTT APs and the engine's clock: status engine work (the state thread)."""
        assert self.engine is not None
        events: list[Sample] = []
        if self.mqtt is not None:
            # judged at `now`: the collector listened until then (coverage), and
            # an AP not heard since the (re)start is stale like any other
            for ap, since in self.mqtt.stale_aps(now).items():
                events += self.engine.mark_stale(ap, since, now)
        events += self.engine.tick(now)
        if events:
            self._ingest(events)
        self._cluster_pass(now)
        self._purge_contacts(now)

    def _cluster_pass(self, now: datetime) -> None:
        """Heartbeat, leader lock, and (leader) the other shards' health. State thread."""
        if self.lock is None or self.heartbeats is None:
            return
        health = None
        if self.shard.sharded:  # the leader judges every shard's health from its heartbeat
            from .alerts.service import HealthTracker

            if self._health is None:
                self._health = HealthTracker(self.started_at or now, self.snmp is not None,
                                             self.cfg.collector.interval_s)
            health = self._health.snapshot(now, self.snmp, self.writer).to_json()
        was = self.lock.leader
        leading = self.lock.refresh()
        if was and not leading and self.watch is not None:
            self.watch.forget()
        if self.shard.sharded and hasattr(self.store, "set_rollup_leader"):
            self.store.set_rollup_leader(leading)  # the fleet-wide rollups run once
        try:
            assert self.engine is not None and self.started_at is not None
            self.heartbeats.beat(self.shard.key, self.shard.index, self.shard.count, this_host(),
                                 os.getpid(), self.started_at, now, len(self.engine.aps()), leading,
                                 health)
        except Exception as e:  # the state store may be away: the leader will notice the silence
            log.warning("shard heartbeat failed: %s", type(e).__name__)
        if leading and self.watch is not None:
            self.watch.check(now)

    def _purge_contacts(self, now: datetime) -> None:
        """Reporters' contacts past their retention are deleted by the service itself, not
        only when someone opens the queue (docs/citizens.md); at most every few minutes."""
        if (not self.cfg.citizens.enabled or self.states is None or not self.leader
                or now < self._next_contact_purge):
            return
        from .citizens.desk import ReportDesk

        self._next_contact_purge = now + CONTACT_PURGE_EVERY
        if self._desk is None:
            self._desk = ReportDesk(self.states, self.cfg.citizens.contact_retention_days)
        purged = self._desk.purge_contacts(now)
        if purged:
            log.info("deleted %d reporters' contacts past their retention", purged)

    def write_runtime(self, now: datetime, stopped: bool = False) -> None:
        """A small JSON file with the collectors' health, for ``status``."""
        d: dict[str, Any] = {
            "pid": os.getpid(),
            "updated": now.isoformat(),
            "started": self.started_at.isoformat() if self.started_at else None,
            "stopped": stopped,
            "writer": self.writer.stats(),
            "health": self.health_flags(),
            "engine": dict(self.engine.stats),
            "shard": self.shard.key,
            "leader": self.leader,
            "aps_owned": len(self.engine.aps()),
        }
        if self.watch is not None and self.leader and self.shard.sharded:
            d["shards_down"] = {k: {"since": v.since.isoformat(), "aps": v.aps, "host": v.host,
                                    "pid": v.pid} for k, v in self.watch.down.items()}
        if self.alerting is not None:
            d["alerts"] = _jsonable(self.alerting.stats)
        if self.retention is not None:
            d["retention"] = self.retention
        if self.snmp is not None:
            d["snmp"] = _jsonable(getattr(self.snmp, "stats", {}))
            # devices, seconds, cpu_s, failures by reason, finished (None before the first round)
            d["snmp_round"] = _jsonable(getattr(self.snmp, "last_round", None))
        if self.mqtt is not None:
            d["mqtt"] = _jsonable(self.mqtt.stats)
            d["mqtt_unknown_aps"] = {k: v.isoformat() for k, v in self.mqtt.unknown_aps().items()}
        path = ServicePaths(self.base_dir).runtime_file(self.cfg)
        write_private_text(path, json.dumps(d, indent=1, default=str))

    def health_flags(self) -> list[str]:
        """Problems an operator must see (runtime.json ``health``, ``status``, the dashboard):
        the writer's (``store_down``, ``spool_full``, ``samples_dropped``) and the state
        store's (``state_store_errors``: transitions waiting to be stored)."""
        flags = list(self.writer.health_flags) if self.writer is not None else []
        if self.engine is not None and self.engine.unsaved_transitions:
            flags.append("state_store_behind")
        return flags

    async def _shutdown(self, tasks: list[asyncio.Task]) -> None:
        log.info("stopping")
        t0 = time.monotonic()
        snmp_task = next((t for t in tasks if t.get_name() == "snmp"), None)
        if snmp_task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(snmp_task), 15)
            except (asyncio.TimeoutError, Exception):
                snmp_task.cancel()
            try:
                await self.snmp.close()
            except Exception as e:  # closing sockets must not block the rest of shutdown
                log.warning("closing the SNMP poller: %s", type(e).__name__)
        if self.mqtt is not None:
            await asyncio.to_thread(self.mqtt.stop)
        if self.web is not None:
            await asyncio.to_thread(self._close_web)
        await asyncio.sleep(0)  # let thread-safe callbacks land in the queue
        assert self._queue is not None
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._state_thread is not None:  # let a batch in the state thread finish first
            await asyncio.to_thread(self._state_thread.shutdown, True)
        while not self._queue.empty():
            self._ingest(*self._queue.get_nowait())
        now = datetime.now(timezone.utc)
        self.engine.stop(now)
        if self.heartbeats is not None:
            try:
                self.heartbeats.stop(self.shard.key, os.getpid(), now)
            except Exception as e:
                log.warning("shard heartbeat (stop) failed: %s", type(e).__name__)
        if self.alerting is not None:
            await asyncio.to_thread(self.alerting.stop)
        await asyncio.to_thread(self.writer.stop)
        self.write_runtime(now, stopped=True)
        self._save_counters()  # after the writer: every Sample computed from them is durable
        self.close()
        log.info("stopped in %.1fs", time.monotonic() - t0)

    def _close_web(self) -> None:
        self.web.close()
        self.web.app.extensions["hotspot"].close()

    def close(self) -> None:
        if self.store is not None:
            try:
                self.store.close()
            except StoreError as e:
                log.warning("closing the metric store: %s", e)
        if self.lock is not None:
            self.lock.close()
        if self.states is not None:
            self.states.close()


def _quiet_late_datagrams(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """A reply that arrives after its SNMP engine was closed (a late answer to
    a poll that had already timed out) is harmless at shutdown; pysnmp raises
    it from a loop callback, where it would be logged as an error."""
    exc = context.get("exception")
    if exc is not None and "Unregistered transport" in str(exc):
        log.debug("late SNMP datagram after shutdown ignored")
        return
    loop.default_exception_handler(context)


def _jsonable(d: Any) -> Any:
    return json.loads(json.dumps(d, default=str))
