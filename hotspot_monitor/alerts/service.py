"""Alerting inside ``run``: evaluate on the loop, store and send off it.

Every ``alerts.evaluate_every_s`` the rules read the status engine (on the
event loop thread, which owns the engine; pure and fast) and the latest
metrics view; the manager's transaction and the metrics refresh run in
worker threads, and the dispatcher sends from its own thread. So delivery,
however slow a channel is, never delays a poll round.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from ..config.models import Config
from ..status.engine import StatusEngine
from ..status.statestore import StateStore
from ..stores.base import MetricStore
from .manager import AlertManager
from .metrics import MetricsRefresher
from .outbox import Outbox
from .rules import AlertInputs, MetricsView, MonitorHealth, RuleEvaluator

log = logging.getLogger(__name__)
METRICS_EVERY_S = 60.0
SPOOL_HISTORY = 6


class AlertingService:
    def __init__(self, cfg: Config, states: StateStore, store: MetricStore, engine: StatusEngine,
                 health: Callable[[], MonitorHealth], *,
                 is_leader: Callable[[], bool] = lambda: True,
                 fleet: Optional[Callable[[], StatusEngine]] = None):
        """``is_leader``: evaluate only while this process leads (several shards,
        docs/scaling.md; the dispatcher runs everywhere, its claims are safe).
        ``fleet``: a fresh read-only engine over every AP of the state store, for a
        shard whose own ``engine`` holds only its APs."""
        self.cfg = cfg
        self.settings = cfg.alerts
        self.engine = engine
        self.health = health
        self.is_leader = is_leader
        self.fleet = fleet
        self.rules = RuleEvaluator(cfg, cfg.alerts)
        self.manager = AlertManager(cfg, cfg.alerts, states.engine)
        self.outbox = Outbox(states.engine)
        self.refresher = MetricsRefresher(cfg, store)
        self.metrics = MetricsView()
        self._metrics_at = 0.0
        self.dispatcher: Any = None
        self.stats: dict[str, Any] = {"evaluations": 0, "firing": 0, "last_error": None,
                                      "skipped_not_leader": 0}

    def start(self) -> None:
        from .dispatcher import Dispatcher

        self.dispatcher = Dispatcher(self.outbox, self.cfg)
        self.dispatcher.start()

    def stop(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.evaluate_once(datetime.now(timezone.utc))
            except Exception as e:  # alerting must never take the monitor down
                self.stats["last_error"] = type(e).__name__
                log.exception("alert evaluation failed")
            try:
                await asyncio.wait_for(stop.wait(), self.settings.evaluate_every_s)
            except asyncio.TimeoutError:
                pass

    async def evaluate_once(self, now: datetime) -> None:
        if not self.is_leader():
            self.stats["skipped_not_leader"] += 1
            return
        if time.monotonic() - self._metrics_at >= METRICS_EVERY_S:
            self.metrics = await asyncio.to_thread(self.refresher.refresh, now)
            self._metrics_at = time.monotonic()
        health = self.health()
        configured = {c.id for c in self.settings.channels}  # a removed channel's flag is history
        health.flagged_channels = {ch: st.reason or "" for ch, st in
                                   (await asyncio.to_thread(self.outbox.channel_states)).items()
                                   if st.flagged and ch in configured}
        aps = (await asyncio.to_thread(self.fleet)).aps() if self.fleet is not None else self.engine.aps()
        inp = AlertInputs(now, aps,
                          {c.id: self.engine.controller(c.id) for c in self.cfg.controllers},
                          self.metrics, health)
        ev = self.rules.evaluate(inp)  # on the loop: the engine is not thread-safe
        res = await asyncio.to_thread(self.manager.process, now, ev)
        self.stats["evaluations"] += 1
        self.stats["firing"] = len(res.firing)
        if res.notifications or res.escalations:
            log.info("alerts: %d notification(s), %d escalation(s) queued", res.notifications,
                     res.escalations)
            if self.dispatcher is not None:
                self.dispatcher.wake()


class HealthTracker:
    """The monitor's own health for ``monitor_unhealthy``, from the service's parts."""

    def __init__(self, started_at: datetime, snmp_expected: bool, interval_s: float):
        self.started_at = started_at
        self.snmp_expected = snmp_expected
        self.interval_s = interval_s
        self._store_failing_since: Optional[datetime] = None
        self._spool: list[int] = []

    def snapshot(self, now: datetime, snmp: Any, writer: Any) -> MonitorHealth:
        last = None
        rnd = getattr(snmp, "last_round", None) if snmp is not None else None
        if rnd and rnd.get("finished"):
            last = datetime.fromisoformat(rnd["finished"])
        ok = bool(getattr(writer, "store_ok", True))
        if ok:
            self._store_failing_since = None
        elif self._store_failing_since is None:
            self._store_failing_since = now
        self._spool = (self._spool + [int(getattr(writer, "pending", 0) or 0)])[-SPOOL_HISTORY:]
        return MonitorHealth(snmp_expected=self.snmp_expected, snmp_last_round=last,
                             snmp_interval_s=self.interval_s, started_at=self.started_at,
                             store_ok=ok, store_failing_since=self._store_failing_since,
                             spool_pending=list(self._spool))
