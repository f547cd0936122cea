"""Alerting state in the state store's database (SQLite or PostgreSQL).

Its own metadata (created with :func:`create_tables` on the state store's
engine), so the alerting tables come and go with this package. Only state
and changes are stored (healthchecks' shape): an alert row per condition
episode, a row per notification group and route, silences and maintenance
windows, and an outbox row per message with a row per delivery attempt.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..status.statestore import UtcDateTime


class AlertBase(DeclarativeBase):
    pass


class AlertRow(AlertBase):
    """One episode of one condition: pending -> firing -> resolved (or dropped while pending)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(255), index=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    labels: Mapped[str] = mapped_column(Text)  # JSON
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    value: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | firing | resolved
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the condition began
    fired_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    ends_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True, index=True)
    suppressed: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)  # why not sent
    acked_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    acked_by: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    ack_comment: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    escalated_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)


Index("ix_alerts_active", AlertRow.state, AlertRow.fingerprint)


class GroupRow(AlertBase):
    """Notification state of one alert group on one route (Alertmanager's aggregation group)."""

    __tablename__ = "alert_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    route: Mapped[str] = mapped_column(String(128), index=True)
    group_key: Mapped[str] = mapped_column(String(512), index=True)
    labels: Mapped[str] = mapped_column(Text)  # JSON: the grouping labels
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_sent: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    sent_firing: Mapped[str] = mapped_column(Text, default="[]")  # JSON: fingerprints notified as firing


class SilenceRow(AlertBase):
    """Mutes matching alerts (they still exist and show); weekly ones recur."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default="silence")  # silence | maintenance
    matchers: Mapped[str] = mapped_column(Text)  # JSON {"ap"|"site"|"district"|"rule": value}; {} = all
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    weekly: Mapped[Optional[str]] = mapped_column(Text, nullable=True)  # JSON {days, from, to} local
    author: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expired_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)  # ended early


class OutboxRow(AlertBase):
    """One message to one channel; claimed by a dispatcher with a conditional UPDATE."""

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(128), index=True)
    group_key: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16), default="alert")
    payload: Mapped[str] = mapped_column(Text)  # Notification JSON
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class AttemptRow(AlertBase):
    """Every delivery attempt, successful or not: what the city shows Telkom."""

    __tablename__ = "alert_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(128), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(16))  # ok | temporary | permanent
    error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float)


class ChannelStateRow(AlertBase):
    """A channel flagged by a permanent failure (raises monitor_unhealthy) until it works again."""

    __tablename__ = "alert_channels"

    channel: Mapped[str] = mapped_column(String(128), primary_key=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)
    reason: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    last_ok_at: Mapped[Optional[datetime]] = mapped_column(UtcDateTime, nullable=True)


def create_tables(engine: Engine) -> None:
    AlertBase.metadata.create_all(engine)
