"""The ``citizens:`` section: the public status page and problem reports.

Defaults live here; ``check-config`` names FILE:LINE for a forward channel that
does not exist or cannot carry the evidence (only ``email`` and ``webhook``).
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

FORWARD_TYPES = ("email", "webhook")


class CitizensSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="serve /status and accept problem reports")
    locale: Literal["id", "en"] = Field("id", description="the public pages' first language")
    cache_s: float = Field(10.0, ge=0, le=300, description="how long a rendered public page is reused")
    # Indonesian mobile networks put many phones behind one address (carrier-grade NAT): the
    # limits stop one abuser, not a crowd at a park; cached pages are cheap to serve anyway.
    page_requests_per_min: int = Field(600, ge=1, description="public page views per client address and minute")
    reports_per_hour: int = Field(10, ge=1, le=1000, description="problem reports per client address and hour")
    text_max: int = Field(500, ge=20, le=5000, description="characters of a report's free text")
    contact_max: int = Field(100, ge=10, le=500, description="characters of a reporter's contact")
    contact_retention_days: float = Field(30.0, gt=0, description="a reporter's contact is deleted after this")
    fixed_shown_h: float = Field(24.0, ge=0, description="how long 'fixed' stays on the public page")
    forward_channel: Optional[str] = Field(
        None, description="an email or webhook channel of alerts.channels: 'forward to partner' "
        "sends the evidence there (e-mail: to the contacts of the partners covering the site)")
    public_url: Optional[str] = Field(None, pattern=r"^https?://",
                                      description="the address printed on QR posters (default: this server)")


def citizens_errors(data: dict) -> list[tuple[tuple, str]]:
    """(path, message) for a forward channel that is unknown or of a type that cannot carry evidence."""
    cit = data.get("citizens")
    if not isinstance(cit, dict) or not isinstance(cit.get("forward_channel"), str):
        return []
    alerts = data.get("alerts") if isinstance(data.get("alerts"), dict) else {}
    chans = alerts.get("channels") if isinstance(alerts.get("channels"), list) else []
    types = {c.get("id"): c.get("type") for c in chans if isinstance(c, dict)}
    ch = cit["forward_channel"]
    if ch not in types:
        return [(("citizens", "forward_channel"), f"unknown channel {ch!r} (alerts.channels)")]
    if types[ch] not in FORWARD_TYPES:
        return [(("citizens", "forward_channel"), f"channel {ch!r} is {types[ch]}: evidence goes by "
                 f"email or webhook")]
    return []
