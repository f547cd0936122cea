"""The report as an Excel workbook (openpyxl): the rules, a sheet per level, the outages.

Each level's sheet has the CSV's columns (the header names the contract column
too), typed: integers with thousands separators, availability with 3
decimals, local times as Excel date-times (the sheet says the zone).
"""
from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Optional

from .csv_out import COLUMNS, cells
from .model import Report, seconds
from .texts import texts
from .view import View

INT, PCT, HOURS, TIME = "#,##0", "0.000", "#,##0.000", "yyyy-mm-dd hh:mm:ss"
FORMATS = {"availability_pct": PCT, "sla_target_pct": PCT, "client_hours": HOURS, "peak_clients_at": TIME}
TEXT = {"level", "district", "site", "ap", "sla_met", "name"}
SHEETS = (("city", "city"), ("district", "by_district"), ("site", "by_site"), ("ap", "by_ap"))


def _naive(t: Optional[datetime]) -> Optional[datetime]:
    return None if t is None else t.replace(tzinfo=None)


def _typed(col: str, text: str, r: Any, report: Report) -> Any:
    if text == "":
        return None
    if col in TEXT:
        return text
    if col == "peak_clients_at":
        return _naive(report.local(r.peak_at_us))
    if col in ("availability_pct", "sla_target_pct", "client_hours"):
        return float(text)
    return int(text)


def to_xlsx(report: Report, language: str = "id") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    t = texts(language)
    v = View(report, language)
    wb = Workbook()
    bold = Font(bold=True)
    rules = wb.active
    rules.title = t["sheet_rules"]
    for row in [(v.title, v.subtitle), (t["period"], v.period),
                (t["generated"], v.time(report.generated_at)), ("", ""), *v.rules(),
                ("", t["rule_formula"]), ("", t["rule_unmonitored"]), ("", ""), *v.summary()]:
        rules.append(list(row))
    for c in rules["A"]:
        c.font = bold
    rules.column_dimensions["A"].width = 42
    rules.column_dimensions["B"].width = 90
    for level, title in SHEETS:
        ws = wb.create_sheet((t[title] if title != "city" else t["city"])[:31])
        ws.append([f"{_label(col, t)} ({col})" for col in COLUMNS])
        for c in ws[1]:
            c.font = bold
            c.alignment = Alignment(wrap_text=True, vertical="top")
        for r in report.level(level):
            cs = cells(r, report)
            ws.append([_typed(col, cs[col], r, report) for col in COLUMNS])
        for i, col in enumerate(COLUMNS, start=1):
            fmt = FORMATS.get(col, None if col in TEXT else INT)
            letter = ws.cell(row=1, column=i).column_letter
            ws.column_dimensions[letter].width = 14 if col not in ("name", "peak_clients_at") else 22
            if fmt:
                for cell in ws[letter][1:]:
                    cell.number_format = fmt
        ws.freeze_panes = "E2"
        ws.cell(row=ws.max_row + 2, column=1, value=f"{t['peak_at']}: {report.tz.key}")
    _outages(wb, report, v, t, bold)
    _citizens(wb, report, t, bold)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _label(col: str, t: dict[str, str]) -> str:
    words = {"service_s": "service", "monitored_s": "monitored", "unmonitored_s": "unmonitored",
             "maintenance_s": "maintenance", "excluded_s": "excluded_time", "down_s": "down",
             "availability_pct": "availability", "sla_target_pct": "rule_target", "sla_met": "sla",
             "outages": "outages", "longest_outage_s": "longest", "mttr_s": "mttr", "rx_bytes": "rx",
             "tx_bytes": "tx", "peak_clients": "peak", "peak_clients_at": "peak_at",
             "client_hours": "client_hours", "district": "district", "site": "site", "ap": "ap",
             "aps": "aps", "outside_hours_s": "outside_hours", "short_outage_s": "short_outages",
             "power_cut_s": "power_cuts", "site_down_s": "site_down", "saturated_hours": "saturated"}
    return t.get(words.get(col, ""), col)


def _outages(wb: Any, report: Report, v: View, t: dict[str, str], bold: Any) -> None:
    ws = wb.create_sheet(t["sheet_outages"])
    head = ["id", "ap", "site", f"{t['start']} ({report.tz.key})", f"{t['end']} ({report.tz.key})",
            "duration_s", "in_month_s", "outside_hours_s", "maintenance_s", "unmonitored_s", "monitored_s",
            "counted_s", "excluded_s", "reason", "power_cut", "status", t["why"]]
    ws.append(head)
    for c in ws[1]:
        c.font = bold
    for ln in report.lines:
        o = ln.outage
        ws.append([o.id, o.ap, ln.site, _naive(o.start.astimezone(report.tz)),
                   _naive(o.end.astimezone(report.tz)) if o.end else None, seconds(ln.full_us),
                   seconds(ln.in_month_us), seconds(ln.outside_hours_us), seconds(ln.maintenance_us),
                   seconds(ln.unmonitored_us), seconds(ln.monitored_us), seconds(ln.counted_us),
                   seconds(ln.excluded_us), o.reason, "yes" if ln.power_cut else "no", ln.status, v.why(ln)])
    for letter in "DE":
        ws.column_dimensions[letter].width = 20
        for cell in ws[letter][1:]:
            cell.number_format = TIME
    for letter in "FGHIJKLM":
        for cell in ws[letter][1:]:
            cell.number_format = INT
    ws.column_dimensions["Q"].width = 60
    ws.freeze_panes = "C2"





def _citizens(wb: Any, report: Report, t: dict[str, str], bold: Any) -> None:
    """Citizens' problem reports per site; times in seconds (median, mean) for spreadsheets."""
    ws = wb.create_sheet(t["sheet_citizens"][:31])
    ws.append(["site", "name", "reports", "tickets", "acknowledged", "median_ack_s", "mean_ack_s", "fixed",
               "median_fix_s", "mean_fix_s"])
    for c in ws[1]:
        c.font = bold
    for s in report.citizens:
        ws.append([s.site, report.site_names.get(s.site, s.site), s.reports, s.tickets, s.acknowledged,
                   _round(s.median_ack_s), _round(s.mean_ack_s), s.fixed, _round(s.median_fix_s),
                   _round(s.mean_fix_s)])


def _round(x: Optional[float]) -> Optional[int]:
    return None if x is None else round(x)
