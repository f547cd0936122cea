"""The ``alerts:`` section of the config: channels, routes, rules, grouping.

Channels are a discriminated union on ``type``: each notifier owns its
settings (STYLE.md: no model branching on channel type elsewhere). Secrets
are ``SecretStr`` and come from ``${ENV}`` references. Durations are written
``30s``, ``5m``, ``4h``, ``3d`` (or plain seconds).
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
SEVERITIES = ("info", "warning", "critical")
LANGUAGES = ("id", "en")


def parse_duration(v: Any) -> float:
    """``"5m"`` -> 300.0; numbers are seconds."""
    if isinstance(v, bool):
        raise ValueError("a duration like 30s, 5m, 4h or 3d")
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError("a duration cannot be negative")
        return float(v)
    m = _DURATION.match(str(v))
    if not m:
        raise ValueError("a duration like 30s, 5m, 4h or 3d")
    return float(m.group(1)) * _UNITS[m.group(2)]


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- channels -------------------------------------------------------------------

class _Channel(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    language: Literal["id", "en"] = "id"
    timeout_s: float = Field(10.0, gt=0, le=120)
    send_resolved: bool = True


class SmtpServer(_Strict):
    """Where and how e-mail is sent: an e-mail channel's server, or a partner's own for
    its monthly report (``partners[].report.smtp``)."""

    smtp_host: str
    smtp_port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    tls: bool = False  # implicit TLS (port 465)
    username: Optional[str] = None
    password: Optional[SecretStr] = None
    from_: str = Field(alias="from")
    ca_file: Optional[str] = None


class EmailChannel(_Channel, SmtpServer):
    type: Literal["email"]
    to: list[str] = Field(min_length=1)


class TelegramChannel(_Channel):
    type: Literal["telegram"]
    bot_token: SecretStr
    chat_id: str
    base_url: str = "https://api.telegram.org"


class WhatsappChannel(_Channel):
    """An HTTP gateway: presets for WAHA and Fonnte, or a generic request."""

    type: Literal["whatsapp"]
    preset: Literal["waha", "fonnte", "generic"] = "waha"
    url: str  # WAHA: the server's base URL; Fonnte: https://api.fonnte.com; generic: the full URL
    api_key: Optional[SecretStr] = None  # WAHA X-Api-Key, Fonnte Authorization token
    session: str = "default"  # WAHA session name
    chat_id: str  # WAHA 62...@c.us or ...@g.us; Fonnte target number(s)
    headers: dict[str, SecretStr] = Field(default_factory=dict)  # generic
    body_template: Optional[str] = None  # generic: JSON with {chat_id} and {text}
    country_code: str = "62"


class WebhookChannel(_Channel):
    type: Literal["webhook"]
    url: str
    secret: Optional[SecretStr] = None  # X-Signature: HMAC-SHA256 of the body
    headers: dict[str, SecretStr] = Field(default_factory=dict)


class MqttChannel(_Channel):
    """Alert JSON to a topic on the configured broker (``mqtt:`` section), retained
    per alert, cleared on resolve."""

    type: Literal["mqtt"]
    topic_prefix: str = "hotspot/alerts"
    qos: int = Field(1, ge=0, le=2)


Channel = Annotated[Union[EmailChannel, TelegramChannel, WhatsappChannel, WebhookChannel, MqttChannel],
                    Field(discriminator="type")]


# -- routes ------------------------------------------------------------------------

class TimeWindow(_Strict):
    """Local time of day (and weekdays) when a route applies; ``from`` > ``to`` passes midnight."""

    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    from_: str = Field("00:00", alias="from", pattern=r"^\d{2}:\d{2}$")
    to: str = Field("24:00", pattern=r"^\d{2}:\d{2}$")


class RouteMatch(_Strict):
    """Every given key must match; a list matches any of its values."""

    rule: Optional[list[str]] = None
    severity: Optional[list[Literal["info", "warning", "critical"]]] = None
    district: Optional[list[str]] = None
    site: Optional[list[str]] = None

    @field_validator("rule", "severity", "district", "site", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Route(_Strict):
    id: Optional[str] = None
    match: RouteMatch = RouteMatch()
    channels: list[str] = Field(min_length=1)
    group_by: list[str] = Field(default_factory=lambda: ["site"])
    group_wait: Duration = 30.0
    group_interval: Duration = 300.0
    repeat_interval: Duration = 4 * 3600.0
    when: Optional[TimeWindow] = None
    escalate_after: Optional[Duration] = None  # unacknowledged this long: also to escalate_to
    escalate_to: list[str] = Field(default_factory=list)
    continue_: bool = Field(False, alias="continue")


# -- rules ---------------------------------------------------------------------------

class RuleOverride(_Strict):
    """Settings for part of the fleet; the most specific match wins (ap > site > district)."""

    ap: Optional[str] = None
    site: Optional[str] = None
    district: Optional[str] = None
    enabled: Optional[bool] = None
    for_: Optional[Duration] = Field(None, alias="for")
    severity: Optional[Literal["info", "warning", "critical"]] = None
    threshold: Optional[float] = None
    days: Optional[float] = Field(None, gt=0)


class RuleSettings(_Strict):
    enabled: Optional[bool] = None
    for_: Optional[Duration] = Field(None, alias="for")
    severity: Optional[Literal["info", "warning", "critical"]] = None
    threshold: Optional[float] = None  # percent, degrees: the rule's unit (docs/alerts.md)
    days: Optional[float] = Field(None, gt=0)  # missing_device
    only_in_service_hours: Optional[bool] = None
    overrides: list[RuleOverride] = Field(default_factory=list)


class Maintenance(_Strict):
    """A planned maintenance window from the config (more can be added at run time)."""

    ap: Optional[str] = None
    site: Optional[str] = None
    district: Optional[str] = None
    start: Optional[str] = None  # ISO 8601 (one-off)
    end: Optional[str] = None
    weekly: Optional[TimeWindow] = None  # recurring
    comment: str = ""
    author: str = "config"


class AlertsSettings(_Strict):
    enabled: bool = True
    evaluate_every_s: float = Field(15.0, gt=0)
    dashboard_url: Optional[str] = None  # links in messages, e.g. https://wifi.surakarta.go.id
    channels: list[Channel] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    rules: dict[str, RuleSettings] = Field(default_factory=dict)
    maintenance: list[Maintenance] = Field(default_factory=list)
    max_attempts: int = Field(8, ge=1, le=50)

    def channel(self, channel_id: str) -> Channel:
        for c in self.channels:
            if c.id == channel_id:
                return c
        raise KeyError(channel_id)


def alerts_errors(data: dict, sites: set, aps: set, controllers: set, districts: set
                  ) -> list[tuple[tuple, str]]:
    """Cross-references of the ``alerts:`` section ((path, message) pairs, as
    ``config.models.semantic_errors``): channels named by routes exist, rule
    names are known, overrides and maintenance name real APs, sites, districts."""
    from .rules import DEFAULTS  # rules import the config models

    errs: list[tuple[tuple, str]] = []
    channels = [c for c in _list(data.get("channels")) if isinstance(c, dict)]
    ids: set = set()
    for i, c in enumerate(channels):
        if not isinstance(c.get("id"), str):  # a wrong shape: pydantic reports it
            continue
        if c.get("id") in ids:
            errs.append((("alerts", "channels", i, "id"), f"duplicate channel id {c.get('id')!r}"))
        ids.add(c.get("id"))
    for i, r in enumerate(_list(data.get("routes"))):
        if not isinstance(r, dict):
            continue
        for key in ("channels", "escalate_to"):
            for j, ch in enumerate(_list(r.get(key))):
                if isinstance(ch, str) and ch not in ids:
                    errs.append((("alerts", "routes", i, key, j), f"unknown channel {ch!r}"))
    rules = data.get("rules") if isinstance(data.get("rules"), dict) else {}
    for name, rs in rules.items():
        if name not in DEFAULTS:
            errs.append((("alerts", "rules", name), f"unknown rule; known: {', '.join(sorted(DEFAULTS))}"))
            continue
        for j, o in enumerate(_list(rs.get("overrides")) if isinstance(rs, dict) else []):
            if isinstance(o, dict):
                errs += _refs(("alerts", "rules", name, "overrides", j), o, sites, aps, districts)
    for i, m in enumerate(_list(data.get("maintenance"))):
        if isinstance(m, dict):
            errs += _refs(("alerts", "maintenance", i), m, sites, aps, districts)
    return errs


def _list(v: object) -> list:
    """A list where one belongs; anything else (pydantic reports it) as empty."""
    return v if isinstance(v, list) else []


def _refs(path: tuple, d: dict, sites: set, aps: set, districts: set) -> list[tuple[tuple, str]]:
    out = []
    for key, known in (("ap", aps), ("site", sites), ("district", districts)):
        v = d.get(key)
        if isinstance(v, (str, int, float)) and v not in known:
            out.append((path + (key,), f"unknown {key} {v!r}"))
    return out
