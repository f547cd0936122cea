"""The report desk: citizens' reports in, the operators' queue out.

A report at a place with an open outage is linked to that outage at once (the
city already knows: "known since 09:40") and joins the ticket that follows
that outage; otherwise it opens a ticket of its own in the queue. Operators
merge duplicates, link a ticket to an outage, and set its status (received ->
forwarded -> fixed), which the public page shows. The first operator action
on a ticket is its *acknowledgement* (the monthly report's time to acknowledge).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import func, select, update

from ..status.statestore import Outage, StateStore
from .tables import PROBLEMS, STATUSES, ForwardRow, ReportRow, TicketRow, create_tables


class DeskError(ValueError):
    """A request the desk refuses (the message is fit for the operator)."""


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    ticket_id: int
    site: str
    problem: str
    noticed_at: datetime
    text: str
    contact: Optional[str]
    created_at: datetime
    outage_id: Optional[int]


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    site: str
    status: str
    outage_id: Optional[int]
    known_since: Optional[datetime]
    opened_at: datetime
    acked_at: Optional[datetime]
    forwarded_at: Optional[datetime]
    fixed_at: Optional[datetime]
    merged_into: Optional[int]
    updated_by: Optional[str]
    reports: tuple[Report, ...] = ()


@dataclass(frozen=True, slots=True)
class Filed:
    """What the citizen is told after sending a report."""

    ticket_id: int
    report_id: int
    known_since: Optional[datetime]  # set when an open outage was already known


@dataclass(frozen=True, slots=True)
class Forward:
    id: int
    ticket_id: int
    at: datetime
    by: str
    channel: str
    recipients: str
    result: str
    error: Optional[str]
    evidence: str


@dataclass(frozen=True, slots=True)
class PublicNotice:
    """A place's latest ticket as the public page may show it (no text, no contact)."""

    site: str
    status: str
    opened_at: datetime
    reports: int


_T = TicketRow.__table__
_R = ReportRow.__table__
_F = ForwardRow.__table__


def _report(r: object) -> Report:
    return Report(**{k: r[k] for k in Report.__dataclass_fields__})  # type: ignore[index]


def _ticket(r: object, reports: tuple[Report, ...] = ()) -> Ticket:
    d = {k: r[k] for k in Ticket.__dataclass_fields__ if k != "reports"}  # type: ignore[index]
    return Ticket(**d, reports=reports)


class ReportDesk:
    def __init__(self, states: StateStore, contact_retention_days: float = 30.0):
        self.states = states
        self.engine = states.engine
        self.retention = timedelta(days=contact_retention_days)
        create_tables(self.engine)

    # -- citizens ---------------------------------------------------------------------
    def file(self, *, site: str, problem: str, noticed_at: datetime, text: str = "",
             contact: Optional[str] = None, now: datetime) -> Filed:
        """Store one report; link it to an open outage at ``site`` if there is one."""
        if problem not in PROBLEMS:
            raise DeskError(f"unknown problem {problem!r}")
        open_ = self.states.outages(site=site, open_only=True)
        first: Optional[Outage] = min(open_, key=lambda o: (o.start, o.id)) if open_ else None
        contact = (contact or "").strip() or None
        with self.engine.begin() as c:
            tid = None
            if first is not None:
                ids = [o.id for o in open_]
                tid = c.execute(select(_T.c.id).where(
                    _T.c.site == site, _T.c.outage_id.in_(ids), _T.c.merged_into.is_(None),
                    _T.c.status != "fixed").order_by(_T.c.id).limit(1)).scalar()
            if tid is None:
                tid = c.execute(_T.insert().values(
                    site=site, status="received", outage_id=first.id if first else None,
                    known_since=first.start if first else None, opened_at=now)).inserted_primary_key[0]
            rid = c.execute(_R.insert().values(
                ticket_id=tid, site=site, problem=problem, noticed_at=noticed_at, text=text.strip(),
                contact=contact, contact_purge_at=now + self.retention if contact else None,
                created_at=now, outage_id=first.id if first else None)).inserted_primary_key[0]
        return Filed(int(tid), int(rid), first.start if first else None)

    def purge_contacts(self, now: datetime) -> int:
        """Delete the contacts whose time is up; the number deleted."""
        with self.engine.begin() as c:
            return c.execute(update(_R).where(_R.c.contact_purge_at <= now, _R.c.contact.is_not(None))
                             .values(contact=None, contact_purge_at=None)).rowcount or 0

    def public_notices(self, now: datetime, fixed_shown: timedelta) -> dict[str, PublicNotice]:
        """Per site, the newest ticket still open, else the newest fixed within ``fixed_shown``."""
        q = (select(_T).where(_T.c.merged_into.is_(None))
             .where((_T.c.status != "fixed") | (_T.c.fixed_at >= now - fixed_shown)).order_by(_T.c.id))
        with self.engine.connect() as c:
            rows = list(c.execute(q).mappings())
            counts: dict[int, int] = {}
            if rows:
                counts = dict(c.execute(select(_R.c.ticket_id, func.count()).where(
                    _R.c.ticket_id.in_([r["id"] for r in rows])).group_by(_R.c.ticket_id)).all())
        out: dict[str, PublicNotice] = {}
        for r in rows:  # oldest first: a later ticket replaces an earlier one, open beats fixed
            prev = out.get(r["site"])
            if prev is not None and prev.status != "fixed" and r["status"] == "fixed":
                continue
            out[r["site"]] = PublicNotice(r["site"], r["status"], r["opened_at"], int(counts.get(r["id"], 0)))
        return out

    # -- operators ----------------------------------------------------------------------
    def queue(self, *, include_closed: bool = False, limit: int = 500) -> list[Ticket]:
        """Tickets not merged away, newest first; fixed ones only with ``include_closed``."""
        q = select(_T).where(_T.c.merged_into.is_(None))
        if not include_closed:
            q = q.where(_T.c.status != "fixed")
        q = q.order_by(_T.c.opened_at.desc(), _T.c.id.desc()).limit(limit)
        with self.engine.connect() as c:
            rows = list(c.execute(q).mappings())
            reps = self._reports(c, [r["id"] for r in rows])
        return [_ticket(r, reps.get(r["id"], ())) for r in rows]

    def ticket(self, ticket_id: int) -> Optional[Ticket]:
        with self.engine.connect() as c:
            r = c.execute(select(_T).where(_T.c.id == ticket_id)).mappings().first()
            if r is None:
                return None
            return _ticket(r, self._reports(c, [ticket_id]).get(ticket_id, ()))

    def _reports(self, c: object, ids: list[int]) -> dict[int, tuple[Report, ...]]:
        out: dict[int, list[Report]] = {}
        if ids:
            for r in c.execute(select(_R).where(_R.c.ticket_id.in_(ids)).order_by(_R.c.id)).mappings():  # type: ignore[attr-defined]
                out.setdefault(r["ticket_id"], []).append(_report(r))
        return {k: tuple(v) for k, v in out.items()}

    def _get(self, c: object, ticket_id: int) -> dict:
        r = c.execute(select(_T).where(_T.c.id == ticket_id)).mappings().first()  # type: ignore[attr-defined]
        if r is None:
            raise DeskError(f"no ticket #{ticket_id}")
        if r["merged_into"] is not None:
            raise DeskError(f"ticket #{ticket_id} was merged into #{r['merged_into']}")
        return dict(r)

    @staticmethod
    def _touch(t: dict, by: str, now: datetime) -> dict:
        """The columns an operator's action sets: the first one acknowledges."""
        return {"updated_by": by, **({"acked_at": now} if t["acked_at"] is None else {})}

    def merge(self, ticket_id: int, into: int, *, by: str, now: datetime) -> None:
        """A duplicate: its reports move to ``into`` and it leaves the queue."""
        if ticket_id == into:
            raise DeskError("a ticket cannot be merged into itself")
        with self.engine.begin() as c:
            src, dst = self._get(c, ticket_id), self._get(c, into)
            if src["site"] != dst["site"]:
                raise DeskError(f"ticket #{ticket_id} is about another place than #{into}")
            c.execute(update(_R).where(_R.c.ticket_id == ticket_id).values(ticket_id=into))
            c.execute(update(_T).where(_T.c.id == ticket_id).values(merged_into=into, **self._touch(src, by, now)))
            earlier = {"opened_at": src["opened_at"]} if src["opened_at"] < dst["opened_at"] else {}
            c.execute(update(_T).where(_T.c.id == into).values(**self._touch(dst, by, now), **earlier))

    def link(self, ticket_id: int, outage: Outage, *, by: str, now: datetime) -> None:
        with self.engine.begin() as c:
            t = self._get(c, ticket_id)
            if outage.site != t["site"]:
                raise DeskError(f"outage #{outage.id} is at another place")
            c.execute(update(_T).where(_T.c.id == ticket_id).values(
                outage_id=outage.id, known_since=outage.start, **self._touch(t, by, now)))

    def set_status(self, ticket_id: int, status: str, *, by: str, now: datetime) -> None:
        if status not in STATUSES:
            raise DeskError(f"unknown status {status!r}")
        with self.engine.begin() as c:
            t = self._get(c, ticket_id)
            when = {"forwarded": {"forwarded_at": now}, "fixed": {"fixed_at": now}}.get(status, {})
            if status != "fixed":
                when["fixed_at"] = None  # reopened
            c.execute(update(_T).where(_T.c.id == ticket_id).values(status=status, **when,
                                                                    **self._touch(t, by, now)))

    def record_forward(self, ticket_id: int, *, by: str, channel: str, recipients: str, result: str,
                       error: Optional[str], evidence: str, now: datetime) -> int:
        """Record one sending; a successful one marks the ticket forwarded."""
        with self.engine.begin() as c:
            t = self._get(c, ticket_id)
            fid = c.execute(_F.insert().values(ticket_id=ticket_id, at=now, by=by, channel=channel,
                                               recipients=recipients, result=result, error=error,
                                               evidence=evidence)).inserted_primary_key[0]
            values = self._touch(t, by, now)
            if result == "ok":
                values.update(status="forwarded", forwarded_at=now, fixed_at=None)
            c.execute(update(_T).where(_T.c.id == ticket_id).values(**values))
        return int(fid)

    def forwards(self, ticket_id: int) -> list[Forward]:
        with self.engine.connect() as c:
            rows = c.execute(select(_F).where(_F.c.ticket_id == ticket_id).order_by(_F.c.id)).mappings()
            return [Forward(**dict(r)) for r in rows]
