"""A report month and its boundaries in the configured time zone.

A month is ``[local midnight of the 1st, local midnight of the next 1st)``,
converted to UTC with ``zoneinfo`` (so a DST change inside the month makes it
an hour shorter or longer, as a wall clock would; Asia/Jakarta has none).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """``"2026-10"`` -> Month(2026, 10); a clear ValueError otherwise."""
        m = _MONTH.match(str(text).strip())
        if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1971:
            raise ValueError(f"not a month: {text!r} (expected YYYY-MM, e.g. 2026-10)")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, t: datetime, tz: tzinfo) -> "Month":
        """The month that the instant ``t`` falls in, in local time."""
        local = t.astimezone(tz)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> "Month":
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> "Month":
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def start(self, tz: tzinfo) -> datetime:
        """Local midnight of the 1st, as an aware UTC datetime."""
        return datetime(self.year, self.month, 1, tzinfo=tz).astimezone(timezone.utc)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """``[start, end)`` in UTC."""
        return self.start(tz), self.next().start(tz)


MONTH_NAMES = {
    "id": ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
           "Oktober", "November", "Desember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
}


def month_label(m: Month, language: str) -> str:
    """``Oktober 2026`` / ``October 2026``."""
    return f"{MONTH_NAMES.get(language, MONTH_NAMES['en'])[m.month - 1]} {m.year}"
