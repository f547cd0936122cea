"""The AP status engine: observations in, up/down state, outages and events out.

Pure and synchronous: the runner feeds it ``ap_status`` Samples from every
collector through :meth:`StatusEngine.observe` from one place, and calls
:meth:`tick` periodically and :meth:`stop` at shutdown. All times are the
*observation* times carried by the Samples, never the wall clock, so a run of
observations replayed later gives the same outages.

Rules (docs/status.md explains why):

* Each *source* of an AP (``snmp``, ``mqtt``) has its own verdict. SNMP
  failures count: the source is down after ``collector.down_after``
  consecutive failures. ``lwt_offline``, ``stale`` and
  ``controller_reports_down`` put the source down at once.
* A source that has not been heard from for ``collector.max_gap_s`` no longer
  votes (it stopped monitoring the AP), and a failure run interrupted by such
  a gap starts again from zero.
* The AP is **down** when no voting source says up and at least one says down;
  it is **up** again on the first good observation from any source.
* The outage starts at the first failed observation of the run that led to
  it (the latest such start over the sources, and never before a good
  observation from another source); it ends at the first good observation.
* Observations older than the last accepted one from the same source are
  ignored and counted (SNMP poll times and MQTT device clocks interleave).
* *Coverage* (what availability calls monitored): each AP's observations,
  and the MQTT collector's repeated staleness judgments, form stretches of
  observed time; a gap longer than ``collector.max_gap_s`` ends a stretch at
  its last observation, and so does an ``ap_status`` failure of the AP's
  controller (the AP is ``unknown`` until it is seen again). Silence is never
  counted as uptime.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional

from sqlalchemy.exc import SQLAlchemyError

from ..config.models import Config
from ..sample import Sample, utc
from .statestore import StateStore

log = logging.getLogger(__name__)

IMMEDIATE_REASONS = frozenset({"lwt_offline", "stale", "controller_reports_down"})
REASONS = frozenset({"snmp_timeout", "snmp_error", "snmp_auth"}) | IMMEDIATE_REASONS
UP, DOWN, UNKNOWN = "up", "down", "unknown"
CONTROLLER_UNREACHABLE = "controller_unreachable"


def round_seconds(delta: timedelta) -> int:
    """Whole seconds, rounded to the nearest second with halves up (``down_s``)."""
    us = to_us_delta(delta)
    return (us + 500_000) // 1_000_000


def to_us_delta(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _iso(t: Optional[datetime]) -> Optional[str]:
    return None if t is None else utc(t).isoformat()


def _dt(s: Optional[str]) -> Optional[datetime]:
    return None if s is None else utc(datetime.fromisoformat(s))


@dataclass
class SourceTrack:
    """One source's view of one AP."""

    last_seen: datetime
    ok: bool = True
    failures: int = 0  # consecutive failed observations
    bad_since: Optional[datetime] = None  # first failed observation of the current run
    down: bool = False  # threshold reached (or an immediate reason)
    reason: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return {"last_seen": _iso(self.last_seen), "ok": self.ok, "failures": self.failures,
                "bad_since": _iso(self.bad_since), "down": self.down, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SourceTrack":
        return cls(_dt(d["last_seen"]), bool(d.get("ok")), int(d.get("failures") or 0),
                   _dt(d.get("bad_since")), bool(d.get("down")), d.get("reason"))


@dataclass
class ApTrack:
    """Everything the engine knows about one AP (persisted as one ap_state row)."""

    ap: str
    site: str
    state: str = UNKNOWN
    since: Optional[datetime] = None
    reason: Optional[str] = None
    first_seen: Optional[datetime] = None
    last_seen: Optional[datetime] = None
    last_ok: Optional[datetime] = None
    first_bad_after_ok: Optional[datetime] = None
    flapping: bool = False
    flap_times: list[datetime] = field(default_factory=list)
    sources: dict[str, SourceTrack] = field(default_factory=dict)
    open_outage_id: Optional[int] = None
    covered_since: Optional[datetime] = None  # the observed stretch still going on
    covered_until: Optional[datetime] = None
    blind: Optional[str] = None  # why the AP cannot be seen now (its controller is unreachable)

    def to_row(self) -> dict[str, Any]:
        worst = max(self.sources.values(), key=lambda s: s.failures, default=None)
        return {
            "ap": self.ap, "site": self.site, "state": self.state, "since": self.since,
            "reason": self.reason, "first_seen": self.first_seen, "last_seen": self.last_seen,
            "last_ok": self.last_ok,
            "consecutive_failures": worst.failures if worst else 0,
            "first_failure_at": worst.bad_since if worst else None,
            "flapping": self.flapping,
            "flap_times": [_iso(t) for t in self.flap_times],
            "sources": {**{k: s.to_dict() for k, s in self.sources.items()},
                        "_first_bad_after_ok": _iso(self.first_bad_after_ok)},
            "open_outage_id": self.open_outage_id,
            "covered_since": self.covered_since, "covered_until": self.covered_until,
            "blind_reason": self.blind,
        }

    @classmethod
    def from_row(cls, r: dict[str, Any], site: str) -> "ApTrack":
        src = dict(r.get("sources") or {})
        fbao = src.pop("_first_bad_after_ok", None)
        return cls(
            ap=r["ap"], site=site, state=r.get("state") or UNKNOWN, since=r.get("since"),
            reason=r.get("reason"), first_seen=r.get("first_seen"), last_seen=r.get("last_seen"),
            last_ok=r.get("last_ok"), first_bad_after_ok=_dt(fbao),
            flapping=bool(r.get("flapping")),
            flap_times=[_dt(t) for t in r.get("flap_times") or []],
            sources={k: SourceTrack.from_dict(v) for k, v in src.items()},
            open_outage_id=r.get("open_outage_id"),
            covered_since=r.get("covered_since"), covered_until=r.get("covered_until"),
            blind=r.get("blind_reason"),
        )


@dataclass(eq=False)
class PendingTransition:
    """A transition applied in memory whose store write is waiting (see ``_commit``)."""

    ap: str
    row: dict[str, Any]  # the AP's state row as of this transition
    open_: Optional[dict[str, Any]]
    close: Optional[tuple[Optional[int], datetime]]
    closes: Optional["PendingTransition"] = None  # closes the outage this entry opened
    outage_id: Optional[int] = None  # set once an opening entry is stored
    delayed: bool = False  # a store write of it failed at least once


@dataclass
class ControllerTrack:
    """A controller's own reachability: down after ``down_after`` failed polls,
    from the first of them (for ``controller_down`` alerts)."""

    up: Optional[bool] = None  # None until decided
    since: Optional[datetime] = None
    failures: int = 0
    bad_since: Optional[datetime] = None


@dataclass(frozen=True, slots=True)
class ApRow:
    site: str
    ap: str
    state: str
    since: Optional[datetime]
    last_seen: Optional[datetime]
    flapping: bool
    reason: Optional[str]


@dataclass(frozen=True, slots=True)
class SiteRow:
    site: str
    state: str  # up | degraded | down | unknown
    aps: int
    up: int
    down: int
    unknown: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    aps: list[ApRow]
    sites: list[SiteRow]


def site_state(states: Iterable[str]) -> str:
    """``unknown`` with no monitored AP, ``down`` if all monitored APs are down,
    ``degraded`` if some are, else ``up``. APs never seen do not count."""
    known = [s for s in states if s != UNKNOWN]
    if not known:
        return UNKNOWN
    downs = sum(1 for s in known if s == DOWN)
    if downs == len(known):
        return DOWN
    return "degraded" if downs else UP


class StatusEngine:
    """Up/down state machine for every AP of the inventory.

    With a ``store`` the state is loaded at construction, every transition is
    written at once (outage row + AP state in one transaction) and the rest
    (``last_seen``...) on :meth:`save`, :meth:`tick` and :meth:`stop`.
    """

    def __init__(self, cfg: Config, store: Optional[StateStore] = None):
        self.cfg = cfg
        self.store = store
        c = cfg.collector
        self.down_after = c.down_after
        self.max_gap = timedelta(seconds=c.max_gap_s)
        self.flap_transitions = c.flap_transitions
        self.flap_clear = c.flap_transitions // 2
        self.flap_window = timedelta(seconds=c.flap_window_s)
        self.stats: Counter[str] = Counter()
        self._site_of = {a.id: a.site for a in cfg.aps}
        self._aps: dict[str, ApTrack] = {a.id: ApTrack(a.id, a.site) for a in cfg.aps}
        # APs seen only through a controller: blind while it cannot be polled
        self._controller_aps = {c.id: [a.id for a in cfg.aps if a.controller == c.id and not a.host]
                                for c in cfg.controllers}
        self._closed: dict[str, list[dict[str, Any]]] = {}  # finished stretches not yet stored
        self._controllers: dict[str, ControllerTrack] = {}  # polled controllers (kept in memory)
        self._dirty: set[str] = set()
        self._session: Optional[int] = None
        self._journal: list[PendingTransition] = []  # transitions waiting for the state store
        self._opening: dict[str, PendingTransition] = {}  # ap -> its open outage's unsaved entry
        self._resumed = False  # a shard's stretches were ended at start
        if store is not None:
            self._load()

    # -- lifecycle ----------------------------------------------------------
    def _load(self) -> None:
        assert self.store is not None
        for r in self.store.load_ap_states():
            site = self._site_of.get(r["ap"])
            if site is None:
                continue  # no longer in the inventory: its row is kept, not tracked
            tr = ApTrack.from_row(r, site)
            if tr.site != r.get("site"):
                self._dirty.add(tr.ap)
            self._aps[tr.ap] = tr
        self.stats["loaded"] = len(self._aps)

    @property
    def shard(self) -> Optional[str]:
        """``i/n`` when this engine is one shard of several (its config lists only its APs)."""
        s = self.cfg.collector.shard
        return s if s and not s.endswith("/1") else None

    def start(self, now: datetime) -> None:
        """Begin a monitoring session (time before it is *unmonitored*).

        A shard's session does not cover its own downtime (other shards'
        sessions went on meanwhile), so a starting shard ends its APs' observed
        stretches at their last observation: the gap is unmonitored, as it is
        for a single process by the session gap."""
        if self.shard is not None and not self._resumed:
            self._resumed = True
            for tr in self._aps.values():
                if tr.covered_since is not None:
                    self._close_coverage(tr)
        if self.store is not None and self._session is None:
            try:
                self._session = self.store.start_session(now, shard=self.shard)
            except SQLAlchemyError as e:
                self._count("store_errors", f"state store failed to start a session: "
                            f"{type(e).__name__}")

    def tick(self, now: datetime,
             stale: Iterable[tuple[str, datetime]] = ()) -> list[Sample]:
        """Periodic housekeeping: age flap windows, save state, mark the session alive.

        ``stale`` is ``(ap, since)`` pairs from the MQTT collector (see :meth:`mark_stale`),
        judged at ``now``.
        """
        now = utc(now)
        events: list[Sample] = []
        for ap, since in stale:
            events += self.mark_stale(ap, since, now)
        for tr in self._aps.values():
            if tr.flap_times and self._update_flapping(tr, now):
                self._dirty.add(tr.ap)
        if self.store is not None and self._journal:
            self.flush_transitions()
        self.save()
        if self.store is not None and self._session is not None:
            try:
                self.store.touch_session(self._session, now)
            except SQLAlchemyError as e:
                self._count("store_errors", f"state store failed: {type(e).__name__}")
        return events

    def save(self) -> bool:
        """Write the AP states that changed since the last save (kept for retry on failure)."""
        if self.store is None or not (self._dirty or self._closed):
            self._dirty.clear()
            self._closed.clear()
            return True
        # an AP with a transition still in the journal is saved by that transition:
        # its state row must never get ahead of its outage row
        waiting = {e.ap for e in self._journal}
        dirty = sorted(a for a in self._dirty if a not in waiting)
        closed = sorted(a for a in self._closed if a not in waiting)
        try:
            self.store.save_ap_states((self._aps[a].to_row() for a in dirty),
                                      coverage=[x for a in closed for x in self._closed[a]])
        except SQLAlchemyError as e:
            self._count("store_errors", f"state store failed to save AP states: "
                        f"{type(e).__name__}")
            return False
        self._dirty -= set(dirty)
        for a in closed:
            self._closed.pop(a, None)
        return True

    def stop(self, now: datetime) -> None:
        """Save everything and close the session; open outages stay open."""
        if self.store is not None and self._journal and not self.flush_transitions():
            log.error("state store unusable at shutdown: %d transition(s) not stored",
                      len(self._journal))
        self.save()
        if self.store is not None and self._session is not None:
            try:
                self.store.stop_session(self._session, utc(now))
            except SQLAlchemyError as e:
                self._count("store_errors", f"state store failed to stop the session: "
                            f"{type(e).__name__}")
            self._session = None

    # -- input ----------------------------------------------------------------
    def mark_stale(self, ap: str, at: datetime, now: Optional[datetime] = None) -> list[Sample]:
        """The MQTT collector saw no heartbeat for too long: source mqtt is down from ``at``.

        A judgment, not an observation, so it may be repeated every tick: once
        the mqtt source is down it changes no state, and an ``at`` older than the
        AP's last observation (SNMP polls went on) is taken at that
        observation's time instead of being discarded as out of order.
        ``now`` (default ``at``) is when the judgment was made: the collector
        was listening until then, so the AP counts as observed (down) until
        ``now``. The collector judges only while it is connected.
        """
        at = utc(at)
        now = at if now is None else utc(now)
        silent_since, t = at, at
        tr = self._aps.get(ap)
        if tr is not None:
            src = tr.sources.get("mqtt")
            if src is not None and src.down:
                self._cover(tr, now)  # listened for and silent: still observed, still down
                tr.blind = None
                return []
            if tr.last_seen is not None and at < tr.last_seen:
                t = tr.last_seen
        site = self._site_of.get(ap, "")
        events = self._observe(Sample("ap_status", {"site": site, "ap": ap, "source": "mqtt"},
                                      {"up": 0, "reason": "stale"}, t), silent_since)
        if tr is not None:
            self._cover(tr, now)
        return events

    def observe(self, sample: Sample) -> list[Sample]:
        """Feed one ``ap_status`` Sample; returns the ``ap_event`` Samples it caused."""
        return self._observe(sample, None)

    def _observe(self, sample: Sample, bad_since: Optional[datetime]) -> list[Sample]:
        parsed = self._parse(sample)
        if parsed is None:
            return []
        tr, source, ok, reason, t = parsed
        # Order is per source: SNMP poll times and MQTT device clocks interleave,
        # so only a source's own older reading is out of order.
        src = tr.sources.get(source)
        if src is not None and t < src.last_seen:
            self._count("out_of_order", f"ignored an observation of {tr.ap} older than the last "
                        f"one from {source}")
            return []
        if self.store is not None and self._session is None:
            self.start(t)
        self.stats["observed"] += 1
        self._cover(tr, t)
        tr.blind = None
        if tr.first_seen is None or t < tr.first_seen:
            tr.first_seen = t
        if tr.last_seen is None or t > tr.last_seen:
            tr.last_seen = t
        self._dirty.add(tr.ap)
        self._update_source(tr, source, ok, reason, t, bad_since)
        if ok:
            tr.last_ok = t
            tr.first_bad_after_ok = None
        elif tr.first_bad_after_ok is None:
            tr.first_bad_after_ok = t
        events = self._evaluate(tr, source, ok, reason, t)
        if self._update_flapping(tr, t):
            self._dirty.add(tr.ap)
        return events

    def observe_many(self, samples: Iterable[Sample]) -> list[Sample]:
        out: list[Sample] = []
        for s in samples:
            out.extend(self.observe(s))
        return out

    def _parse(self, s: Any) -> Optional[tuple[ApTrack, str, bool, str, datetime]]:
        try:
            if s.measurement != "ap_status":
                return None  # other measurements are not status input
            ap = s.tags["ap"]
            up = s.fields["up"]
            if isinstance(up, str) or up not in (0, 1):
                raise ValueError("up must be 0 or 1")
            t = utc(s.time)
        except (AttributeError, KeyError, TypeError, ValueError):
            self._count("invalid", "ignored an ap_status sample without a valid ap/up")
            return None
        tr = self._aps.get(ap)
        if tr is None:
            if ap in self._controller_aps:
                self._observe_controller(ap, bool(up), t)
                return None
            self._count("unknown_ap", "ignored an ap_status sample for an AP not in the inventory")
            return None
        source = str(s.tags.get("source") or "snmp")
        reason = "" if up else str(s.fields.get("reason") or "unknown")
        return tr, source, bool(up), reason, t

    def _count(self, what: str, msg: str) -> None:
        self.stats[what] += 1
        n = self.stats[what]
        if n & (n - 1) == 0:  # 1, 2, 4, 8...: rate-limited logging
            log.warning("%s (%d so far)", msg, n)

    # -- coverage: what was actually observed -----------------------------------
    def _cover(self, tr: ApTrack, t: datetime) -> None:
        """Extend the AP's observed stretch to ``t``, or start a new one after a gap."""
        if tr.covered_since is None or tr.covered_until is None:
            tr.covered_since = tr.covered_until = t
        elif t - tr.covered_until > self.max_gap:
            self._close_coverage(tr)
            tr.covered_since = tr.covered_until = t
        elif t > tr.covered_until:
            tr.covered_until = t
        elif t < tr.covered_since and tr.covered_since - t <= self.max_gap:
            tr.covered_since = t  # another source's clock a little behind
        else:
            return
        self._dirty.add(tr.ap)

    def _close_coverage(self, tr: ApTrack) -> None:
        """End the observed stretch at its last observation (stored by the next save)."""
        if tr.covered_since is not None and tr.covered_until is not None \
                and tr.covered_until > tr.covered_since:
            self._closed.setdefault(tr.ap, []).append(
                {"ap": tr.ap, "start": tr.covered_since, "end": tr.covered_until})
        if tr.covered_since is not None:
            self._dirty.add(tr.ap)
        tr.covered_since = tr.covered_until = None

    def _observe_controller(self, controller: str, ok: bool, t: datetime) -> None:
        """A controller that cannot be polled leaves its APs unseen: not up, not
        down, but unmonitored from their last observation until they are seen again."""
        self.stats["controller_observed"] += 1
        st = self._controllers.setdefault(controller, ControllerTrack())
        if ok:
            if st.up is not True:
                st.up, st.since = True, t
            st.failures, st.bad_since = 0, None
            return
        st.failures += 1
        if st.bad_since is None:
            st.bad_since = t
        if st.up is not False and st.failures >= self.down_after:
            st.up, st.since = False, st.bad_since
        self.stats["controller_unreachable"] += 1
        for ap in self._controller_aps[controller]:
            tr = self._aps[ap]
            self._close_coverage(tr)
            if tr.blind != CONTROLLER_UNREACHABLE:
                tr.blind = CONTROLLER_UNREACHABLE
                self._dirty.add(ap)

    # -- the state machine ---------------------------------------------------
    def _update_source(self, tr: ApTrack, source: str, ok: bool, reason: str, t: datetime,
                       bad_since: Optional[datetime] = None) -> None:
        src = tr.sources.get(source)
        if src is None or t - src.last_seen > self.max_gap:
            src = SourceTrack(last_seen=t)  # new, or a gap broke the run
            tr.sources[source] = src
        src.last_seen = t
        if ok:
            src.ok, src.failures, src.bad_since, src.down, src.reason = True, 0, None, False, None
            return
        if src.failures == 0:
            # a staleness judgment knows the source went quiet earlier than ``t``
            src.bad_since = min(t, bad_since) if bad_since is not None else t
        src.ok = False
        src.failures += 1
        src.reason = reason
        if reason in IMMEDIATE_REASONS or src.failures >= self.down_after:
            src.down = True

    def _evaluate(self, tr: ApTrack, source: str, ok: bool, reason: str,
                  t: datetime) -> list[Sample]:
        voting = [s for s in tr.sources.values() if t - s.last_seen <= self.max_gap]
        if any(s.ok for s in voting):
            return self._to_up(tr, source, t) if tr.state != UP else []
        if tr.state != DOWN and any(s.down for s in voting):
            starts = [s.bad_since for s in voting if s.bad_since is not None]
            if tr.first_bad_after_ok is not None:
                starts.append(tr.first_bad_after_ok)
            return self._to_down(tr, source, reason, max(starts))
        return []

    def _to_up(self, tr: ApTrack, source: str, t: datetime) -> list[Sample]:
        was, closing, down_since = tr.state, tr.open_outage_id, tr.since
        if down_since is not None and t < down_since:
            # a good sign stamped before the outage began (another source's
            # clock a little behind): the outage ends when it began, never before
            t = down_since
        if was == UNKNOWN:
            tr.state, tr.since, tr.reason = UP, t, None  # first sight: no event
            return []
        if not self._commit(tr, UP, t, None, tr.flap_times + [t],
                            close=(closing, t) if closing is not None or tr.ap in self._opening
                            else None):
            return []
        self.stats["recoveries"] += 1
        fields: dict[str, Any] = {"state": UP, "reason": "recovered"}
        if down_since is not None:
            fields["down_s"] = round_seconds(t - down_since)
        return [Sample("ap_event", {"site": tr.site, "ap": tr.ap}, fields, t)]

    def _to_down(self, tr: ApTrack, source: str, reason: str, start: datetime) -> list[Sample]:
        flaps = tr.flap_times + [start] if tr.state == UP else tr.flap_times
        opening = {"ap": tr.ap, "site": tr.site, "start": start, "reason": reason,
                   "source": source}
        if not self._commit(tr, DOWN, start, reason, flaps, open_=opening):
            return []
        self.stats["outages"] += 1
        return [Sample("ap_event", {"site": tr.site, "ap": tr.ap},
                       {"state": DOWN, "reason": reason}, start)]

    def _commit(self, tr: ApTrack, state: str, since: datetime, reason: Optional[str],
                flap_times: list[datetime], *, open_: Optional[dict[str, Any]] = None,
                close: Optional[tuple[Optional[int], datetime]] = None) -> bool:
        """Apply a transition and store it (outage row + AP state, one transaction).

        The transition is applied in memory at once, and its store write goes
        through an ordered journal: if the state store fails (SQLite locked by
        another process, PostgreSQL restarting), the write waits in the journal
        and is retried, in order and with its original times, by every
        :meth:`tick`; nothing is half-written and no
        transition is lost while the process lives (``unsaved_transitions``).
        """
        tr.state, tr.since, tr.reason, tr.flap_times = state, since, reason, flap_times
        closes = None
        if close is not None and close[0] is None:
            closes = self._opening.get(tr.ap)  # the outage's own row is still in the journal
        if open_ is None:
            tr.open_outage_id = None
        self._opening.pop(tr.ap, None)
        if self.store is None:
            return True
        entry = PendingTransition(tr.ap, tr.to_row(), open_, close, closes)
        if open_ is not None:
            self._opening[tr.ap] = entry
        entry.delayed = bool(self._journal)
        self._journal.append(entry)
        if len(self._journal) == 1:
            # else the store is failing: tick() retries (each try of a locked
            # SQLite file waits out its busy timeout; one try per tick is enough)
            self.flush_transitions()
        return True

    @property
    def unsaved_transitions(self) -> int:
        """Transitions applied in memory whose store write is still to be retried."""
        return len(self._journal)

    def flush_transitions(self) -> bool:
        """Store journaled transitions, oldest first; stop at the first failure."""
        assert self.store is not None
        while self._journal:
            e = self._journal[0]
            tr = self._aps[e.ap]
            close = e.close
            if e.closes is not None:
                if e.closes.outage_id is None:
                    close = None  # cannot happen in order; never close a wrong row
                else:
                    close = (e.closes.outage_id, e.close[1])  # type: ignore[index]
            try:
                new_id = self.store.transition(e.row, open_outage=e.open_, close_outage=close,
                                               coverage=self._closed.get(tr.ap, []))
            except SQLAlchemyError as err:
                for waiting in self._journal:
                    waiting.delayed = True
                self._count("store_errors", f"state store failed; {len(self._journal)} transition(s) "
                            f"kept in memory and retried: {type(err).__name__}")
                return False
            self._closed.pop(tr.ap, None)
            self._journal.pop(0)
            if e.open_ is not None:
                e.outage_id = new_id
                if self._opening.get(tr.ap) is e:
                    tr.open_outage_id = new_id
                    self._opening.pop(tr.ap, None)
                    self._dirty.add(tr.ap)
            if e.delayed:
                self.stats["transitions_delayed"] += 1  # stored late, with their own times
        return True

    def _update_flapping(self, tr: ApTrack, now: datetime) -> bool:
        """Prune the flap window; set above ``flap_transitions``, clear at half. Changed?"""
        cutoff = now - self.flap_window
        before = (len(tr.flap_times), tr.flapping)
        tr.flap_times = [x for x in tr.flap_times if x > cutoff]
        n = len(tr.flap_times)
        if n > self.flap_transitions:
            tr.flapping = True
        elif n <= self.flap_clear:
            tr.flapping = False
        return (n, tr.flapping) != before

    # -- output ---------------------------------------------------------------
    def ap(self, ap_id: str) -> ApTrack:
        return self._aps[ap_id]

    def aps(self) -> list[ApTrack]:
        """Every tracked AP of the inventory (the alert rules read them)."""
        return list(self._aps.values())

    def controller(self, controller_id: str) -> ControllerTrack:
        """What the engine knows about a controller's reachability (undecided if never polled)."""
        return self._controllers.get(controller_id, ControllerTrack())

    def snapshot(self) -> Snapshot:
        """Per-AP and per-site rows for the ``status`` command and the dashboard."""
        aps = [ApRow(tr.site, tr.ap, UNKNOWN if tr.blind else tr.state, tr.since, tr.last_seen,
                     tr.flapping, tr.blind or (tr.reason if tr.state == DOWN else None))
               for tr in sorted(self._aps.values(), key=lambda x: (x.site, x.ap))]
        sites = []
        for s in self.cfg.sites:
            states = [r.state for r in aps if r.site == s.id]
            sites.append(SiteRow(s.id, site_state(states), len(states),
                                 states.count(UP), states.count(DOWN), states.count(UNKNOWN)))
        return Snapshot(aps, sites)
