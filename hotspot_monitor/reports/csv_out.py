"""The report as CSV: one row per city, district, site and AP (a contract: partners import it).

The first 21 columns are DESIGN.md's contract, in that order; more columns may
only be added after them. Seconds and bytes are integers; ``availability_pct``
and ``sla_target_pct`` have 3 decimals; ``sla_met`` is ``true``/``false``
(empty, like ``availability_pct``, when nothing was monitored); times are ISO
8601 local time with the offset. UTF-8, RFC 4180 (CRLF line ends).
"""
from __future__ import annotations

import csv
import io
from typing import Callable

from .model import Figures, Report, fixed3, seconds

CONTRACT = ("level", "district", "site", "ap", "service_s", "monitored_s", "unmonitored_s", "maintenance_s",
            "excluded_s", "down_s", "availability_pct", "sla_target_pct", "sla_met", "outages",
            "longest_outage_s", "mttr_s", "rx_bytes", "tx_bytes", "peak_clients", "peak_clients_at",
            "client_hours")
EXTRA = ("name", "aps", "month_s", "outside_hours_s", "short_outage_s", "power_cut_s", "site_down_s",
         "rx_apportioned_bytes", "tx_apportioned_bytes", "saturated_hours")
COLUMNS = CONTRACT + EXTRA


def _opt(v: object) -> str:
    return "" if v is None else str(v)


def cells(r: Figures, report: Report) -> dict[str, str]:
    """A row's cells as the CSV writes them (the XLSX writes the same values typed)."""
    at = report.local(r.peak_at_us)
    met = r.sla_met
    return {
        "level": r.level, "district": r.district, "site": r.site, "ap": r.ap,
        "service_s": str(seconds(r.service_us)), "monitored_s": str(seconds(r.monitored_us)),
        "unmonitored_s": str(seconds(r.unmonitored_us)), "maintenance_s": str(seconds(r.maintenance_us)),
        "excluded_s": str(seconds(r.excluded_us)), "down_s": str(seconds(r.down_us)),
        "availability_pct": r.availability_pct, "sla_target_pct": fixed3(r.sla_target),
        "sla_met": "" if met is None else ("true" if met else "false"), "outages": str(r.outages),
        "longest_outage_s": str(seconds(r.longest_us)),
        "mttr_s": "" if r.mttr_us is None else str(seconds(r.mttr_us)),
        "rx_bytes": str(r.rx), "tx_bytes": str(r.tx), "peak_clients": _opt(r.peak_clients),
        "peak_clients_at": "" if at is None else at.isoformat(timespec="seconds"),
        "client_hours": r.client_hours,
        "name": r.name, "aps": str(r.aps), "month_s": str(seconds(r.month_us)),
        "outside_hours_s": str(seconds(r.outside_hours_us)), "short_outage_s": str(seconds(r.short_us)),
        "power_cut_s": str(seconds(r.power_cut_us)),
        "site_down_s": "" if r.site_down_us is None else str(seconds(r.site_down_us)),
        "rx_apportioned_bytes": str(r.rx_apportioned), "tx_apportioned_bytes": str(r.tx_apportioned),
        "saturated_hours": _opt(r.saturated_hours),
    }


def to_csv(report: Report, rows: Callable[[Report], list[Figures]] = lambda r: r.rows) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    w.writeheader()
    for r in rows(report):
        w.writerow(cells(r, report))
    return buf.getvalue().encode("utf-8")
