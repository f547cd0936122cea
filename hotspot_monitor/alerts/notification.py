"""What a notifier is handed: one notification about a group of alerts.

The alert manager writes notifications to the outbox as JSON
(:meth:`Notification.to_json`); the dispatcher reads them back and hands
them to the channel's notifier. Everything a message needs is in here, so a
notifier never reads the stores.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Optional

from ..sample import utc

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class AlertView:
    """One alert as a message shows it."""

    fingerprint: str
    rule: str  # ap_down, site_down, ...
    severity: str  # info | warning | critical
    status: str  # firing | resolved
    starts_at: datetime
    ends_at: Optional[datetime] = None
    labels: dict[str, str] = field(default_factory=dict)  # site, site_name, district, ap, controller...
    value: Optional[float] = None  # the measured value (cpu %, saturation %...)
    details: dict[str, Any] = field(default_factory=dict)  # aps_down, aps_total, lat, lon, down_s...
    acked_by: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["starts_at"] = utc(self.starts_at).isoformat()
        d["ends_at"] = utc(self.ends_at).isoformat() if self.ends_at else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AlertView":
        d = dict(d)
        d["starts_at"] = utc(datetime.fromisoformat(d["starts_at"]))
        d["ends_at"] = utc(datetime.fromisoformat(d["ends_at"])) if d.get("ends_at") else None
        return cls(**d)


@dataclass(frozen=True)
class Notification:
    """One message to one channel about one alert group."""

    channel: str
    group_key: str  # route id + grouping labels, e.g. "default|site=balekambang"
    status: str  # firing (any alert firing) | resolved (all resolved)
    alerts: list[AlertView]
    created_at: datetime
    kind: str = "alert"  # alert | escalation | test | report
    dashboard_url: Optional[str] = None
    group_labels: dict[str, str] = field(default_factory=dict)
    version: int = SCHEMA_VERSION

    @property
    def firing(self) -> list[AlertView]:
        return [a for a in self.alerts if a.status == "firing"]

    @property
    def resolved(self) -> list[AlertView]:
        return [a for a in self.alerts if a.status == "resolved"]

    def to_json(self) -> str:
        d = asdict(self)
        d["alerts"] = [a.to_dict() for a in self.alerts]
        d["created_at"] = utc(self.created_at).isoformat()
        return json.dumps(d, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Notification":
        d = json.loads(text)
        d["alerts"] = [AlertView.from_dict(a) for a in d["alerts"]]
        d["created_at"] = utc(datetime.fromisoformat(d["created_at"]))
        return cls(**d)
