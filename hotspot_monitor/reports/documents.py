"""The report as HTML (plotly charts, works offline: plotly.js is inside the file)
and as PDF (A4, WeasyPrint; charts as SVG from matplotlib; no browser, no network).

Why WeasyPrint + matplotlib: both install from PyPI, need no browser and no
network at run time (WeasyPrint needs Debian's pango, which ``scripts/setup``
installs), and render a month in well under a second. Plotly's own static
export (kaleido) needs Chrome, which a server need not have.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from .charts import plotly_charts, svg_charts
from .model import Report
from .view import View, ledger


@lru_cache(maxsize=1)
def _template():  # type: ignore[no-untyped-def]
    import jinja2

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             loader=jinja2.PackageLoader("hotspot_monitor.reports", "templates"))
    return env.get_template("report.html")


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    return resources.files("plotly").joinpath("package_data/plotly.min.js").read_text(encoding="utf-8")


def to_html(report: Report, language: str = "id", *, pdf: bool = False) -> str:
    v = View(report, language)
    charts = svg_charts(report, v) if pdf else plotly_charts(report, v)
    return _template().render(v=v, report=report, charts=charts, pdf=pdf, ledger=ledger,
                              generated=report.generated_at, plotly_js=None if pdf else _plotly_js())


def to_pdf(report: Report, language: str = "id") -> bytes:
    from weasyprint import HTML

    return HTML(string=to_html(report, language, pdf=True)).write_pdf()
