"""The monthly report as data: what every output format (CSV, XLSX, HTML, PDF) writes.

All times are integer microseconds and all byte counts integers until a
format writes them; the rounding rules live here, in one place (docs/report.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Optional
from zoneinfo import ZoneInfo

from ..citizens.monthly import SiteReportStats
from ..sample import from_us
from .accounting import OutageLine
from .period import Month
from .rules import AccountingRules, ReportScope

LEVELS = ("city", "district", "site", "ap")
US = 1_000_000


def seconds(us: int) -> int:
    """Whole seconds, half up (every row is rounded from its own exact sum)."""
    return (us + US // 2) // US


def fixed3(value: Fraction) -> str:
    """A non-negative fraction with 3 decimals, half up: ``99.9995`` -> ``"100.000"``."""
    q = (value * 1000 * 2 + 1) // 2
    return f"{q // 1000}.{q % 1000:03d}"


@dataclass(slots=True)
class Figures:
    """One row of the report: an AP, a site, a district or the city."""

    level: str
    district: str = ""
    site: str = ""
    ap: str = ""
    name: str = ""
    aps: int = 0
    month_us: int = 0
    service_us: int = 0
    maintenance_us: int = 0
    monitored_us: int = 0
    down_us: int = 0
    short_us: int = 0
    power_cut_us: int = 0
    site_down_us: Optional[int] = None  # sites and above
    outages: int = 0
    longest_us: int = 0
    rx: int = 0
    tx: int = 0
    rx_apportioned: int = 0
    tx_apportioned: int = 0
    peak_clients: Optional[int] = None
    peak_at_us: Optional[int] = None
    client_ms: int = 0
    saturated_hours: Optional[int] = None
    busiest_pct: Optional[float] = None
    busiest_at_us: Optional[int] = None
    sla_target: Fraction = Fraction(95)

    @property
    def unmonitored_us(self) -> int:
        return self.service_us - self.maintenance_us - self.monitored_us

    @property
    def excluded_us(self) -> int:
        return self.short_us + self.power_cut_us

    @property
    def outside_hours_us(self) -> int:
        return self.month_us - self.service_us

    @property
    def availability(self) -> Optional[Fraction]:
        """Percent, exact; None when nothing was monitored (never 100 %)."""
        if self.monitored_us <= 0:
            return None
        return Fraction(100 * (self.monitored_us - self.down_us), self.monitored_us)

    @property
    def availability_pct(self) -> str:
        a = self.availability
        return "" if a is None else fixed3(a)

    @property
    def sla_met(self) -> Optional[bool]:
        a = self.availability
        return None if a is None else a >= self.sla_target

    @property
    def mttr_us(self) -> Optional[int]:
        return None if self.outages == 0 else (2 * self.down_us + self.outages) // (2 * self.outages)

    @property
    def client_hours(self) -> str:
        """Client-hours with 3 decimals, half up (exact from milli-client-seconds)."""
        return fixed3(Fraction(self.client_ms, 3_600_000))

    def add(self, o: "Figures") -> None:
        """Sum an AP's or a site's figures into this aggregate (AP-time weighted)."""
        for f in ("aps", "month_us", "service_us", "maintenance_us", "monitored_us", "down_us", "short_us",
                  "power_cut_us", "outages", "rx", "tx", "rx_apportioned", "tx_apportioned", "client_ms"):
            setattr(self, f, getattr(self, f) + getattr(o, f))
        self.longest_us = max(self.longest_us, o.longest_us)
        if o.level == "site":
            self.site_down_us = (self.site_down_us or 0) + (o.site_down_us or 0)
            if o.saturated_hours is not None:
                self.saturated_hours = (self.saturated_hours or 0) + o.saturated_hours

    def key(self) -> tuple[str, str]:
        return (self.level, {"city": "", "district": self.district, "site": self.site, "ap": self.ap}[self.level])


@dataclass(frozen=True, slots=True)
class Report:
    month: Month
    scope: ReportScope
    rules: AccountingRules
    city: str
    tz: ZoneInfo
    start: datetime
    end: datetime
    generated_at: datetime
    rows: list[Figures]  # city, districts, sites, APs
    lines: list[OutageLine]  # the appendix: every outage overlapping the month
    previous: dict[tuple[str, str], Figures]  # the month before, same rules (no hourly figures)
    heat: list[list[Optional[float]]]  # 7 x 24 mean concurrent clients, Monday first
    daily: list[tuple[datetime, int, int]]  # local day start, uplink rx, tx (by interval end)
    site_names: dict[str, str] = field(default_factory=dict)
    crossing: int = 0  # intervals crossing one of the month's edges
    citizens: list[SiteReportStats] = field(default_factory=list)  # citizens' problem reports per site

    def level(self, level: str) -> list[Figures]:
        return [r for r in self.rows if r.level == level]

    @property
    def total(self) -> Figures:
        return self.rows[0]

    def local(self, us: Optional[int]) -> Optional[datetime]:
        return None if us is None else from_us(us).astimezone(self.tz)

    def ranked_sites(self) -> list[Figures]:
        """Sites with monitored time, best availability first (ties: by id)."""
        sites = [r for r in self.level("site") if r.availability is not None]
        return sorted(sites, key=lambda r: (-r.availability, r.site))  # type: ignore[operator]
