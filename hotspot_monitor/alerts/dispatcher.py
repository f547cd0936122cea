"""The dispatcher: takes due messages from the outbox, sends them, records every attempt.

* Each attempt is recorded (time it started, attempt number, ok / temporary /
  permanent, error, duration) through :meth:`Outbox.record`.
* Temporary failures are retried after :func:`backoff_s` (30 s, 1 min, 2 min,
  4 min, ... at most 30 min; longer when the server sent ``Retry-After``)
  until ``alerts.max_attempts`` attempts, then the message is ``failed``.
* Permanent failures are never retried and flag the channel (the outbox does
  that); a channel id no longer in the config is a permanent failure too.
* Channels do not wait for each other: every channel has its own lane (one
  worker thread, so a channel's messages leave in order), and every send is
  bounded by the channel's ``timeout_s``. A dead mail server delays mail, not
  Telegram.

``run_once(now)`` does one round and waits for it (tests drive simulated
time with it); ``start()`` runs rounds in a background thread every
``poll_s`` and at once after ``wake()``.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from ..logutil import RateLimitedLog
from ..sample import utc
from .notification import Notification
from .notifiers import DeliveryError, Notifier, PermanentError, notifier_for, redact
from .notifiers.base import secret_values
from .outbox import CLAIM_TIMEOUT_S, Outbox, OutboxItem

log = logging.getLogger("hotspot_monitor.alerts.dispatcher")

BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 1800.0
RETRY_AFTER_MAX_S = 3600.0  # a server asking for more than this is not waited for beyond it
MAX_HELD = 500  # messages claimed and waiting in lanes at most (bounds memory and claim age)


def backoff_s(attempt: int) -> float:
    """Delay before the retry that follows attempt number ``attempt`` (1-based)."""
    return min(BACKOFF_FIRST_S * 2 ** max(0, attempt - 1), BACKOFF_MAX_S)


@dataclass(frozen=True)
class Delivery:
    """What one attempt did (also what ``notify-test`` prints)."""

    outbox_id: int
    channel: str
    attempt: int
    result: str  # ok | temporary | permanent
    error: Optional[str]
    duration_ms: float
    at: datetime
    retry_at: Optional[datetime]  # None: no further attempt (sent, failed)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Dispatcher:
    """Sends what the outbox holds, one lane per channel."""

    def __init__(self, outbox: Outbox, config: Any, *, clock: Callable[[], datetime] = _utcnow,
                 poll_s: float = 1.0, batch: int = 50):
        self.outbox = outbox
        self.config = config
        self.clock = clock
        self.poll_s = poll_s
        self.batch = batch
        self._notifiers: dict[str, Notifier] = {}
        self._lanes: dict[str, ThreadPoolExecutor] = {}
        self._held: dict[int, OutboxItem] = {}  # claimed by us, not yet recorded
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._rl = RateLimitedLog(log, interval_s=60.0)
        # every secret of the whole config, not only the channel's: a gateway may echo anything
        self._secrets = sorted(set(secret_values(config)), key=len, reverse=True)

    # -- one round ---------------------------------------------------------------------
    def run_once(self, now: Optional[datetime] = None) -> int:
        """Claim what is due at ``now``, send it, wait for the results; how many were attempted."""
        futures = self._pump(utc(now) if now is not None else self.clock())
        wait(futures)
        return len(futures)

    def _pump(self, now: datetime) -> list[Future]:
        with self._lock:
            room = MAX_HELD - len(self._held)
        if room <= 0:
            return []
        futures = []
        started = time.monotonic()
        for item in self.outbox.claim_due(now, limit=min(self.batch, room)):
            with self._lock:
                if item.id in self._held:
                    continue  # still waiting in its lane: the claim was only refreshed
                self._held[item.id] = item
                lane = self._lane(item.channel)
            futures.append(lane.submit(self._deliver_held, item, now, started))
        return futures

    def _lane(self, channel: str) -> ThreadPoolExecutor:
        lane = self._lanes.get(channel)
        if lane is None:
            lane = self._lanes[channel] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"notify-{channel}")
        return lane

    def _deliver_held(self, item: OutboxItem, now: datetime, started: float) -> Optional[Delivery]:
        try:
            # the attempt's time is the round's time plus however long it waited in its lane
            at = now + timedelta(seconds=time.monotonic() - started)
            return self.deliver(item, at)
        except Exception as e:  # recording failed (state store away): the claim expires, it is sent again
            self._rl.warning("alert message could not be recorded: %s", f"{type(e).__name__}: {e}")
            return None
        finally:
            with self._lock:
                self._held.pop(item.id, None)

    # -- one attempt ---------------------------------------------------------------------
    def deliver(self, item: OutboxItem, at: datetime, *, max_attempts: Optional[int] = None,
                notifier: Optional[Notifier] = None, log_result: bool = True) -> Delivery:
        """Send one claimed message once and record the attempt (and log it, unless the
        caller shows the result itself)."""
        attempt = item.attempts + 1
        limit = max_attempts if max_attempts is not None else self.config.alerts.max_attempts
        t0 = time.monotonic()
        secrets = list(self._secrets)
        retry_at: Optional[datetime] = None
        try:
            n = notifier or self.notifier(item.channel)
            secrets += n.secrets()
            n.send(item.notification)
            result, error = "ok", None
        except DeliveryError as e:
            result, error = ("permanent" if e.permanent else "temporary"), redact(e.message, secrets)
            if not e.permanent and attempt < limit:
                delay = backoff_s(attempt)
                if e.retry_after is not None:
                    delay = max(delay, min(e.retry_after, RETRY_AFTER_MAX_S))
                retry_at = at + timedelta(seconds=delay)
        except Exception as e:  # a bug in a notifier: keep the service alive, keep the message
            result = "temporary"
            error = redact(f"internal error: {type(e).__name__}: {e}", secrets)
            log.error("notifier for %s failed unexpectedly: %s", item.channel, error)
            if attempt < limit:
                retry_at = at + timedelta(seconds=backoff_s(attempt))
        duration_ms = (time.monotonic() - t0) * 1000.0
        self.outbox.record(item, at=at, result=result, error=error, duration_ms=duration_ms,
                           retry_at=retry_at)
        d = Delivery(item.id, item.channel, attempt, result, error, duration_ms, at, retry_at)
        if log_result:
            self._log(d, limit)
        return d

    def notifier(self, channel_id: str) -> Notifier:
        """The channel's notifier (built once); PermanentError for a channel not configured."""
        n = self._notifiers.get(channel_id)
        if n is None:
            try:
                channel = self.config.alerts.channel(channel_id)
            except KeyError:
                raise PermanentError(f"channel {channel_id!r} is not configured (removed?)") from None
            n = self._notifiers[channel_id] = notifier_for(channel, self.config)
        return n

    def send_now(self, notification: Notification, *, channel: Any = None,
                 now: Optional[datetime] = None) -> Delivery:
        """Enqueue ``notification`` and make exactly one attempt right here (``notify-test``,
        the dashboard's "send test" button).

        The row is parked (due after the claim timeout) while this process sends it, so
        a running service's dispatcher does not send it too; a temporary failure is not
        retried, and not logged: the caller shows the returned :class:`Delivery`.
        ``channel`` overrides the configured channel settings (e.g. a language).
        """
        now = utc(now) if now is not None else self.clock()
        ch = channel if channel is not None else self.config.alerts.channel(notification.channel)
        item_id = self.outbox.enqueue(notification, due_at=now + timedelta(seconds=CLAIM_TIMEOUT_S))
        item = OutboxItem(item_id, notification.channel, notification, 0)
        try:
            notifier = notifier_for(ch, self.config)
        except DeliveryError as e:
            self.outbox.record(item, at=now, result="permanent", error=e.message, duration_ms=0.0)
            return Delivery(item_id, item.channel, 1, "permanent", e.message, 0.0, now, None)
        try:
            return self.deliver(item, now, max_attempts=1, notifier=notifier, log_result=False)
        finally:
            notifier.close()

    def _log(self, d: Delivery, limit: int) -> None:
        if d.result == "ok":
            log.info("alert message %s sent to %s (attempt %s, %.0f ms)", d.outbox_id, d.channel,
                     d.attempt, d.duration_ms)
        elif d.retry_at is not None:
            self._rl.warning(f"alert message to {d.channel} failed, will retry: %s",
                             f"{d.error} (attempt {d.attempt}/{limit}, retry at {d.retry_at:%H:%M:%S}Z)")
        else:
            self._rl.log(logging.ERROR, f"alert message to {d.channel} failed, giving up: %s",
                         f"{d.result}: {d.error} (attempt {d.attempt}/{limit})")

    # -- background thread -------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="alert-dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (the alert manager just enqueued something)."""
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop polling; sends in progress finish (each bounded by its channel's timeout).

        Messages still waiting in a lane are given back to the outbox, due at once
        for the next start (at-least-once, like any mail system).
        """
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._lock:
            lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            lane.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            unsent, self._held = list(self._held.values()), {}
        for item in unsent:  # still waiting in a lane: due again at once for the next start
            try:
                self.outbox.release(item)
            except Exception as e:  # the claim then expires after its timeout instead
                self._rl.warning("alert message could not be released: %s", type(e).__name__)
        for n in list(self._notifiers.values()):
            n.close()
        self._notifiers.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._pump(self.clock())
            except Exception as e:  # the state store away for a moment: keep polling
                self._rl.warning("alert dispatcher round failed: %s", f"{type(e).__name__}: {e}")
            self._wake.wait(self.poll_s)
            self._wake.clear()
