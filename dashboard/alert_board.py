"""What the alert pages and their API read and change: alerts, silences, channels.

A thin layer over ``hotspot_monitor.alerts`` on the state store's engine:
alerts through :class:`AlertManager` (list, acknowledge), silences and
maintenance through :class:`SilenceStore`, channel states and the attempt
log through :class:`Outbox`. The dashboard never evaluates rules and never
sends, except the "send test" button, which goes through
:meth:`Dispatcher.send_now` (the attempt is recorded like any other).

Every read is cut to the caller's :class:`Audience`: a partner sees only
alerts about its own sites, and only the rules meant for it
(``PARTNER_RULES``), without who acknowledged what or why an alert is muted.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from hotspot_monitor.alerts.config import TimeWindow
from hotspot_monitor.alerts.dispatcher import Delivery, Dispatcher
from hotspot_monitor.alerts.manager import Alert, AlertManager
from hotspot_monitor.alerts.messages import alert_title
from hotspot_monitor.alerts.notifiers.base import redact, secret_values
from hotspot_monitor.alerts.outbox import Attempt, ChannelState, Outbox
from hotspot_monitor.alerts.rules import DEFAULTS
from hotspot_monitor.alerts.silences import MATCH_KEYS, Silence, SilenceStore, Weekly
from hotspot_monitor.config.models import WEEKDAYS, Config
from hotspot_monitor.sample import utc
from hotspot_monitor.status.availability import MaintenanceWindow

from .fleet import Scope

PARTNER_RULES = frozenset({"site_down", "missing_device"})  # what the partner is told about
STATE_FILTERS = ("active", "firing", "acknowledged", "pending", "resolved", "all")
SEVERITIES = ("critical", "warning", "info")
RULES = tuple(DEFAULTS)
MAX_HISTORY_H = 90 * 24
FETCH_LIMIT = 5000  # rows read before filtering; the page shows at most ``limit`` of them
ATTEMPTS_SHOWN = 10
WEEKLY_DEFAULT_DAYS = 365  # a weekly silence without an end recurs for a year (as the CLI)
EARLIEST = datetime(1970, 1, 2, tzinfo=timezone.utc)
LATEST = datetime(9999, 1, 1, tzinfo=timezone.utc)


class SilenceError(ValueError):
    """A silence that cannot be added as asked (message fit for operators)."""


@dataclass(frozen=True, slots=True)
class Audience:
    """Who is looking: the sites they may see, and whether every rule is theirs."""

    scope: Scope
    all_rules: bool  # False: a partner, told about PARTNER_RULES only, no internals

    def sees(self, a: Alert) -> bool:
        site = a.labels.get("site")
        if self.all_rules:  # city staff: the whole fleet, the monitor's own alerts too
            return self.scope.allows(site)
        return a.rule in PARTNER_RULES and site is not None and self.scope.allows(site)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    state: str = "active"  # one of STATE_FILTERS
    severity: Optional[str] = None
    rule: Optional[str] = None
    district: Optional[str] = None
    site: Optional[str] = None
    hours: float = 24.0  # resolved alerts that ended within this many hours
    limit: int = 500

    def matches(self, a: Alert) -> bool:
        return ((self.severity is None or a.severity == self.severity)
                and (self.rule is None or a.rule == self.rule)
                and (self.district is None or a.labels.get("district") == self.district)
                and (self.site is None or a.labels.get("site") == self.site))

    def wants(self, a: Alert) -> bool:
        acked = a.acked_at is not None
        return {"active": a.state in ("pending", "firing"),
                "firing": a.state == "firing",
                "acknowledged": a.state == "firing" and acked,
                "pending": a.state == "pending",
                "resolved": a.state == "resolved",
                "all": True}[self.state]


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a firing alert is not sent: ``silence`` / ``maintenance`` (``ref`` = its id),
    ``inhibited`` (``ref`` = the rule that mutes it), ``outside_service_hours``."""

    reason: str
    ref: Optional[str]

    @classmethod
    def parse(cls, text: Optional[str]) -> Optional["Suppression"]:
        if not text:
            return None
        reason, _, ref = text.partition(":")
        return cls(reason, ref or None)

    @property
    def silence_id(self) -> Optional[int]:
        if self.reason in ("silence", "maintenance") and self.ref:
            try:
                return int(self.ref)
            except ValueError:
                return None
        return None


@dataclass(frozen=True, slots=True)
class AlertCounts:
    firing: int = 0
    acknowledged: int = 0
    pending: int = 0
    muted: int = 0


@dataclass(frozen=True, slots=True)
class AlertList:
    alerts: list[Alert]
    counts: AlertCounts  # of the active alerts matching the filter's other fields
    truncated: bool


@dataclass(frozen=True, slots=True)
class SilenceRequest:
    """A silence or maintenance window as an operator asks for it (page form or API)."""

    kind: str  # silence | maintenance
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: Optional[datetime]  # None: a weekly window for WEEKLY_DEFAULT_DAYS
    weekly: Optional[Weekly]
    comment: str


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: str
    type: str
    language: str
    send_resolved: bool
    target: dict[str, str]  # where it goes, without secrets (host, recipients, chat, topic)
    state: Optional[ChannelState]
    attempts: list[Attempt]

    @property
    def flagged(self) -> bool:
        return bool(self.state and self.state.flagged)


def silence_state(s: Silence, now: datetime, tz: Any) -> str:
    """``active`` (muting now), ``waiting`` (weekly, outside its window), ``scheduled``, ``ended``."""
    end = s.ends_at if s.expired_at is None else min(s.ends_at, s.expired_at)
    if now >= end:
        return "ended"
    if now < s.starts_at:
        return "scheduled"
    return "active" if s.active(now, tz) else "waiting"


class AlertBoard:
    def __init__(self, cfg: Config, engine: Engine, clock: Callable[[], datetime],
                 on_maintenance_change: Optional[Callable[[datetime], None]] = None):
        self.cfg = cfg
        self.clock = clock
        self.manager = AlertManager(cfg, cfg.alerts, engine)
        self.silences: SilenceStore = self.manager.silences
        self.outbox = Outbox(engine)
        self._on_maintenance_change = on_maintenance_change
        self._secrets = sorted(set(secret_values(cfg)), key=len, reverse=True)
        self.site_ids = [s.id for s in cfg.sites]
        self.ap_ids = {a.id for a in cfg.aps}
        self.districts = sorted({s.district for s in cfg.sites if s.district})

    # -- alerts --------------------------------------------------------------------------
    def alerts(self, who: Audience, f: AlertFilter) -> AlertList:
        now = self.clock()
        rows: list[Alert] = []
        cut = False  # a read hit FETCH_LIMIT: older rows may be missing
        if f.state != "resolved":
            got = self.manager.alerts(states=("pending", "firing"), limit=FETCH_LIMIT)
            rows, cut = got, len(got) >= FETCH_LIMIT
        if f.state in ("resolved", "all"):
            got = self.manager.alerts(states=("resolved",), since=now - timedelta(hours=f.hours),
                                      limit=FETCH_LIMIT)
            rows, cut = rows + got, cut or len(got) >= FETCH_LIMIT
        mine = [a for a in rows if who.sees(a) and f.matches(a)]
        active = [a for a in mine if a.state in ("pending", "firing")]
        counts = AlertCounts(
            firing=sum(1 for a in active if a.state == "firing"),
            acknowledged=sum(1 for a in active if a.state == "firing" and a.acked_at is not None),
            pending=sum(1 for a in active if a.state == "pending"),
            muted=sum(1 for a in active if a.state == "firing" and a.suppressed))
        chosen = sorted((a for a in mine if f.wants(a)), key=_display_order)
        if not who.all_rules:
            chosen = [_without_internals(a) for a in chosen]
        return AlertList(chosen[:f.limit], counts, cut or len(chosen) > f.limit)

    def firing_count(self, who: Audience) -> int:
        return self.alerts(who, AlertFilter(state="firing")).counts.firing

    def alert(self, who: Audience, alert_id: int) -> Optional[Alert]:
        """One active or recent alert the caller may see (None: unknown or not theirs)."""
        for a in self.alerts(who, AlertFilter(state="all", hours=MAX_HISTORY_H, limit=FETCH_LIMIT)).alerts:
            if a.id == alert_id:
                return a
        return None

    def acknowledge(self, alert_id: int, *, by: str, comment: str) -> bool:
        """False when the alert is not firing or already acknowledged."""
        if not comment.strip():
            raise ValueError("an acknowledgement needs a comment")
        return self.manager.ack(alert_id, by=by, comment=comment.strip(), now=self.clock())

    def title(self, a: Alert, language: str) -> str:
        return alert_title(a.view(), language)

    # -- silences and maintenance ----------------------------------------------------------
    def silence_list(self, *, include_ended: bool = True, ended_within_days: float = 30.0) -> list[Silence]:
        now = self.clock()
        out = []
        for s in self.silences.all():
            state = silence_state(s, now, self.cfg.tz)
            if state == "ended":
                end = s.ends_at if s.expired_at is None else min(s.ends_at, s.expired_at)
                if not include_ended or now - end > timedelta(days=ended_within_days):
                    continue
            out.append(s)
        return sorted(out, key=lambda s: (silence_state(s, now, self.cfg.tz) == "ended", s.starts_at, s.id))

    def silence(self, silence_id: int) -> Optional[Silence]:
        return next((s for s in self.silences.all() if s.id == silence_id), None)

    def add_silence(self, req: SilenceRequest, *, author: str) -> int:
        """Check the names against the inventory, then store; raises :class:`SilenceError`."""
        bad = set(req.matchers) - set(MATCH_KEYS)
        if bad:
            raise SilenceError(f"unknown matcher(s): {', '.join(sorted(bad))}")
        known = {"ap": self.ap_ids, "site": set(self.site_ids), "district": set(self.districts),
                 "rule": set(RULES)}
        for key, value in req.matchers.items():
            if value not in known[key]:
                raise SilenceError(f"unknown {key} {value!r}")
        if req.kind not in ("silence", "maintenance"):
            raise SilenceError("kind must be silence or maintenance")
        if not req.comment.strip():
            raise SilenceError("a comment is required (why, for the record)")
        start = utc(req.starts_at)
        end = req.ends_at if req.ends_at is not None else start + timedelta(days=WEEKLY_DEFAULT_DAYS)
        end = utc(end)
        if not EARLIEST <= start < LATEST or not EARLIEST < end <= LATEST:
            raise SilenceError("start and end must lie between 1970 and 9999")
        if end <= start:
            raise SilenceError("the end must come after the start")
        if end <= self.clock():
            raise SilenceError("this window is already over")
        try:
            sid = self.silences.add(kind=req.kind, matchers=dict(req.matchers), starts_at=start, ends_at=end,
                                    weekly=req.weekly, author=author, comment=req.comment.strip(),
                                    now=self.clock())
        except ValueError as e:
            raise SilenceError(str(e)) from None
        if req.kind == "maintenance" and self._on_maintenance_change is not None:
            self._on_maintenance_change(start)
        return sid

    def expire_silence(self, silence_id: int) -> bool:
        """End a silence now; False when it is unknown, from the config, or already over."""
        s = self.silence(silence_id)
        if s is None or silence_id < 0:
            return False
        now = self.clock()
        done = self.silences.expire(silence_id, now)
        if done and s.kind == "maintenance" and self._on_maintenance_change is not None:
            self._on_maintenance_change(now)
        return done

    def maintenance_windows(self, start: datetime, end: datetime) -> list[MaintenanceWindow]:
        return self.silences.maintenance_windows(start, end)

    # -- channels ---------------------------------------------------------------------------
    def channels(self) -> list[ChannelView]:
        states = self.outbox.channel_states()
        out = []
        for ch in self.cfg.alerts.channels:
            st = states.get(ch.id)
            if st is not None:
                st = ChannelState(st.channel, st.flagged, st.flagged_at, self.redact(st.reason), st.last_ok_at)
            attempts = [Attempt(a.outbox_id, a.channel, a.at, a.attempt, a.result, self.redact(a.error),
                                a.duration_ms) for a in self.outbox.attempts(channel=ch.id, limit=ATTEMPTS_SHOWN)]
            out.append(ChannelView(ch.id, ch.type, ch.language, ch.send_resolved, channel_target(ch), st,
                                   attempts))
        return out

    def send_test(self, channel_id: str) -> Delivery:
        """One test message through the channel now, through the outbox (recorded); KeyError
        for an unknown channel."""
        from hotspot_monitor.commands.notify_test import test_notification

        self.cfg.alerts.channel(channel_id)
        now = self.clock()
        d = Dispatcher(self.outbox, self.cfg).send_now(test_notification(self.cfg, channel_id, now), now=now)
        return Delivery(d.outbox_id, d.channel, d.attempt, d.result, self.redact(d.error), d.duration_ms,
                        d.at, d.retry_at)

    def redact(self, text: Optional[str]) -> Optional[str]:
        """A second guard: the dispatcher already stores errors without secrets."""
        return redact(text, self._secrets, limit=None)


# -- helpers ----------------------------------------------------------------------------
STATE_ORDER = {"firing": 0, "pending": 1, "resolved": 2}
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _display_order(a: Alert) -> tuple:
    """Firing, then pending (the most severe first), then history; newest first within."""
    when = a.ends_at if a.state == "resolved" and a.ends_at else a.starts_at
    severity = 0 if a.state == "resolved" else SEVERITY_ORDER.get(a.severity, 3)
    return (STATE_ORDER.get(a.state, 3), severity, -when.timestamp(), -a.id)


def _without_internals(a: Alert) -> Alert:
    """A partner's view: no names of city staff, no silence ids or comments."""
    return replace(a, suppressed=None, acked_by=None, ack_comment=None, escalated_at=None)


def channel_target(ch: Any) -> dict[str, str]:
    """Where a channel delivers, never a secret: URL hosts only (paths may carry tokens)."""
    out: dict[str, str] = {}
    for field in ("url", "base_url"):
        v = getattr(ch, field, None)
        if isinstance(v, str) and v:
            out["host"] = urlsplit(v).netloc
    if getattr(ch, "smtp_host", None):
        out["host"] = f"{ch.smtp_host}:{ch.smtp_port}"
    for field, label in (("to", "to"), ("chat_id", "chat"), ("preset", "preset"), ("topic_prefix", "topic")):
        v = getattr(ch, field, None)
        if isinstance(v, (list, tuple)):
            v = ", ".join(str(x) for x in v)
        if isinstance(v, (str, int)) and str(v):
            out[label] = str(v)
    return out


def parse_local(text: str, tz: Any) -> datetime:
    """An ISO date-time (a naive one is local time), as UTC; ValueError when unreadable."""
    t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return utc(t)


def weekly_window(days: list[str], start: str, end: str) -> Weekly:
    """Days and local times (``from`` > ``to`` passes midnight); ValueError when wrong."""
    if not days:
        raise ValueError("pick at least one day")
    bad = [d for d in days if d not in WEEKDAYS]
    if bad:
        raise ValueError(f"unknown day(s): {', '.join(bad)}")
    return Weekly.from_window(TimeWindow.model_validate({"days": days, "from": start, "to": end}))
