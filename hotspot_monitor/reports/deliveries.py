"""Monthly report deliveries in the state store: claimed before sending, every attempt recorded.

healthchecks' monthly reports are the model (STYLE.md #10): one row per
partner and month, created when the month's report falls due; a worker
*claims* it with a conditional UPDATE before it generates and sends, and marks
it sent right after the mail server accepted the mail. So

* two workers (or a restarted one) never both send it: only one UPDATE matches;
* a crash after the claim never skips it: a claim not finished within the
  partner's ``claim_timeout_s`` is taken over by the next pass;
* the only window for a second mail is a crash between the server's "250 OK"
  and the UPDATE that follows it (milliseconds), as in any mail system.

Temporary failures (4xx, server unreachable) are retried after
``retry_after_s``, doubling, up to ``max_attempts``; a permanent one (5xx,
bad login) waits for an operator (dashboard "resend", or ``report --send``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint, and_, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..sample import utc
from ..status.statestore import UtcDateTime

PENDING, CLAIMED, SENT, RETRY, FAILED = "pending", "claimed", "sent", "retry", "failed"


class ReportBase(DeclarativeBase):
    pass


class DeliveryRow(ReportBase):
    """One partner's report of one month: due, claimed, sent (or failed)."""

    __tablename__ = "report_deliveries"
    __table_args__ = (UniqueConstraint("partner", "month", name="uq_report_partner_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner: Mapped[str] = mapped_column(String(255), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending|claimed|sent|retry|failed
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)  # when it may be (re)tried
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    claim_until: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    claim_token: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReportAttemptRow(ReportBase):
    """Every send of a report, by the schedule or by hand, with what was sent."""

    __tablename__ = "report_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(Integer, index=True)
    partner: Mapped[str] = mapped_column(String(255), index=True)
    month: Mapped[str] = mapped_column(String(7))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | resend | cli
    by: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)  # who asked (resend)
    result: Mapped[str] = mapped_column(String(16))  # ok | temporary | permanent
    error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    recipients: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    files: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{name, bytes, sha256}]
    duration_ms: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    partner: str
    month: str
    state: str
    due_at: datetime
    attempts: int
    claimed_at: Optional[datetime]
    claim_until: Optional[datetime]
    claim_token: Optional[str]
    sent_at: Optional[datetime]
    last_error: Optional[str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReportAttempt:
    id: int
    delivery_id: int
    partner: str
    month: str
    at: datetime
    trigger: str
    by: Optional[str]
    result: str
    error: Optional[str]
    recipients: list[str]
    files: list[dict[str, Any]]
    duration_ms: float


def _delivery(r: Any) -> Delivery:
    return Delivery(**dict(r))


class Deliveries:
    """Repository over ``report_deliveries`` and ``report_attempts``."""

    def __init__(self, engine: Engine):
        self.engine = engine
        ReportBase.metadata.create_all(engine)

    def ensure(self, partner: str, month: str, due_at: datetime, now: datetime) -> Delivery:
        """The row of ``partner``'s ``month``, created (pending, due at ``due_at``) if absent.
        Safe against a concurrent creator: the unique key decides."""
        t = DeliveryRow.__table__
        found = self.get(partner, month)
        if found is not None:
            return found
        try:
            with self.engine.begin() as c:
                c.execute(insert(t).values(partner=partner, month=month, state=PENDING, due_at=due_at,
                                           attempts=0, created_at=now))
        except IntegrityError:
            pass
        got = self.get(partner, month)
        assert got is not None
        return got

    def get(self, partner: str, month: str) -> Optional[Delivery]:
        t = DeliveryRow.__table__
        with self.engine.connect() as c:
            r = c.execute(select(t).where(and_(t.c.partner == partner, t.c.month == month))).mappings().first()
        return None if r is None else _delivery(r)

    def by_id(self, delivery_id: int) -> Optional[Delivery]:
        t = DeliveryRow.__table__
        with self.engine.connect() as c:
            r = c.execute(select(t).where(t.c.id == delivery_id)).mappings().first()
        return None if r is None else _delivery(r)

    def all(self, partner: Optional[str] = None) -> list[Delivery]:
        t = DeliveryRow.__table__
        q = select(t).order_by(t.c.month.desc(), t.c.partner)
        if partner is not None:
            q = q.where(t.c.partner == partner)
        with self.engine.connect() as c:
            return [_delivery(r) for r in c.execute(q).mappings()]

    def claimable(self, now: datetime) -> list[Delivery]:
        """Rows a worker may claim now: pending or retry and due, or claimed and abandoned."""
        t = DeliveryRow.__table__
        now = utc(now)
        q = select(t).where(or_(and_(t.c.state.in_([PENDING, RETRY]), t.c.due_at <= now),
                                and_(t.c.state == CLAIMED, t.c.claim_until < now))).order_by(t.c.due_at, t.c.id)
        with self.engine.connect() as c:
            return [_delivery(r) for r in c.execute(q).mappings()]

    def claim(self, delivery_id: int, now: datetime, lease_s: float, token: str,
              *, force: bool = False) -> Optional[Delivery]:
        """Take the row for this worker (a conditional UPDATE); None if another has it,
        it is already sent, or it is not due. ``force`` (an operator's resend) also
        takes a sent or failed row, never one whose claim is still live."""
        t = DeliveryRow.__table__
        now = utc(now)
        abandoned = and_(t.c.state == CLAIMED, t.c.claim_until < now)
        if force:
            cond = or_(t.c.state != CLAIMED, abandoned)
        else:
            cond = or_(and_(t.c.state.in_([PENDING, RETRY]), t.c.due_at <= now), abandoned)
        with self.engine.begin() as c:
            n = c.execute(update(t).where(and_(t.c.id == delivery_id, cond)).values(
                state=CLAIMED, claimed_at=now, claim_until=now + timedelta(seconds=lease_s),
                claim_token=token, attempts=t.c.attempts + 1)).rowcount
        return self.by_id(delivery_id) if n == 1 else None

    def finish(self, d: Delivery, token: str, now: datetime, *, ok: bool, error: Optional[str] = None,
               retry_at: Optional[datetime] = None) -> bool:
        """Record the outcome of our claim: sent, retry at ``retry_at``, or failed. False
        if the claim was taken over meanwhile (then the row is left to its new owner)."""
        t = DeliveryRow.__table__
        if ok:
            values: dict[str, Any] = {"state": SENT, "sent_at": utc(now), "last_error": None}
        elif retry_at is not None:
            values = {"state": RETRY, "due_at": retry_at, "last_error": error}
        else:
            values = {"state": FAILED, "last_error": error}
        with self.engine.begin() as c:
            return c.execute(update(t).where(and_(t.c.id == d.id, t.c.claim_token == token,
                                                  t.c.state == CLAIMED))
                             .values(claim_until=None, **values)).rowcount == 1

    def record(self, d: Delivery, *, at: datetime, trigger: str, result: str, error: Optional[str],
               recipients: list[str], files: list[dict[str, Any]], duration_ms: float,
               by: Optional[str] = None) -> None:
        with self.engine.begin() as c:
            c.execute(insert(ReportAttemptRow.__table__).values(
                delivery_id=d.id, partner=d.partner, month=d.month, at=at, trigger=trigger, by=by,
                result=result, error=error, recipients=json.dumps(recipients),
                files=json.dumps(files), duration_ms=duration_ms))

    def attempts(self, partner: Optional[str] = None, month: Optional[str] = None,
                 limit: int = 200) -> list[ReportAttempt]:
        t = ReportAttemptRow.__table__
        q = select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(limit)
        if partner is not None:
            q = q.where(t.c.partner == partner)
        if month is not None:
            q = q.where(t.c.month == month)
        with self.engine.connect() as c:
            rows = c.execute(q).mappings().all()
        return [ReportAttempt(**{**dict(r), "recipients": json.loads(r["recipients"] or "[]"),
                                 "files": json.loads(r["files"] or "[]")}) for r in rows]

    def open_rows(self) -> list[Delivery]:
        """Rows not finished: pending, retry or claimed (the scheduler's next wake-up)."""
        t = DeliveryRow.__table__
        with self.engine.connect() as c:
            return [_delivery(r) for r in c.execute(
                select(t).where(t.c.state.in_([PENDING, RETRY, CLAIMED])).order_by(t.c.due_at)).mappings()]
