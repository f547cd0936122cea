"""Citizens' reports in the monthly report: per site, how many, how fast acknowledged and fixed.

For the lead's report package to call (it is not wired here):

    report_stats(states_or_engine, start_utc, end_utc, sites) -> list[SiteReportStats]

* ``reports``: reports received in ``[start, end)`` (their ``created_at``) at the site;
* ``tickets``: tickets opened in ``[start, end)`` (merged duplicates not counted);
* time to acknowledge: ``acked_at - opened_at`` of those tickets that were acknowledged
  (any operator action: status, link, merge, forward), by ``end``;
* time to fix: ``fixed_at - opened_at`` of those tickets fixed by ``end``.

Medians and means in seconds, None when there is nothing to measure. Tickets
opened in the month are followed to ``end``: an acknowledgement after the
month's end does not count yet (the report is reproducible once written).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional, Union

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ..status.statestore import StateStore
from .tables import ReportRow, TicketRow, create_tables


@dataclass(frozen=True, slots=True)
class SiteReportStats:
    site: str
    reports: int
    tickets: int
    acknowledged: int
    median_ack_s: Optional[float]
    mean_ack_s: Optional[float]
    fixed: int
    median_fix_s: Optional[float]
    mean_fix_s: Optional[float]


def _median(xs: list[float]) -> Optional[float]:
    return float(statistics.median(xs)) if xs else None


def _mean(xs: list[float]) -> Optional[float]:
    return float(statistics.fmean(xs)) if xs else None


def report_stats(states: Union[StateStore, Engine], start: datetime, end: datetime,
                 sites: Iterable[str]) -> list[SiteReportStats]:
    """One row per site of ``sites`` (in that order), zeros where nothing was reported."""
    engine = states.engine if isinstance(states, StateStore) else states
    create_tables(engine)
    t, r = TicketRow.__table__, ReportRow.__table__
    with engine.connect() as c:
        reports: dict[str, int] = {}
        for site, in c.execute(select(r.c.site).where(r.c.created_at >= start, r.c.created_at < end)):
            reports[site] = reports.get(site, 0) + 1
        tickets = list(c.execute(select(t).where(t.c.opened_at >= start, t.c.opened_at < end,
                                                 t.c.merged_into.is_(None))).mappings())
    out = []
    for site in sites:
        mine = [x for x in tickets if x["site"] == site]
        ack = [(x["acked_at"] - x["opened_at"]).total_seconds() for x in mine
               if x["acked_at"] is not None and x["acked_at"] < end]
        fix = [(x["fixed_at"] - x["opened_at"]).total_seconds() for x in mine
               if x["fixed_at"] is not None and x["fixed_at"] < end]
        out.append(SiteReportStats(site, reports.get(site, 0), len(mine), len(ack), _median(ack), _mean(ack),
                                   len(fix), _median(fix), _mean(fix)))
    return out
