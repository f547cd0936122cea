"""The one place that writes Samples to the MetricStore.

Collectors hand samples to :meth:`SampleWriter.submit` (thread-safe, never
blocks on the store, never raises). A background thread batches them into the
store. A caller that must know when its samples are safe (the MQTT collector
acks the broker only then) passes a ``threading.Event``: it is set once the
samples are in the store or fsync'ed to the spool.

When the store is down, samples go to a spool directory as JSON lines at
every failed attempt (1 s doubling to ``max_backoff_s``); when it is slow,
they wait in memory up to ``max_buffer`` and spill past it (memory never
grows past twice ``max_buffer``); at shutdown whatever is still unwritten is
spooled too. The spool is replayed first, oldest file
first, when the store is back, also after a restart, so a store outage delays
data but never loses it, as long as the spool fits its cap.

The spool has a cap (``max_spool_bytes``, config ``spool.max_mb``). A spool
over its cap, or a disk that refuses the write (full, quota), is a *defined
loss*: the oldest spooled samples are dropped first, counted in ``dropped``,
logged as an error and flagged (``health_flags``), and the service goes on.
Stores treat a sample with the same series and time as an overwrite, so
replaying a batch that may have partly landed never double-counts.
"""
from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from .fileperm import open_private, private_dir
from .logutil import RateLimitedLog
from .sample import Sample
from .stores.base import MetricStore, StoreError, StoreRejected

log = logging.getLogger(__name__)

DEFAULT_MAX_SPOOL_BYTES = 1024 * 1024 * 1024
SPILL_CHUNK = 20_000  # samples per spool file written from memory


@dataclass
class SpoolFile:
    """One spool file: what the writer knows of it without reading it."""

    path: Path
    samples: int
    size: int
    replaying: bool = False  # being written to the store now: never dropped


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
        max_spool_bytes: int = DEFAULT_MAX_SPOOL_BYTES,
    ):
        self.store = store
        self.spool_dir = Path(spool_dir)
        private_dir(self.spool_dir)
        self.flush_interval_s = flush_interval_s
        self.batch_size = batch_size
        self.max_buffer = max_buffer
        self.max_backoff_s = max_backoff_s
        self.max_spool_bytes = max_spool_bytes
        self._pending: deque[Sample] = deque()
        self._waiters: list[tuple[int, threading.Event]] = []  # (samples submitted so far, event)
        self._submitted = 0  # samples ever submitted; _pending holds the last len(_pending)
        self._inflight = 0  # popped from _pending, being written now
        self._lock = threading.Lock()
        self._spool_lock = threading.Lock()  # the spool index and its files
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._errors = RateLimitedLog(log, interval_s=30.0)
        self._seq = 0  # spool file names: time, then this, so two in one nanosecond keep their order
        self._spool: deque[SpoolFile] = deque(self._scan_spool())
        self.written = 0
        self.failures = 0
        self.rejected = 0
        self.dropped = 0  # samples lost on purpose: the spool over its cap or its disk full
        self.spool_full = False  # dropping now (cleared once the spool has drained)
        self.spool_error: Optional[str] = None  # the last reason the spool refused a write
        self.spilled = 0  # samples moved from memory to the spool
        self.peak_buffer = 0  # most samples ever held in memory at once
        self.store_ok = True
        self.last_error: Optional[str] = None

    # -- producer side ---------------------------------------------------
    def submit(self, samples: Iterable[Sample], done: Optional[threading.Event] = None) -> None:
        """Queue samples; ``done`` is set once they are durable (store or spool)."""
        if (done is not None and not self.store_ok) or self.buffered >= 2 * self.max_buffer:
            # the store is down (straight to the spool, without waking the writer
            # for another attempt and another timeout per batch), or so slow that
            # memory is full: these samples wait on disk, memory stays bounded
            samples = list(samples)
            if self._spool_batch(samples):
                self.spilled += len(samples)
                if done is not None:
                    done.set()
                return
        with self._lock:
            before = len(self._pending)
            self._pending.extend(samples)
            self._submitted += len(self._pending) - before
            n = len(self._pending)
            self.peak_buffer = max(self.peak_buffer, n + self._inflight)
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
        """Samples not yet in the store: in memory plus spooled."""
        return len(self._pending) + self._inflight + self.spooled

    @property
    def buffered(self) -> int:
        """Samples held in memory (waiting or being written)."""
        return len(self._pending) + self._inflight

    @property
    def spooled(self) -> int:
        with self._spool_lock:
            return sum(f.samples for f in self._spool)

    @property
    def spool_bytes(self) -> int:
        with self._spool_lock:
            return sum(f.size for f in self._spool)

    @property
    def health_flags(self) -> list[str]:
        """What an operator must look at: ``store_down``, ``spool_full``, ``samples_dropped``."""
        flags = []
        if not self.store_ok:
            flags.append("store_down")
        if self.spool_full:
            flags.append("spool_full")
        if self.dropped:
            flags.append("samples_dropped")
        return flags

    def stats(self) -> dict:
        """For runtime.json (``status --json``, the dashboard's health page)."""
        return {"written": self.written, "pending": self.pending, "buffered": self.buffered,
                "peak_buffer": self.peak_buffer, "spooled": self.spooled,
                "spool_bytes": self.spool_bytes, "spool_max_bytes": self.max_spool_bytes,
                "spilled": self.spilled, "dropped": self.dropped, "spool_full": self.spool_full,
                "spool_error": self.spool_error, "rejected": self.rejected,
                "store_ok": self.store_ok, "last_error": self.last_error,
                "failures": self.failures, "health": self.health_flags}

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
            self._spool_batch(rest, keep_on_failure=False)
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
        """Write spooled files (oldest first), then pending samples; False when the store failed.

        Spool files go in the order they were written, and before memory (a
        spill moves all of memory; while memory is full, new samples go straight
        to the spool), so the store gets samples about in the order they came.
        ``StoreRejected`` (samples the store refuses for good) sets the batch
        aside in ``rejected-*.jsonl`` and goes on; any other failure keeps
        the samples for the next attempt.
        """
        try:
            while time.monotonic() < deadline and not (self._stopping.is_set() and self._thread_is_me()):
                head = self._oldest_spool()
                if head:
                    self._replay(head)
                    continue
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
                if len(self._pending) > self.max_buffer:
                    self._spill(force=True)  # a slow store: memory stays bounded
        except (StoreError, OSError, sqlite3.Error) as e:
            self.failures += 1
            self.store_ok = False
            try:
                self.store.discard_unsent()  # the writer keeps (and accounts for) its own copy
            except Exception:
                log.debug("discard_unsent failed", exc_info=True)
            self.last_error = str(e) if isinstance(e, StoreError) else type(e).__name__
            self._errors.warning("store write failed (buffering %d samples): %s", len(self._pending),
                                 self.last_error)
            # to disk at every failed attempt (at most max_backoff_s apart): memory stays
            # small while the store is down, and a crash then loses at most that much
            self._spill(force=True)
            return False
        if not self.store_ok:
            log.info("store is back; buffered samples written")
        self.store_ok = True
        if self.spool_full and not self._spool:
            self.spool_full = False
            log.warning("spool drained; %d samples were dropped in all while it was full", self.dropped)
        return True

    def _thread_is_me(self) -> bool:
        return threading.current_thread() is self._thread

    def _oldest_spool(self) -> list[SpoolFile]:
        """The oldest spool files, as many as fit one batch (at least one): small
        files (spooled one submit at a time) are replayed together."""
        out: list[SpoolFile] = []
        n = 0
        with self._spool_lock:
            for f in self._spool:
                if out and n + f.samples > self.batch_size:
                    break
                out.append(f)
                n += f.samples
        return out

    def _replay(self, files: list[SpoolFile]) -> None:
        with self._spool_lock:
            for f in files:
                f.replaying = True
        try:
            batch: list[Sample] = []
            readable: list[SpoolFile] = []
            for f in files:
                try:
                    batch += self._read_spool(f.path)
                    readable.append(f)
                except FileNotFoundError:
                    self._forget(f)
                except (OSError, ValueError, KeyError, TypeError) as e:
                    bad = f.path.with_name("bad-" + f.path.name)
                    try:
                        f.path.rename(bad)
                    except OSError:
                        pass
                    self._forget(f)
                    log.error("unreadable spool file moved to %s: %s", bad, type(e).__name__)
            self._write_or_reject(batch)
            for f in readable:
                f.path.unlink(missing_ok=True)
                self._forget(f)
        finally:
            with self._spool_lock:
                for f in files:
                    f.replaying = False

    def _forget(self, f: SpoolFile) -> None:
        with self._spool_lock:
            try:
                self._spool.remove(f)
            except ValueError:
                pass  # dropped meanwhile (spool cap)

    def _spill(self, force: bool) -> None:
        """Move pending samples to the spool: when memory is full, someone waits for
        durability (``force`` False: only then), or the store is slow (``force``).
        Files of at most ``SPILL_CHUNK`` samples keep the replay's memory small."""
        with self._lock:
            if not (force or len(self._pending) > self.max_buffer or self._waiters):
                return
            spill = list(self._pending)
        for i in range(0, len(spill), SPILL_CHUNK):
            chunk = spill[i:i + SPILL_CHUNK]
            if not self._spool_batch(chunk):
                self._bound_memory()
                return
            with self._lock:
                for _ in range(len(chunk)):
                    self._pending.popleft()
            self.spilled += len(chunk)
            self._settle()

    def _bound_memory(self) -> None:
        """Neither the store nor the spool's disk takes samples: drop the oldest
        past twice ``max_buffer`` (counted) rather than grow without end."""
        with self._lock:
            excess = len(self._pending) - 2 * self.max_buffer
            for _ in range(max(excess, 0)):
                self._pending.popleft()
        if excess > 0:
            self._drop(excess, "the spool is unusable and memory is full")

    def _write_or_reject(self, batch: list[Sample]) -> None:
        try:
            self._write(batch)
        except StoreRejected as e:
            path = self.spool_dir / f"rejected-{time.time_ns():020d}.jsonl"
            self._write_file(batch, path)
            self.rejected += len(batch)
            self._errors.warning("store refused samples for good; the batch is set aside in %s: %s",
                                 path, e)

    def _write(self, batch: list[Sample]) -> None:
        if batch:
            self.store.write(batch)
            self.store.flush()
            self.written += len(batch)

    # -- spool files -----------------------------------------------------
    def _spool_batch(self, samples: list[Sample], keep_on_failure: bool = True) -> bool:
        """Spool ``samples`` as one new file within the cap; True once fsync'ed.

        Over the cap, the oldest files go first (then the oldest samples of
        this batch). A disk that refuses the write (full, quota, EIO) frees the
        oldest file and tries once more; then the samples stay in memory
        (``keep_on_failure``) and False is returned.
        """
        lines = [s.to_json() + "\n" for s in samples]
        size = sum(len(x.encode("utf-8")) for x in lines)
        if size > self.max_spool_bytes:
            keep, kept = [], 0
            for line in reversed(lines):  # newest first: the oldest are dropped
                n = len(line.encode("utf-8"))
                if kept + n > self.max_spool_bytes:
                    break
                keep.append(line)
                kept += n
            self._drop(len(lines) - len(keep), "a batch larger than the whole spool")
            lines, size = keep[::-1], kept
        if not lines:
            return True
        self._make_room(size)
        for attempt in range(2):
            try:
                f = self._write_file_lines(lines)
            except OSError as e:
                self.spool_error = errno.errorcode.get(e.errno or 0, type(e).__name__)
                self._errors.warning("spool write failed in %s: %s", self.spool_dir, self.spool_error)
                if attempt == 0 and self._drop_oldest_file("the spool's disk refused a write"):
                    continue
                if not keep_on_failure:
                    self._drop(len(lines), "the spool's disk refused the shutdown spool")
                return False
            with self._spool_lock:
                self._spool.append(f)
            return True
        return False

    def _make_room(self, size: int) -> None:
        """Drop the oldest files until ``size`` more bytes fit the cap. Files being
        replayed at that moment are not dropped (they may be landing in the store),
        so the cap can be passed by at most one store batch for that long."""
        while self.spool_bytes + size > self.max_spool_bytes:
            if not self._drop_oldest_file(f"the spool is over its cap of "
                                          f"{self.max_spool_bytes:,} bytes (spool.max_mb)"):
                break

    def _drop_oldest_file(self, why: str) -> bool:
        with self._spool_lock:
            f = next((x for x in self._spool if not x.replaying), None)
            if f is None:
                return False
            self._spool.remove(f)
        try:
            f.path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            with self._spool_lock:
                self._spool.appendleft(f)
            return False
        self._drop(f.samples, why)
        return True

    def _drop(self, n: int, why: str) -> None:
        if n <= 0:
            return
        self.dropped += n
        self.spool_full = True
        self._errors.log(logging.ERROR, "spool: dropped the %d oldest samples (%d in all): %s",
                         n, self.dropped, why)

    def _write_file(self, samples: list[Sample], path: Path) -> SpoolFile:
        return self._write_file_lines([s.to_json() + "\n" for s in samples], path)

    def _write_file_lines(self, lines: list[str], path: Optional[Path] = None) -> SpoolFile:
        """Write lines to a new file, fsync'ed with its directory entry."""
        if path is None:
            with self._spool_lock:
                self._seq += 1
                seq = self._seq
            path = self.spool_dir / f"spool-{time.time_ns():020d}-{seq:06d}.jsonl"
        tmp = path.with_suffix(".tmp")
        try:
            with open_private(tmp) as f:
                f.writelines(lines)
                f.flush()
                os.fsync(f.fileno())
            tmp.rename(path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        fd = os.open(self.spool_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return SpoolFile(path, len(lines), path.stat().st_size)

    def _scan_spool(self) -> list[SpoolFile]:
        """The spool left by an earlier run (counted once, at start)."""
        out = []
        for path in sorted(self.spool_dir.glob("spool-*.jsonl")):
            try:
                with open(path, "rb") as f:
                    n = sum(1 for line in f if line.strip())
                out.append(SpoolFile(path, n, path.stat().st_size))
            except OSError:
                continue
        for tmp in self.spool_dir.glob("spool-*.tmp"):
            tmp.unlink(missing_ok=True)  # never fsync'ed: no caller was told they were safe
        return out

    @staticmethod
    def _read_spool(path: Path) -> list[Sample]:
        out = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    out.append(Sample.from_json(line))
        return out
