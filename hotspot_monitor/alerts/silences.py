"""Silences and maintenance windows: who muted what, when, and why.

Both match alerts by ``ap`` / ``site`` / ``district`` / ``rule`` (all given
keys must match; none = everything), one-off or weekly (local time, days of
the week, a window that may pass midnight). A *silence* only mutes
notifications. *Maintenance* also mutes, and is planned downtime: the
availability figures and the monthly report list it apart
(:meth:`SilenceStore.maintenance_windows`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Optional

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from ..config.models import WEEKDAYS, Config
from ..sample import utc
from ..status.availability import MaintenanceWindow
from .config import AlertsSettings, TimeWindow
from .tables import SilenceRow, create_tables

MATCH_KEYS = ("ap", "site", "district", "rule")


@dataclass(frozen=True)
class Weekly:
    """Days of the week and a local time window (``from`` > ``to`` passes midnight)."""

    days: tuple[str, ...]
    start: time
    end: Optional[time]  # None = 24:00

    @classmethod
    def from_window(cls, w: TimeWindow) -> "Weekly":
        return cls(tuple(w.days), _hhmm(w.from_), None if w.to == "24:00" else _hhmm(w.to))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Weekly":
        return cls(tuple(d["days"]), _hhmm(d["from"]), None if d["to"] == "24:00" else _hhmm(d["to"]))

    def to_dict(self) -> dict[str, Any]:
        return {"days": list(self.days), "from": self.start.strftime("%H:%M"),
                "to": "24:00" if self.end is None else self.end.strftime("%H:%M")}

    def intervals(self, start: datetime, end: datetime, tz: tzinfo) -> list[tuple[datetime, datetime]]:
        """The UTC intervals of this window inside ``[start, end)``."""
        out = []
        d: date = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date()
        while d <= last:
            if WEEKDAYS[d.weekday()] in self.days:
                a = datetime.combine(d, self.start, tz)
                close_day = d if self.end is not None and self.end > self.start else d + timedelta(days=1)
                b = datetime.combine(close_day, self.end or time(0, 0), tz)
                a, b = max(utc(a), utc(start)), min(utc(b), utc(end))
                if a < b:
                    out.append((a, b))
            d += timedelta(days=1)
        return out

    def active(self, now: datetime, tz: tzinfo) -> bool:
        return bool(self.intervals(now, now + timedelta(microseconds=1), tz))


def _hhmm(s: str) -> time:
    h, m = (int(x) for x in s.split(":"))
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"not a time of day: {s!r}")
    return time(h, m)


@dataclass(frozen=True)
class Silence:
    id: int
    kind: str  # silence | maintenance
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    weekly: Optional[Weekly]
    author: str
    comment: str
    created_at: datetime
    expired_at: Optional[datetime] = None

    def matches(self, rule: str, labels: dict[str, str]) -> bool:
        have = {**labels, "rule": rule}
        return all(have.get(k) == v for k, v in self.matchers.items())

    def active(self, now: datetime, tz: tzinfo) -> bool:
        end = self.ends_at if self.expired_at is None else min(self.ends_at, self.expired_at)
        if not self.starts_at <= now < end:
            return False
        return self.weekly is None or self.weekly.active(now, tz)

    def intervals(self, start: datetime, end: datetime, tz: tzinfo) -> list[tuple[datetime, datetime]]:
        """When this silence is in force inside ``[start, end)`` (UTC)."""
        stop = self.ends_at if self.expired_at is None else min(self.ends_at, self.expired_at)
        lo, hi = max(utc(start), self.starts_at), min(utc(end), stop)
        if lo >= hi:
            return []
        return [(lo, hi)] if self.weekly is None else self.weekly.intervals(lo, hi, tz)


class SilenceStore:
    """Silences and maintenance in the state store, plus those of the config."""

    def __init__(self, engine: Engine, cfg: Config, settings: AlertsSettings):
        self.engine = engine
        self.cfg = cfg
        create_tables(engine)
        self._config_windows = [self._from_config(i, m) for i, m in enumerate(settings.maintenance)]

    def _from_config(self, i: int, m: Any) -> Silence:
        matchers = {k: v for k, v in (("ap", m.ap), ("site", m.site), ("district", m.district)) if v}
        far = datetime(9999, 1, 1, tzinfo=timezone.utc)
        start = utc(datetime.fromisoformat(m.start)) if m.start else datetime(1970, 1, 2, tzinfo=timezone.utc)
        end = utc(datetime.fromisoformat(m.end)) if m.end else far
        return Silence(-(i + 1), "maintenance", matchers, start, end,
                       Weekly.from_window(m.weekly) if m.weekly else None, m.author, m.comment, start)

    def add(self, *, kind: str, matchers: dict[str, str], starts_at: datetime, ends_at: datetime,
            author: str, comment: str, weekly: Optional[Weekly] = None,
            now: Optional[datetime] = None) -> int:
        if kind not in ("silence", "maintenance"):
            raise ValueError("kind must be silence or maintenance")
        bad = set(matchers) - set(MATCH_KEYS)
        if bad:
            raise ValueError(f"unknown matcher(s) {sorted(bad)}; use {', '.join(MATCH_KEYS)}")
        if utc(ends_at) <= utc(starts_at):
            raise ValueError("a silence must end after it starts")
        if not author.strip():
            raise ValueError("a silence needs an author")
        t = SilenceRow.__table__
        with self.engine.begin() as c:
            res = c.execute(insert(t).values(
                kind=kind, matchers=json.dumps(matchers, sort_keys=True), starts_at=starts_at,
                ends_at=ends_at, weekly=json.dumps(weekly.to_dict()) if weekly else None,
                author=author, comment=comment, created_at=now or datetime.now(timezone.utc)))
            return int(res.inserted_primary_key[0])

    def expire(self, silence_id: int, now: datetime) -> bool:
        """End a silence early; False if unknown or already over."""
        t = SilenceRow.__table__
        with self.engine.begin() as c:
            return c.execute(update(t).where(t.c.id == silence_id, t.c.expired_at.is_(None),
                                             t.c.ends_at > now)
                             .values(expired_at=now)).rowcount == 1

    def all(self, *, include_config: bool = True) -> list[Silence]:
        t = SilenceRow.__table__
        with self.engine.connect() as c:
            rows = c.execute(select(t).order_by(t.c.starts_at, t.c.id)).mappings().all()
        out = [Silence(r["id"], r["kind"], json.loads(r["matchers"]), r["starts_at"], r["ends_at"],
                       Weekly.from_dict(json.loads(r["weekly"])) if r["weekly"] else None,
                       r["author"], r["comment"], r["created_at"], r["expired_at"]) for r in rows]
        return (self._config_windows + out) if include_config else out

    def active(self, now: datetime) -> list[Silence]:
        return [s for s in self.all() if s.active(now, self.cfg.tz)]

    def maintenance_windows(self, start: datetime, end: datetime) -> list[MaintenanceWindow]:
        """Planned maintenance inside ``[start, end)`` for availability and the report.

        A district or rule matcher is expanded to its sites; a rule-only
        maintenance (muting one rule) is no planned downtime and is left out.
        """
        sites_in = {}
        for s in self.cfg.sites:
            sites_in.setdefault(s.district, []).append(s.id)
        out: list[MaintenanceWindow] = []
        for m in self.all():
            if m.kind != "maintenance" or "rule" in m.matchers:
                continue
            for a, b in m.intervals(start, end, self.cfg.tz):
                if "ap" in m.matchers:
                    out.append(MaintenanceWindow(a, b, ap=m.matchers["ap"]))
                elif "site" in m.matchers:
                    out.append(MaintenanceWindow(a, b, site=m.matchers["site"]))
                elif "district" in m.matchers:
                    out += [MaintenanceWindow(a, b, site=s) for s in sites_in.get(m.matchers["district"], [])]
                else:
                    out.append(MaintenanceWindow(a, b))
        return out
