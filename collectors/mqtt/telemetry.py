"""MQTT JSON telemetry schema v1: the contract between APs (or the simulator)
and the MQTT collector.

Topic ``<prefix>/<site>/<ap>/telemetry``, payload UTF-8 JSON::

    {"v": 1, "ts": 1700000000.5, "uptime_s": 1234,
     "clients": {"2.4GHz": 3, "5GHz": 7},
     "ifaces": {"wlan0": {"rx_bytes": 123, "tx_bytes": 456, "bits": 64, "speed_mbps": 300}},
     "cpu_pct": 12.5, "mem_pct": 40.0, "temp_c": 51.0}

Only ``v`` and ``ts`` are required; ``bits`` defaults to 64; ``speed_mbps``
(optional) is what the interface can carry and bounds 32-bit counter wraps. Presence is the
retained ``<prefix>/<site>/<ap>/status`` topic holding ``online`` or
``offline`` (``offline`` is the AP's MQTT last will).

This module's public API (``TelemetryV1``, ``IfaceCounters``,
``encode_telemetry``, ``decode_telemetry``, ``telemetry_topic``,
``status_topic``, ``ONLINE``, ``OFFLINE``) is imported by the simulator: keep it
stable.
"""
from __future__ import annotations

import json
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

ONLINE = b"online"
OFFLINE = b"offline"

Radio = Literal["2.4GHz", "5GHz", "6GHz", "all"]


class IfaceCounters(BaseModel):
    """Raw interface byte counters as read on the device (they wrap)."""

    model_config = ConfigDict(extra="ignore")

    rx_bytes: int = Field(ge=0)
    tx_bytes: int = Field(ge=0)
    bits: Literal[32, 64] = 64
    speed_mbps: Optional[float] = Field(None, gt=0, le=1e6, description="link speed: bounds counter wraps")


class TelemetryV1(BaseModel):
    """One telemetry message. Unknown keys are ignored (forward compatible)."""

    model_config = ConfigDict(extra="ignore")

    v: Literal[1] = 1
    ts: float = Field(description="epoch seconds, device clock")
    uptime_s: Optional[int] = Field(None, ge=0, le=10**10)
    # Keys should be Radio values; other keys are accepted here and counted as
    # unknown metrics by the collector, so one odd radio does not drop a message.
    clients: dict[str, int] = Field(default_factory=dict)
    ifaces: dict[str, IfaceCounters] = Field(default_factory=dict)
    cpu_pct: Optional[float] = None
    mem_pct: Optional[float] = None
    temp_c: Optional[float] = None


def encode_telemetry(t: TelemetryV1) -> bytes:
    """Compact UTF-8 JSON; absent optional fields are left out."""
    d = t.model_dump(exclude_none=True)
    if not d.get("clients"):
        d.pop("clients", None)
    if not d.get("ifaces"):
        d.pop("ifaces", None)
    return json.dumps(d, separators=(",", ":"), allow_nan=False).encode("utf-8")


def decode_telemetry(payload: bytes) -> TelemetryV1:
    """Parse and validate; raises ``ValueError`` (pydantic's ValidationError is one)."""
    return TelemetryV1.model_validate_json(payload)


def telemetry_topic(prefix: str, site: str, ap: str) -> str:
    return f"{prefix.rstrip('/')}/{site}/{ap}/telemetry"


def status_topic(prefix: str, site: str, ap: str) -> str:
    return f"{prefix.rstrip('/')}/{site}/{ap}/status"
