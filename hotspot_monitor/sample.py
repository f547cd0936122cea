"""The one currency between collectors and stores (see DESIGN.md)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Union

FieldValue = Union[int, float, bool, str]


def utc(t: datetime) -> datetime:
    """Return ``t`` as an aware UTC datetime; naive values are taken as UTC."""
    if t.tzinfo is None:
        return t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc)


def to_us(t: datetime) -> int:
    """Microseconds since the epoch: the storage resolution of every store."""
    t = utc(t)
    return (t - _EPOCH) // _US


def from_us(us: int) -> datetime:
    return _EPOCH + us * _US


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement at one instant: what InfluxDB calls a point.

    ``tags`` identify the series (site, ap, radio, iface...), ``fields`` hold the
    values. Times are aware UTC datetimes with microsecond resolution.
    """

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", utc(self.time))
        object.__setattr__(self, "tags", dict(self.tags))
        object.__setattr__(self, "fields", dict(self.fields))

    def to_json(self) -> str:
        """One line of JSON, as printed by ``poll --json``."""
        return json.dumps(
            {
                "measurement": self.measurement,
                "tags": dict(sorted(self.tags.items())),
                "fields": self.fields,
                "time": self.time.isoformat().replace("+00:00", "Z"),
            },
            ensure_ascii=False,
            sort_keys=False,
        )

    @classmethod
    def from_json(cls, text: str) -> "Sample":
        d: dict[str, Any] = json.loads(text)
        t = d["time"].replace("Z", "+00:00")
        return cls(d["measurement"], d["tags"], d["fields"], datetime.fromisoformat(t))
