"""The accounting rules of a report and the part of the city it covers.

A partner's rules come from ``partners[].report`` (docs/report.md); a report
for the whole city, without a partner, uses the same defaults.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Optional

from ..config.models import Config, Partner, PartnerReport


@dataclass(frozen=True, slots=True)
class AccountingRules:
    sla_target_pct: float
    min_outage_s: float
    exclude_maintenance: bool
    exclude_outside_hours: bool
    exclude_power_cuts: bool

    @classmethod
    def of(cls, cfg: Config, settings: PartnerReport) -> "AccountingRules":
        target = settings.sla_target_pct if settings.sla_target_pct is not None else cfg.web.sla_target_pct
        return cls(float(target), float(settings.min_outage_s), "maintenance" in settings.exclude,
                   "outside_service_hours" in settings.exclude, "power_cut" in settings.exclude)

    @property
    def target(self) -> Fraction:
        """The target as an exact fraction of the decimal written in the config (95.5 = 191/2)."""
        return Fraction(Decimal(repr(self.sla_target_pct)))

    @property
    def min_outage_us(self) -> int:
        return round(self.min_outage_s * 1_000_000)


@dataclass(frozen=True, slots=True)
class ReportScope:
    """Whose report: a partner (its sites) or the whole city (``partner`` None)."""

    partner: Optional[Partner]
    sites: frozenset[str]

    @property
    def key(self) -> str:
        """File and database name of the scope: the partner id, or ``city``."""
        return self.partner.id if self.partner is not None else "city"

    @property
    def settings(self) -> PartnerReport:
        return self.partner.report if self.partner is not None else PartnerReport()


def scope_for(cfg: Config, partner_id: Optional[str]) -> ReportScope:
    """The scope of ``partner_id`` (None: every site); KeyError for an unknown partner."""
    if partner_id is None:
        return ReportScope(None, frozenset(s.id for s in cfg.sites))
    p = next((x for x in cfg.partners if x.id == partner_id), None)
    if p is None:
        raise KeyError(partner_id)
    sites = frozenset(s.id for s in cfg.sites) if p.sites == "all" else frozenset(p.sites)
    return ReportScope(p, sites)


def rules_for(cfg: Config, scope: ReportScope) -> AccountingRules:
    return AccountingRules.of(cfg, scope.settings)
