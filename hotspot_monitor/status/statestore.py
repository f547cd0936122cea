"""The state store: outage log, per-AP state and monitoring sessions.

Plain SQLAlchemy 2.x (Core + ORM mapping) so that the same code runs on SQLite
(embedded default, WAL mode) and PostgreSQL. We store the *state* and the
*changes* (healthchecks' shape): ``ap_state`` is one row per AP (what the engine
needs to resume after a restart), ``outages`` is one row per outage (the log
availability is derived from), ``monitor_sessions`` is one row per run of the
service, so that time while the service was not running can be told apart
from time when an AP was up, and ``coverage`` is one row per finished stretch
of time in which an AP was actually observed (the stretch still going on lives
in ``ap_state.covered_since``/``covered_until``), so that silence is never
taken for uptime.

Schema changes are versioned steps (``migrations.py``): an older database is
upgraded when opened, a newer one refused, none ever reset.

Times are stored as naive UTC ``DateTime`` (microsecond resolution on both
backends) and handed out as aware UTC datetimes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    create_engine,
    event,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from ..fileperm import private_dir, private_file
from . import migrations
from ..sample import utc


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, naive UTC in the DB."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        return utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if isinstance(value, str):  # defensive: raw text from another writer
            value = datetime.fromisoformat(value)
        return utc(value)


class Base(DeclarativeBase):
    pass


class OutageRow(Base):
    """One outage of one AP: ``end`` is NULL while it is still open."""

    __tablename__ = "outages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ap: Mapped[str] = mapped_column(String(255), index=True)
    site: Mapped[str] = mapped_column(String(255), index=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    end: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True, index=True)
    duration_s: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    # the data ended while the AP was still down (an import): ``end`` is the
    # last observation, not a recovery; a later import may extend it
    truncated: Mapped[Optional[bool]] = mapped_column(Boolean, nullable=True, default=False)


class ApStateRow(Base):
    """What the engine needs to resume an AP after a restart."""

    __tablename__ = "ap_state"

    ap: Mapped[str] = mapped_column(String(255), primary_key=True)
    site: Mapped[str] = mapped_column(String(255), index=True)
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    reason: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    first_seen: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    last_seen: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    last_ok: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    flap_times: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of ISO times
    sources: Mapped[str] = mapped_column(Text, default="{}")  # JSON: per-source verdicts
    open_outage_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    # the stretch of observed time still going on (see CoverageRow)
    covered_since: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    covered_until: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    # why the AP cannot be seen now (``controller_unreachable``), else NULL
    blind_reason: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)


class CoverageRow(Base):
    """A finished stretch ``[start, end]`` in which the AP was observed, with no
    gap between observations longer than ``collector.max_gap_s``."""

    __tablename__ = "coverage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ap: Mapped[str] = mapped_column(String(255), index=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    end: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class SessionRow(Base):
    """One run of the service: ``[started, last_alive]`` was monitored."""

    __tablename__ = "monitor_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_alive: Mapped[datetime] = mapped_column(UtcDateTime)
    stopped: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    # ``i/n`` for one shard of several (docs/scaling.md), NULL for a single process:
    # a starting shard closes only its own earlier sessions, never a running peer's
    shard: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)


@dataclass(frozen=True, slots=True)
class Outage:
    """An outage as read back from the log (``end``/``duration_s`` None while open)."""

    id: int
    ap: str
    site: str
    start: datetime
    end: Optional[datetime]
    duration_s: Optional[float]
    reason: str
    source: str
    truncated: bool = False  # still down when the (imported) data ended


def _outage(r: Any) -> Outage:
    d = dict(r)
    d["truncated"] = bool(d.get("truncated"))
    return Outage(**d)


@dataclass(frozen=True, slots=True)
class CoverageSpan:
    """A stretch of time in which an AP was observed (``open``: still growing)."""

    ap: str
    start: datetime
    end: datetime
    open: bool = False


@dataclass(frozen=True, slots=True)
class HistoryMerge:
    """What :meth:`StateStore.merge_history` added, extended and found already there."""

    sessions_added: int = 0
    coverage_added: int = 0
    outages_added: int = 0
    outages_extended: int = 0
    outages_known: int = 0


@dataclass(frozen=True, slots=True)
class MonitorSession:
    id: int
    started: datetime
    last_alive: datetime
    stopped: Optional[datetime]
    shard: Optional[str] = None

    @property
    def covered_until(self) -> datetime:
        """The last instant this run is known to have been monitoring."""
        return self.stopped if self.stopped is not None else self.last_alive


AP_STATE_COLUMNS = tuple(c.name for c in ApStateRow.__table__.columns)


def _ap_row(s: dict[str, Any]) -> dict[str, Any]:
    d = {k: s.get(k) for k in AP_STATE_COLUMNS}
    d["flap_times"] = json.dumps(list(s.get("flap_times") or []))
    d["sources"] = json.dumps(s.get("sources") or {}, sort_keys=True)
    d["consecutive_failures"] = int(d.get("consecutive_failures") or 0)
    d["flapping"] = bool(d.get("flapping"))
    return d


def _insert_coverage(c: Any, spans: Iterable[dict[str, Any]]) -> None:
    rows = [{"ap": x["ap"], "start": x["start"], "end": x["end"]} for x in spans
            if x["end"] > x["start"]]
    if rows:
        c.execute(insert(CoverageRow.__table__), rows)


def _upsert_ap_states(c: Any, rows: list[dict[str, Any]]) -> None:
    t = ApStateRow.__table__
    keys = [r["ap"] for r in rows]
    known: set[str] = set()
    for i in range(0, len(keys), 500):
        known.update(c.execute(select(t.c.ap).where(t.c.ap.in_(keys[i:i + 500]))).scalars())
    new = [r for r in rows if r["ap"] not in known]
    if new:
        c.execute(insert(t), new)
    old = [{"b_" + k: v for k, v in r.items()} for r in rows if r["ap"] in known]
    if old:
        # One executemany: much faster than a statement per row on every backend.
        stmt = (update(t).where(t.c.ap == bindparam("b_ap"))
                .values({k: bindparam("b_" + k) for k in AP_STATE_COLUMNS if k != "ap"}))
        c.execute(stmt, old)


def resolve_url(url: str, base_dir: Optional[Path] = None) -> str:
    """Resolve a relative SQLite path against ``base_dir`` (other URLs unchanged)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return url
    p = Path(u.database)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    private_dir(p.parent)
    private_file(p)
    return u.set(database=str(p)).render_as_string(hide_password=False)


def _sqlite_pragmas(busy_timeout_s: float) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # another process holding the file locked longer than this: the engine's
        # write fails and is retried from its journal (status/engine.py)
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.close()
    return on_connect


class StateStore:
    """Repository over the state tables; every method is one short transaction."""

    def __init__(self, url: str, *, base_dir: Optional[Path] = None, echo: bool = False,
                 busy_timeout_s: float = 10.0):
        self.url = resolve_url(url, base_dir)
        # pre-ping: a server that restarted (PostgreSQL) leaves dead pooled connections
        self.engine: Engine = create_engine(self.url, echo=echo, future=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas(busy_timeout_s))
        existed = inspect(self.engine).has_table(OutageRow.__tablename__)
        Base.metadata.create_all(self.engine)
        # an older state DB is upgraded step by step, a newer one refused: never reset
        self.schema_found, self.schema_version = migrations.upgrade(self.engine, Base.metadata, existed)

    @property
    def display_url(self) -> str:
        """The URL with any password masked: the only form fit for logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"StateStore({self.display_url!r})"

    @classmethod
    def from_config(cls, cfg: Any, base_dir: Optional[Path] = None) -> "StateStore":
        """Open ``cfg.state.url``; relative SQLite paths are taken from ``base_dir``."""
        return cls(cfg.state.url, base_dir=base_dir)

    def close(self) -> None:
        self.engine.dispose()

    # -- ap_state ---------------------------------------------------------
    def load_ap_states(self) -> list[dict[str, Any]]:
        """Every saved AP state as a dict (JSON columns decoded)."""
        with self.engine.connect() as c:
            rows = c.execute(select(ApStateRow.__table__)).mappings().all()
        out = []
        for r in rows:
            d = dict(r)
            d["flap_times"] = json.loads(d.get("flap_times") or "[]")
            d["sources"] = json.loads(d.get("sources") or "{}")
            out.append(d)
        return out

    def save_ap_states(self, states: Iterable[dict[str, Any]],
                       coverage: Iterable[dict[str, Any]] = ()) -> int:
        """Upsert AP states (portable: UPDATE known keys, INSERT the rest).

        ``coverage`` (ap/start/end dicts) are the stretches the engine closed
        since the last save; they go in the same transaction as the states whose
        ``covered_since`` moved on, so a crash never loses a stretch."""
        rows = [_ap_row(s) for s in states]
        spans = list(coverage)
        if rows or spans:
            with self.engine.begin() as c:
                if rows:
                    _upsert_ap_states(c, rows)
                _insert_coverage(c, spans)
        return len(rows)

    def transition(self, state: dict[str, Any], *, open_outage: Optional[dict[str, Any]] = None,
                   close_outage: Optional[tuple[int, datetime]] = None,
                   coverage: Iterable[dict[str, Any]] = ()) -> Optional[int]:
        """Record one AP state change atomically: the outage row and the AP state.

        ``open_outage`` holds ap/site/start/reason/source; its new id is stored
        in ``state['open_outage_id']`` and returned. ``close_outage`` is
        ``(id, end)``. ``coverage``: stretches of this AP closed since the last
        save. One transaction, so a crash never leaves an outage the AP state
        does not know about.
        """
        t = OutageRow.__table__
        new_id: Optional[int] = None
        with self.engine.begin() as c:
            _insert_coverage(c, coverage)
            if close_outage is not None:
                oid, end = close_outage
                start = c.execute(select(t.c.start).where(t.c.id == oid)).scalar()
                if start is not None:
                    c.execute(update(t).where(and_(t.c.id == oid, t.c.end.is_(None)))
                              .values(end=end, duration_s=(utc(end) - start).total_seconds()))
            if open_outage is not None:
                res = c.execute(insert(t).values(end=None, duration_s=None, **open_outage))
                new_id = int(res.inserted_primary_key[0])
                state = dict(state, open_outage_id=new_id)
            _upsert_ap_states(c, [_ap_row(state)])
        return new_id

    # -- outages -----------------------------------------------------------
    def open_outage(self, *, ap: str, site: str, start: datetime, reason: str, source: str) -> int:
        t = OutageRow.__table__
        with self.engine.begin() as c:
            res = c.execute(insert(t).values(ap=ap, site=site, start=start, end=None,
                                              duration_s=None, reason=reason, source=source))
            return int(res.inserted_primary_key[0])

    def close_outage(self, outage_id: int, end: datetime) -> Optional[Outage]:
        """Close an open outage; a no-op (returns None) if it is already closed."""
        t = OutageRow.__table__
        with self.engine.begin() as c:
            row = c.execute(select(t).where(t.c.id == outage_id)).mappings().first()
            if row is None or row["end"] is not None:
                return None
            duration = (utc(end) - row["start"]).total_seconds()
            # Conditional UPDATE: a second closer (another worker) changes nothing.
            c.execute(update(t).where(and_(t.c.id == outage_id, t.c.end.is_(None)))
                      .values(end=end, duration_s=duration))
            return _outage(dict(row, end=utc(end), duration_s=duration))

    def add_outage(self, *, ap: str, site: str, start: datetime, end: Optional[datetime],
                   reason: str, source: str) -> int:
        """Insert a finished (or open) outage directly: imports and tests."""
        oid = self.open_outage(ap=ap, site=site, start=start, reason=reason, source=source)
        if end is not None:
            self.close_outage(oid, end)
        return oid

    def outages(self, *, start: Optional[datetime] = None, end: Optional[datetime] = None,
                aps: Optional[Sequence[str]] = None, site: Optional[str] = None,
                open_only: bool = False) -> list[Outage]:
        """Outages overlapping ``[start, end)``, oldest first."""
        t = OutageRow.__table__
        q = select(t)
        if end is not None:
            q = q.where(t.c.start < end)
        if start is not None:
            q = q.where(or_(t.c.end.is_(None), t.c.end > start))
        if aps is not None:
            q = q.where(t.c.ap.in_(list(aps)))
        if site is not None:
            q = q.where(t.c.site == site)
        if open_only:
            q = q.where(t.c.end.is_(None))
        q = q.order_by(t.c.start, t.c.id)
        with self.engine.connect() as c:
            return [_outage(r) for r in c.execute(q).mappings()]

    # -- monitoring sessions -------------------------------------------------
    def start_session(self, at: datetime, shard: Optional[str] = None) -> int:
        """A new run; ``shard`` (``i/n``) when it is one shard of several.

        A previous run of the same process (same shard, or unsharded) that died
        without stopping ends at its last sign of life; other shards' sessions
        are theirs (a dead peer's is closed by the leader, see :meth:`stop_stale_sessions`)."""
        t = SessionRow.__table__
        mine = t.c.shard.is_(None) if shard is None else t.c.shard == shard
        with self.engine.begin() as c:
            c.execute(update(t).where(and_(t.c.stopped.is_(None), mine)).values(stopped=t.c.last_alive))
            res = c.execute(insert(t).values(started=at, last_alive=at, stopped=None, shard=shard))
            return int(res.inserted_primary_key[0])

    def stop_stale_sessions(self, shard: str) -> int:
        """Close the open sessions of a dead shard at their last sign of life."""
        t = SessionRow.__table__
        with self.engine.begin() as c:
            return c.execute(update(t).where(and_(t.c.stopped.is_(None), t.c.shard == shard))
                             .values(stopped=t.c.last_alive)).rowcount

    def touch_session(self, session_id: int, at: datetime) -> None:
        t = SessionRow.__table__
        with self.engine.begin() as c:
            c.execute(update(t).where(and_(t.c.id == session_id, t.c.last_alive < at))
                      .values(last_alive=at))

    def stop_session(self, session_id: int, at: datetime) -> None:
        t = SessionRow.__table__
        with self.engine.begin() as c:
            row = c.execute(select(t.c.last_alive).where(t.c.id == session_id)).first()
            if row is None:
                return
            stop = max(utc(at), row[0])
            c.execute(update(t).where(t.c.id == session_id)
                      .values(last_alive=stop, stopped=stop))

    def add_session(self, started: datetime, stopped: datetime) -> int:
        """Record a finished monitoring run directly: imports and tests."""
        t = SessionRow.__table__
        with self.engine.begin() as c:
            res = c.execute(insert(t).values(started=started, last_alive=stopped, stopped=stopped))
            return int(res.inserted_primary_key[0])

    def sessions(self, *, start: Optional[datetime] = None,
                 end: Optional[datetime] = None) -> list[MonitorSession]:
        t = SessionRow.__table__
        q = select(t).order_by(t.c.started)
        if end is not None:
            q = q.where(t.c.started < end)
        with self.engine.connect() as c:
            out = [MonitorSession(**dict(r)) for r in c.execute(q).mappings()]
        if start is not None:
            out = [s for s in out if s.covered_until > utc(start)]
        return out


    # -- coverage ------------------------------------------------------------
    def blind_aps(self, aps: Sequence[str], reason: str, until: datetime) -> int:
        """Nobody observes these APs any more (their shard died): end each one's
        observed stretch at its last observation (never after ``until``, the
        owner's last sign of life) and mark it ``reason``, so it reads as
        ``unknown`` (neither up nor down) and the time after counts as
        unmonitored. Its state and open outage are kept, as over a restart.
        Idempotent: APs already blind for ``reason`` are left alone. Returns
        how many APs it changed."""
        a = ApStateRow.__table__
        changed = 0
        with self.engine.begin() as c:
            for i in range(0, len(aps), 500):
                rows = [r for r in c.execute(
                    select(a.c.ap, a.c.covered_since, a.c.covered_until, a.c.blind_reason)
                    .where(a.c.ap.in_(list(aps[i:i + 500])))).all() if r.blind_reason != reason]
                if not rows:
                    continue
                _insert_coverage(c, [{"ap": r.ap, "start": r.covered_since,
                                      "end": min(r.covered_until, utc(until))} for r in rows
                                     if r.covered_since is not None and r.covered_until is not None])
                c.execute(update(a).where(a.c.ap.in_([r.ap for r in rows])).values(
                    covered_since=None, covered_until=None, blind_reason=reason))
                changed += len(rows)
        return changed

    def add_coverage(self, ap: str, start: datetime, end: datetime) -> None:
        """Record a finished observed stretch directly: imports and tests."""
        with self.engine.begin() as c:
            _insert_coverage(c, [{"ap": ap, "start": start, "end": end}])

    def coverage(self, *, start: Optional[datetime] = None, end: Optional[datetime] = None,
                 aps: Optional[Sequence[str]] = None) -> list[CoverageSpan]:
        """Observed stretches overlapping ``[start, end)``: the finished ones and
        each AP's stretch still going on (``open``), oldest first."""
        t, a = CoverageRow.__table__, ApStateRow.__table__
        q = select(t.c.ap, t.c.start, t.c.end)
        o = select(a.c.ap, a.c.covered_since, a.c.covered_until).where(
            and_(a.c.covered_since.is_not(None), a.c.covered_until.is_not(None)))
        if end is not None:
            q = q.where(t.c.start < end)
            o = o.where(a.c.covered_since < end)
        if start is not None:
            q = q.where(t.c.end > start)
            o = o.where(a.c.covered_until > start)
        if aps is not None:
            q = q.where(t.c.ap.in_(list(aps)))
            o = o.where(a.c.ap.in_(list(aps)))
        with self.engine.connect() as c:
            out = [CoverageSpan(r.ap, r.start, r.end) for r in c.execute(q)]
            out += [CoverageSpan(r.ap, r.covered_since, r.covered_until, True) for r in c.execute(o)]
        return sorted(out, key=lambda x: (x.start, x.ap))

    # -- history (import) --------------------------------------------------------
    def merge_history(self, *, sessions: Iterable[tuple[datetime, datetime]] = (),
                      coverage: Iterable[CoverageSpan] = (),
                      outages: Iterable[Outage] = ()) -> HistoryMerge:
        """Add imported history in one transaction; safe to repeat (idempotent).

        A session or stretch already recorded exactly is skipped (availability
        takes unions, so overlaps never count twice anyway). An outage is known
        by its AP and start: an identical one is skipped, a ``truncated`` one
        is extended by a longer import, anything else already there wins (the
        live engine owns its own outages). Never touches ``ap_state``.
        """
        ts, tc, to = SessionRow.__table__, CoverageRow.__table__, OutageRow.__table__
        added = {"sessions_added": 0, "coverage_added": 0, "outages_added": 0,
                 "outages_extended": 0, "outages_known": 0}
        with self.engine.begin() as c:
            for s0, s1 in sessions:
                if c.execute(select(ts.c.id).where(and_(ts.c.started == s0, ts.c.stopped == s1))
                             ).first() is None:
                    c.execute(insert(ts).values(started=s0, last_alive=s1, stopped=s1))
                    added["sessions_added"] += 1
            for x in coverage:
                if x.end <= x.start:
                    continue
                if c.execute(select(tc.c.id).where(and_(tc.c.ap == x.ap, tc.c.start == x.start,
                                                        tc.c.end == x.end))).first() is None:
                    _insert_coverage(c, [{"ap": x.ap, "start": x.start, "end": x.end}])
                    added["coverage_added"] += 1
            for o in outages:
                row = c.execute(select(to).where(and_(to.c.ap == o.ap, to.c.start == o.start))
                                .order_by(to.c.id)).mappings().first()
                duration = None if o.end is None else (utc(o.end) - utc(o.start)).total_seconds()
                if row is None:
                    c.execute(insert(to).values(ap=o.ap, site=o.site, start=o.start, end=o.end,
                                                duration_s=duration, reason=o.reason,
                                                source=o.source, truncated=o.truncated))
                    added["outages_added"] += 1
                elif (row["truncated"] and o.end is not None and row["end"] is not None
                      and utc(o.end) > row["end"]):
                    c.execute(update(to).where(to.c.id == row["id"])
                              .values(end=o.end, duration_s=duration, truncated=o.truncated))
                    added["outages_extended"] += 1
                else:
                    added["outages_known"] += 1
        return HistoryMerge(**added)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
