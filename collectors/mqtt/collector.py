"""MqttCollector: transport + worker thread + MessageHandler.

API for the service runner::

    c = MqttCollector(config, on_samples=writer.submit, dead_letter_path=Path("var/mqtt-dead.jsonl"))
    c.start()                 # returns at once; connects and reconnects in the background
    c.wait_connected(10)      # optional
    c.stats                   # dict: received, samples, rejected, <reason>..., connected, connects
    c.unknown_aps()           # {device id seen on a topic but not in the inventory: last seen}
    c.stale_aps(now)          # {ap id: silent since} silent > mqtt.heartbeat_timeout_s
    c.stop()

Delivery guarantee (QoS 1, the default): at least once into ``on_samples``.
A message is acknowledged to the broker only after ``on_samples`` returned
for it, so a crash between receive and store loses nothing: the broker
redelivers. Redeliveries within one run are dropped as duplicates (same
device ``ts``); after a crash a redelivered message may reach ``on_samples``
a second time with the same series and time, which the stores treat as an
overwrite; the counter code ignores a reading not newer than its baseline,
so traffic never double-counts. ``counters_unsafe`` tells the runner not to
keep the counter baselines over a restart when a batch was left undelivered.
``stop()`` does not drain the queue: what was
received but not handed over is left unacknowledged for the next run.

If ``on_samples`` raises, the batch is retried with backoff (messages are held,
not dropped) until it succeeds or ``stop()`` is called.

Staleness is judged only while connected: a collector that cannot reach the
broker hears nothing and says nothing (its APs then go unmonitored, not down).
After a (re)connection it listens for ``heartbeat_timeout_s`` before judging.
"""
from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Optional

from hotspot_monitor.config.models import Config
from hotspot_monitor.logutil import RateLimitedLog
from hotspot_monitor.sample import Sample

from .deadletter import DeadLetterLog
from .handler import MessageHandler
from .topics import device_filters
from .transport import Incoming, MqttTransport

log = logging.getLogger("collectors.mqtt")
BATCH = 500  # messages handed to on_samples at once


class MqttCollector:
    def __init__(self, config: Config, *, on_samples: Callable[[list[Sample]], None],
                 dead_letter_path: Optional[Path] = None, queue_size: int = 10_000):
        self.config = config
        self.on_samples = on_samples
        self.inbox: "queue.Queue[Incoming]" = queue.Queue(maxsize=queue_size)
        self.handler = MessageHandler(config, DeadLetterLog(dead_letter_path))
        filters, client_id = shard_subscriptions(config)
        self.transport = MqttTransport(config.mqtt, self.inbox, filters=filters, client_id=client_id)
        self.started_at: Optional[datetime] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.sink_errors = 0
        self._rl = RateLimitedLog(log, interval_s=60.0)
        self.unacked = 0
        self.counters_unsafe = False  # baselines ahead of what was delivered
        self._conn_lock = threading.Lock()
        self._connects_seen = 0  # transport.connects when the connection was last checked
        self.listening_since: Optional[datetime] = None  # None while not connected

    def start(self) -> None:
        self.started_at = datetime.now(timezone.utc)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mqtt-collector", daemon=True)
        self._thread.start()
        self.transport.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self.counters_unsafe = True  # still handling: baselines may move on
        self.transport.stop()

    def wait_connected(self, timeout: float) -> bool:
        return self.transport.connected.wait(timeout)

    @property
    def stats(self) -> dict:
        d = dict(self.handler.stats)
        d.update(connected=self.transport.connected.is_set(), connects=self.transport.connects,
                 queued=self.inbox.qsize(), sink_errors=self.sink_errors, unacked=self.unacked,
                 dead_letters=self.handler.dead_letters.written, last_error=self.transport.last_error)
        return d

    def unknown_aps(self) -> dict[str, datetime]:
        return self.handler.unknown_aps()

    def stale_aps(self, now: Optional[datetime] = None) -> dict[str, datetime]:
        """{ap: the instant its silence began} for APs silent past the heartbeat timeout.

        Empty while disconnected (blind). An AP heard in this run went quiet just
        after its last message; one not heard since the connection started,
        when the collector started listening."""
        now = now or datetime.now(timezone.utc)
        since = self._watch_connection(now)
        if since is None:
            return {}
        return {ap: since if seen is None else seen + timedelta(microseconds=1)
                for ap, seen in self.handler.stale_aps(now, since).items()}

    def _watch_connection(self, now: datetime) -> Optional[datetime]:
        """When the current broker connection started (as first noticed), or None."""
        with self._conn_lock:
            connects = self.transport.connects
            if not self.transport.connected.is_set():
                self.listening_since = None
            elif self.listening_since is None or connects != self._connects_seen:
                self.listening_since = now
            self._connects_seen = connects
            return self.listening_since

    # -- worker --------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._watch_connection(datetime.now(timezone.utc))
            try:
                first = self.inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            samples: list[Sample] = []
            for item in batch:
                samples.extend(self.handler.handle(item.topic, item.payload, item.received,
                                                   size=item.size))
            if samples and not self._deliver(samples):
                # stopping with an undelivered batch: leave it unacknowledged. Its
                # readings already moved the counter baselines, so these must not
                # be carried over a restart (the broker redelivers the batch).
                self.counters_unsafe = True
                return
            for item in batch:
                if not self.transport.ack(item):
                    self.unacked += 1

    def _deliver(self, samples: list[Sample]) -> bool:
        delay = 0.1
        while True:
            try:
                self.on_samples(samples)
                return True
            except Exception as e:
                self.sink_errors += 1
                self._rl.warning("MQTT sink failed (%s); retrying with backoff", type(e).__name__)
            if self._stop.wait(delay):
                return False
            delay = min(delay * 2, 10.0)


def shard_subscriptions(config: Config) -> tuple[Optional[list[str]], Optional[str]]:
    """A shard of several (``collector.shard`` i/n, n > 1; ``config`` lists only its
    APs) subscribes to its own devices' topics, under its own persistent session
    (``<client_id>-<i>of<n>``): every message of an AP reaches the one shard that
    holds its counter baselines and state (docs/scaling.md explains why not
    shared subscriptions). None, None when not sharded."""
    shard = config.collector.shard
    if not shard or shard.endswith("/1"):
        return None, None
    devices = sorted({d for a in config.aps for d in (a.id, a.mqtt_id) if d})
    filters: list[str] = []
    for sub in config.mqtt.subscriptions:
        filters += device_filters(sub, devices)
    i, n = shard.split("/")
    return filters, f"{config.mqtt.client_id}-{i}of{n}"
