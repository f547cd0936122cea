"""The outbox: every message goes through it, every attempt is recorded.

The alert manager enqueues in the same transaction that records what was
notified, so a crash never loses nor doubles a message. A dispatcher claims
due rows with a conditional UPDATE (healthchecks' pattern: several workers
may run, each row is sent by one), sends, and records the attempt. A claim
older than ``CLAIM_TIMEOUT_S`` (a dispatcher that died mid-send) is taken
again: at-least-once, as any mail system.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from ..sample import utc
from .notification import Notification
from .tables import AttemptRow, ChannelStateRow, OutboxRow, create_tables

CLAIM_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    channel: str
    notification: Notification
    attempts: int  # attempts made before this one


@dataclass(frozen=True, slots=True)
class Attempt:
    outbox_id: int
    channel: str
    at: datetime
    attempt: int
    result: str
    error: Optional[str]
    duration_ms: float


@dataclass(frozen=True, slots=True)
class ChannelState:
    channel: str
    flagged: bool
    flagged_at: Optional[datetime]
    reason: Optional[str]
    last_ok_at: Optional[datetime]


def enqueue(conn: Connection, n: Notification, due_at: Optional[datetime] = None) -> int:
    """Add a message inside the caller's transaction; returns its id."""
    t = OutboxRow.__table__
    res = conn.execute(insert(t).values(
        channel=n.channel, group_key=n.group_key, kind=n.kind, payload=n.to_json(),
        created_at=n.created_at, due_at=due_at or n.created_at, state="pending", attempts=0))
    return int(res.inserted_primary_key[0])


class Outbox:
    """Repository over the outbox, attempts and channel states."""

    def __init__(self, engine: Engine):
        self.engine = engine
        create_tables(engine)

    def enqueue(self, n: Notification, due_at: Optional[datetime] = None) -> int:
        with self.engine.begin() as c:
            return enqueue(c, n, due_at)

    def claim_due(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Claim up to ``limit`` due messages (oldest first) for this worker."""
        t = OutboxRow.__table__
        now = utc(now)
        stale = now - timedelta(seconds=CLAIM_TIMEOUT_S)
        due = or_(and_(t.c.state == "pending", t.c.due_at <= now),
                  and_(t.c.state == "sending", t.c.claimed_at < stale))
        out: list[OutboxItem] = []
        with self.engine.begin() as c:
            rows = c.execute(select(t.c.id, t.c.channel, t.c.payload, t.c.attempts, t.c.state,
                                    t.c.claimed_at)
                             .where(due).order_by(t.c.due_at, t.c.id).limit(limit)).all()
            for r in rows:
                try:
                    n = Notification.from_json(r.payload)
                except (ValueError, KeyError, TypeError) as e:
                    # unreadable (written by another version?): failed for good, never retried
                    c.execute(update(t).where(t.c.id == r.id).values(
                        state="failed", last_error=f"unreadable payload: {type(e).__name__}"))
                    continue
                # conditional UPDATE: another worker that claimed it first wins
                got = c.execute(update(t).where(and_(t.c.id == r.id, t.c.state == r.state,
                                                     _same(t.c.claimed_at, r.claimed_at)))
                                .values(state="sending", claimed_at=now)).rowcount
                if got == 1:
                    out.append(OutboxItem(r.id, r.channel, n, int(r.attempts)))
        return out

    def release(self, item: OutboxItem) -> None:
        """Give a claimed, unsent message back (a dispatcher stopping): due again at once."""
        t = OutboxRow.__table__
        with self.engine.begin() as c:
            c.execute(update(t).where(and_(t.c.id == item.id, t.c.state == "sending"))
                      .values(state="pending", claimed_at=None))

    def record(self, item: OutboxItem, *, at: datetime, result: str, error: Optional[str],
               duration_ms: float, retry_at: Optional[datetime] = None) -> None:
        """Record one attempt and its consequence for the message and the channel.

        ``result``: ``ok`` (sent), ``temporary`` (retry at ``retry_at``, or give up when
        None), ``permanent`` (never retried; the channel is flagged).
        """
        if result not in ("ok", "temporary", "permanent"):
            raise ValueError(result)
        ot, at_t, ct = OutboxRow.__table__, AttemptRow.__table__, ChannelStateRow.__table__
        at = utc(at)
        n = item.attempts + 1
        with self.engine.begin() as c:
            c.execute(insert(at_t).values(outbox_id=item.id, channel=item.channel, at=at, attempt=n,
                                          result=result, error=error, duration_ms=duration_ms))
            if result == "ok":
                values: dict[str, Any] = dict(state="sent", sent_at=at, attempts=n, last_error=None)
            elif result == "temporary" and retry_at is not None:
                values = dict(state="pending", due_at=utc(retry_at), attempts=n, last_error=error)
            else:
                values = dict(state="failed", attempts=n, last_error=error)
            c.execute(update(ot).where(ot.c.id == item.id).values(**values))
            known = c.execute(select(ct.c.channel).where(ct.c.channel == item.channel)).first()
            if result == "ok":
                ch = dict(flagged=False, flagged_at=None, reason=None, last_ok_at=at)
            elif result == "permanent":
                ch = dict(flagged=True, flagged_at=at, reason=error)
            elif retry_at is None:  # out of retries: the channel is not working either
                ch = dict(flagged=True, flagged_at=at, reason=f"gave up after {n} attempts: {error}")
            else:
                ch = {}
            if ch and known:
                c.execute(update(ct).where(ct.c.channel == item.channel).values(**ch))
            elif ch:
                c.execute(insert(ct).values(channel=item.channel, **{"flagged": False, **ch}))

    def channel_states(self) -> dict[str, ChannelState]:
        t = ChannelStateRow.__table__
        with self.engine.connect() as c:
            return {r.channel: ChannelState(r.channel, bool(r.flagged), r.flagged_at, r.reason,
                                            r.last_ok_at) for r in c.execute(select(t))}

    def attempts(self, *, channel: Optional[str] = None, outbox_id: Optional[int] = None,
                 limit: int = 100) -> list[Attempt]:
        """Newest attempts first."""
        t = AttemptRow.__table__
        q = select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(limit)
        if channel is not None:
            q = q.where(t.c.channel == channel)
        if outbox_id is not None:
            q = q.where(t.c.outbox_id == outbox_id)
        with self.engine.connect() as c:
            return [Attempt(r.outbox_id, r.channel, r.at, r.attempt, r.result, r.error, r.duration_ms)
                    for r in c.execute(q)]

    def messages(self, *, state: Optional[str] = None, channel: Optional[str] = None,
                 limit: int = 200) -> list[dict[str, Any]]:
        """Outbox rows (newest first) as dicts, payload decoded."""
        t = OutboxRow.__table__
        q = select(t).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit)
        if state is not None:
            q = q.where(t.c.state == state)
        if channel is not None:
            q = q.where(t.c.channel == channel)
        with self.engine.connect() as c:
            rows = [dict(r) for r in c.execute(q).mappings()]
        for r in rows:
            r["notification"] = Notification.from_json(r.pop("payload"))
        return rows


def _same(col: Any, value: Optional[datetime]) -> Any:
    return col.is_(None) if value is None else col == value
