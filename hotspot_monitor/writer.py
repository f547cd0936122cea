"""The one place that writes Samples to the MetricStore.

Collectors hand samples to :meth:`SampleWriter.submit` (thread-safe, never
blocks, never raises). A background thread batches them into the store. A
caller that must know when its samples are safe (the MQTT collector acks the
broker only then) passes a ``threading.Event``: it is set once the samples are
in the store or fsync'ed to the spool. When
the store is down, samples wait in memory; past ``max_buffer`` they spill to a
spool directory as JSON lines, and at shutdown whatever is still unwritten is
spooled too. The spool is replayed first when the store is back, also after a
restart, so a store outage delays data but never loses it. Stores treat a
sample with the same series and time as an overwrite, so replaying a batch
that may have partly landed never double-counts.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from typing import Iterable, Optional

from .fileperm import open_private, private_dir
from .logutil import RateLimitedLog
from .sample import Sample
from .stores.base import MetricStore, StoreError, StoreRejected

log = logging.getLogger(__name__)


class SampleWriter:
    def __init__(
        self,
        store: MetricStore,
        *,
        spool_dir: Path,
        flush_interval_s: float = 1.0,
        batch_size: int = 5000,
        max_buffer: int = 200_000,
        max_backoff_s: float = 30.0,
    ):
        self.store = store
        self.spool_dir = Path(spool_dir)
        private_dir(self.spool_dir)
        self.flush_interval_s = flush_interval_s
        self.batch_size = batch_size
        self.max_buffer = max_buffer
        self.max_backoff_s = max_backoff_s
        self._pending: deque[Sample] = deque()
        self._waiters: list[tuple[int, threading.Event]] = []  # (samples submitted so far, event)
        self._submitted = 0  # samples ever submitted; _pending holds the last len(_pending)
        self._inflight = 0  # popped from _pending, being written now
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._errors = RateLimitedLog(log, interval_s=30.0)
        self.written = 0
        self.failures = 0
        self.rejected = 0
        self.store_ok = True
        self.last_error: Optional[str] = None

    # -- producer side ---------------------------------------------------
    def submit(self, samples: Iterable[Sample], done: Optional[threading.Event] = None) -> None:
        """Queue samples; ``done`` is set once they are durable (store or spool)."""
        if done is not None and not self.store_ok:
            # the store is down: straight to the spool, without waking the
            # writer for another attempt (and another timeout) per batch
            samples = list(samples)
            try:
                self._spool(samples)
                done.set()
                return
            except OSError:
                pass  # keep them in memory below
        with self._lock:
            before = len(self._pending)
            self._pending.extend(samples)
            self._submitted += len(self._pending) - before
            n = len(self._pending)
            if done is not None:
                self._waiters.append((self._submitted, done))
        if done is not None and n == before:
            self._settle()
        if n >= self.batch_size or done is not None:
            self._wake.set()

    def _settle(self) -> None:
        """Set the events of every waiter whose samples have all left ``_pending``."""
        with self._lock:
            safe = self._submitted - len(self._pending) - self._inflight
            ready = [ev for mark, ev in self._waiters if mark <= safe]
            self._waiters = [(m, ev) for m, ev in self._waiters if m > safe]
        for ev in ready:
            ev.set()

    @property
    def pending(self) -> int:
        return len(self._pending) + self._spooled_count()

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sample-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Flush what can be flushed within ``timeout_s``; spool the rest."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s + self.max_backoff_s)
        if self._thread is None or not self._thread.is_alive():
            try:
                self._drain_once(deadline=time.monotonic() + timeout_s)
            except Exception:
                log.exception("sample writer: final flush failed")
        with self._lock:
            rest = list(self._pending)
            self._pending.clear()
        if rest:
            self._spool(rest)
            self._settle()
            log.warning("store unavailable at shutdown: %d samples kept in %s", len(rest), self.spool_dir)

    # -- writer thread ---------------------------------------------------
    def _loop(self) -> None:
        backoff = self.flush_interval_s
        while not self._stopping.is_set():
            self._wake.wait(backoff)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                ok = self._drain_once(deadline=time.monotonic() + 60)
            except Exception:  # never die silently: the samples stay buffered
                log.exception("sample writer: unexpected error; retrying")
                ok = False
            backoff = self.flush_interval_s if ok else min(max(backoff * 2, 1.0), self.max_backoff_s)

    def _drain_once(self, deadline: float) -> bool:
        """Write spooled files, then pending samples; False when the store failed.

        ``StoreRejected`` (samples the store refuses for good) sets the batch
        aside in ``rejected-*.jsonl`` and goes on; any other failure keeps
        the samples for the next attempt.
        """
        try:
            for path in sorted(self.spool_dir.glob("spool-*.jsonl")):
                try:
                    batch = self._read_spool(path)
                except (OSError, ValueError, KeyError, TypeError) as e:
                    bad = path.with_name("bad-" + path.name)
                    path.rename(bad)
                    log.error("unreadable spool file moved to %s: %s", bad, type(e).__name__)
                    continue
                self._write_or_reject(batch)
                path.unlink()
            while time.monotonic() < deadline and not (self._stopping.is_set() and self._thread_is_me()):
                with self._lock:
                    if not self._pending:
                        break
                    batch = [self._pending.popleft() for _ in range(min(self.batch_size, len(self._pending)))]
                    self._inflight = len(batch)
                try:
                    self._write_or_reject(batch)
                except BaseException:
                    with self._lock:
                        self._pending.extendleft(reversed(batch))
                        self._inflight = 0
                    raise
                with self._lock:
                    self._inflight = 0
                self._settle()
        except (StoreError, OSError, sqlite3.Error) as e:
            self.failures += 1
            self.store_ok = False
            self.last_error = str(e) if isinstance(e, StoreError) else type(e).__name__
            self._errors.warning("store write failed (buffering %d samples): %s", len(self._pending),
                                 self.last_error)
            self._spill_if_needed()
            return False
        if not self.store_ok:
            log.info("store is back; buffered samples written")
        self.store_ok = True
        return True

    def _thread_is_me(self) -> bool:
        return threading.current_thread() is self._thread

    def _spill_if_needed(self) -> None:
        """Spool pending samples when memory is full or someone waits for durability."""
        with self._lock:
            if not (len(self._pending) > self.max_buffer or self._waiters):
                return
            spill = list(self._pending)
        self._spool(spill)  # may raise OSError: then the samples stay in memory
        with self._lock:
            for _ in range(len(spill)):
                self._pending.popleft()
        self._settle()

    def _write_or_reject(self, batch: list[Sample]) -> None:
        try:
            self._write(batch)
        except StoreRejected as e:
            path = self.spool_dir / f"rejected-{time.time_ns():020d}.jsonl"
            self._spool(batch, path)
            self.rejected += len(batch)
            self._errors.warning("store refused samples for good; the batch is set aside in %s: %s",
                                 path, e)

    def _write(self, batch: list[Sample]) -> None:
        if batch:
            self.store.write(batch)
            self.store.flush()
            self.written += len(batch)

    # -- spool files -----------------------------------------------------
    def _spool(self, samples: list[Sample], path: Optional[Path] = None) -> None:
        """Write samples to a new file, fsync'ed with its directory entry."""
        path = path or self.spool_dir / f"spool-{time.time_ns():020d}.jsonl"
        tmp = path.with_suffix(".tmp")
        with open_private(tmp) as f:
            for s in samples:
                f.write(s.to_json())
                f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(path)
        fd = os.open(self.spool_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _read_spool(path: Path) -> list[Sample]:
        out = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    out.append(Sample.from_json(line))
        return out

    def _spooled_count(self) -> int:
        n = 0
        for path in self.spool_dir.glob("spool-*.jsonl"):
            with open(path, "rb") as f:
                n += sum(1 for _ in f)
        return n
