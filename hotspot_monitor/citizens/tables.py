"""Citizens' problem reports in the state store's database (SQLite or PostgreSQL).

Own metadata, created on first use on the state store's engine (as the alerting
tables are). A *ticket* is one problem at one place as the operators handle it;
*reports* are what citizens sent (each belongs to one ticket); a *forward* is
one sending of a ticket's evidence to the partner. No reporter's network
address is ever stored; the optional contact is wiped at ``contact_purge_at``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Integer, String, Text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..status.statestore import UtcDateTime

PROBLEMS = ("no_signal", "cannot_connect", "slow", "login_page", "other")
STATUSES = ("received", "forwarded", "fixed")


class CitizensBase(DeclarativeBase):
    pass


class TicketRow(CitizensBase):
    """One problem at one place, in the operators' queue."""

    __tablename__ = "citizen_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # received | forwarded | fixed
    outage_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True, index=True)
    known_since: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)  # the outage's start
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    acked_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)  # first operator action
    forwarded_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    fixed_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    merged_into: Mapped[Optional[int]] = mapped_column(Integer, nullable=True, index=True)
    updated_by: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)


class ReportRow(CitizensBase):
    """What one citizen sent."""

    __tablename__ = "citizen_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer, index=True)
    site: Mapped[str] = mapped_column(String(128), index=True)
    problem: Mapped[str] = mapped_column(String(32))
    noticed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    text: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[Optional[str]] = mapped_column(String(500), nullable=True)  # operators only
    contact_purge_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    outage_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # open at filing time


class ForwardRow(CitizensBase):
    """One sending of a ticket's evidence to the partner (successful or not)."""

    __tablename__ = "citizen_forwards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(128))
    recipients: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(String(16))  # ok | temporary | permanent
    error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    evidence: Mapped[str] = mapped_column(Text)  # JSON, as sent


def create_tables(engine: Engine) -> None:
    CitizensBase.metadata.create_all(engine)
