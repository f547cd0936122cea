"""One message in, Samples out: the collector's handling function.

:meth:`MessageHandler.handle` maps the topic, picks the subscription's parser
and returns Samples. It never raises: bad input of any kind is counted in
``stats`` by reason, logged (rate-limited) and written to the dead-letter log.
It also remembers when each AP was last heard of (for heartbeat staleness) and
which unknown devices publish (for the ``status`` command).

``handle`` is called by one worker thread only; ``unknown_aps`` and
``stale_aps`` may be called from other threads.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from collectors.counters import CounterTracker
from collectors.policy import MetricsPolicy
from hotspot_monitor.config.models import Config
from hotspot_monitor.logutil import RateLimitedLog
from hotspot_monitor.sample import Sample

from .deadletter import DeadLetterLog
from .formats import BadInput, CollectdParser, JsonV1Parser, ParseResult, PresenceParser
from .topics import TopicError, TopicMapper

log = logging.getLogger("collectors.mqtt")
# Every stats key, so that a zero reads as 0 (not missing).
STAT_KEYS = ("received", "samples", "rejected", "duplicate", "clock_skew", "ignored", "site_mismatch",
             "malformed", "out_of_range", "unknown_ap", "unknown_metric", "unmatched_topic",
             "bad_topic", "internal_error", "too_large", "too_many_items", "rate_limited",
             "unknown_untracked", "baselines_evicted")
EVICT_EVERY_S = 600.0  # how often silent counter baselines are looked for


@dataclass(slots=True)
class TokenBucket:
    """Per-device message budget: ``burst`` at once, refilled at ``rate`` per second."""

    tokens: float
    at: float  # monotonic time of the last refill

    def take(self, now: float, rate: float, burst: float) -> bool:
        self.tokens = min(burst, self.tokens + (now - self.at) * rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class MessageHandler:
    def __init__(self, config: Config, dead_letters: Optional[DeadLetterLog] = None,
                 counters: Optional[CounterTracker] = None):
        self.config = config
        self.mapper = TopicMapper(config.mqtt.subscriptions, config.aps)
        self.counters = counters or CounterTracker(max_gap_s=config.collector.max_gap_s,
                                                   default_bps=config.collector.default_link_mbps * 1e6)
        policy = MetricsPolicy(config)
        self.limits = config.mqtt.limits
        self.parsers = {
            "json": JsonV1Parser(self.counters, policy, self.limits),
            "collectd": CollectdParser(self.counters, config.collector.max_gap_s, policy, self.limits),
            "presence": PresenceParser(),
        }
        self.dead_letters = dead_letters or DeadLetterLog(None)
        self.stats: Counter[str] = Counter({k: 0 for k in STAT_KEYS})
        self.last_seen: dict[str, datetime] = {}
        self.unknown: dict[str, datetime] = {}
        self._rl = RateLimitedLog(log, interval_s=60.0)
        self._lock = threading.Lock()  # guards ``unknown`` against readers on other threads
        self._buckets: dict[str, TokenBucket] = {}  # inventory APs only: bounded
        self._evicted_at: Optional[datetime] = None

    def unknown_aps(self) -> dict[str, datetime]:
        with self._lock:
            return dict(self.unknown)

    def handle(self, topic: str, payload: bytes, received: datetime, size: int = -1) -> list[Sample]:
        """Samples for one message; never raises. ``size``: the payload's size on the
        wire when the transport cut an oversized ``payload`` (-1: ``len(payload)``)."""
        self.stats["received"] += 1
        try:
            self._evict(received)
            size = len(payload) if size < 0 else size
            if size > self.limits.max_payload_bytes:
                self._reject(topic, payload, received, "too_large",
                             f"{size} bytes > {self.limits.max_payload_bytes}")
                return []
            return self._handle(topic, payload, received)
        except Exception as e:  # a parser bug must not stop the collector
            self._reject(topic, payload, received, "internal_error", type(e).__name__)
            return []

    def _handle(self, topic: str, payload: bytes, received: datetime) -> list[Sample]:
        try:
            route = self.mapper.route(topic)
        except TopicError as e:
            self._reject(topic, payload, received, e.reason, str(e))
            return []
        if route.ap is None:
            if route.device in self.unknown or len(self.unknown) < self.limits.max_unknown_devices:
                with self._lock:
                    self.unknown[route.device] = received
            else:
                self.stats["unknown_untracked"] += 1  # counted, not remembered
            self._reject(topic, payload, received, "unknown_ap", route.device[:200])
            return []
        if not self._admit(route.ap):
            self._reject(topic, payload, received, "rate_limited", route.ap)
            return []
        if route.site_mismatch:
            self.stats["site_mismatch"] += 1
        try:
            res: ParseResult = self.parsers[route.format].parse(route, payload, received)
        except BadInput as e:
            self.last_seen[route.ap] = received  # it is alive, even if confused
            self._reject(topic, payload, received, e.reason, e.detail)
            return []
        self.last_seen[route.ap] = received
        for reason, detail in res.problems:
            self._reject(topic, payload, received, reason, detail)
        if res.duplicate:
            self.stats["duplicate"] += 1
        if res.clock_skew:
            self.stats["clock_skew"] += 1
            self._rl.warning("MQTT %s: device clock off by more than allowed; using receive time", route.ap)
        if res.ignored:
            self.stats["ignored"] += res.ignored
        self.stats["samples"] += len(res.samples)
        return res.samples

    def _admit(self, ap: str) -> bool:
        """The device's token bucket: a flood from one AP never crowds out the rest."""
        now = time.monotonic()
        b = self._buckets.get(ap)
        if b is None:
            b = self._buckets[ap] = TokenBucket(float(self.limits.device_burst), now)
        return b.take(now, self.limits.device_rate_per_s, self.limits.device_burst)

    def _evict(self, received: datetime) -> None:
        """Every EVICT_EVERY_S: forget counter baselines (and collectd series) silent
        for ``baseline_ttl_days``, so ids and interfaces that stopped existing
        do not hold memory for ever."""
        if self._evicted_at is not None and (received - self._evicted_at).total_seconds() < EVICT_EVERY_S:
            return
        self._evicted_at = received
        cutoff = received.timestamp() - self.limits.baseline_ttl_days * 86400.0
        n = self.counters.evict_silent(cutoff)
        n += self.parsers["collectd"].evict_silent(cutoff)
        if n:
            self.stats["baselines_evicted"] += n
            log.info("forgot %d counter baselines silent for %.0f days", n, self.limits.baseline_ttl_days)

    def _reject(self, topic: str, payload: bytes, received: datetime, reason: str, detail: str) -> None:
        self.stats[reason] += 1
        self.stats["rejected"] += 1
        # one template per reason (a fixed set), so each reason has its own rate limit
        self._rl.warning(f"MQTT message rejected ({reason}); details in the dead-letter log")
        log.debug("MQTT rejected %s on %r: %s", reason, topic[:200], detail[:200])
        self.dead_letters.append(received, topic[:1024], reason, detail[:512], payload)

    # -- queries for the status engine / status command -------------------
    def stale_aps(self, now: datetime, since: datetime) -> dict[str, Optional[datetime]]:
        """APs silent for longer than ``mqtt.heartbeat_timeout_s``: {ap: last heard or None}.

        ``since`` is when the collector started listening (its connection to
        the broker); nothing is judged before it has listened for longer than
        the timeout (the broker may still be delivering what it queued). Covers
        every AP heard of over MQTT plus every inventory MQTT AP (an ``mqtt_id``,
        or metrics from MQTT): one not heard since the service (re)started
        counts as stale (last heard None) like any other.
        """
        limit = timedelta(seconds=self.config.mqtt.heartbeat_timeout_s)
        out: dict[str, Optional[datetime]] = {}
        if now - since <= limit:
            return out
        for ap in self.config.aps:
            seen = self.last_seen.get(ap.id)
            if seen is None:
                if ap.mqtt_id or ap.metrics_source == "mqtt":
                    out[ap.id] = None
            elif now - seen > limit:
                out[ap.id] = seen
        return out
