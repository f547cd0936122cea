"""One entry point for every format: ``render(report, fmt, language) -> bytes``."""
from __future__ import annotations

from .model import Report

FORMATS = ("csv", "xlsx", "html", "pdf")
MIME = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def render(report: Report, fmt: str, language: str = "id") -> bytes:
    if fmt == "csv":
        from .csv_out import to_csv
        return to_csv(report)
    if fmt == "xlsx":
        from .xlsx_out import to_xlsx
        return to_xlsx(report, language)
    if fmt == "html":
        from .documents import to_html
        return to_html(report, language).encode("utf-8")
    if fmt == "pdf":
        from .documents import to_pdf
        return to_pdf(report, language)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def filename(report: Report, fmt: str) -> str:
    """``laporan-telkom-2026-10.pdf``: the scope and the month, nothing that needs quoting."""
    return f"report-{report.scope.key}-{report.month}.{fmt}"
