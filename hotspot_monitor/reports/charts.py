"""The report's charts, twice: SVG from matplotlib for the PDF (no browser, no
network: WeasyPrint draws SVG itself) and plotly figures for the HTML file.

Both draw the same data: availability per site against the SLA target, data
per day through the uplinks, and (HTML only; the PDF shows it as a shaded
table) the hour-of-week heat map of concurrent clients.
"""
from __future__ import annotations

import calendar
import io
import re
from typing import Any

from .model import Report
from .view import View

OK, BAD, RX, TX = "#2ca02c", "#d62728", "#1f77b4", "#ff7f0e"


def _sites(report: Report) -> list[tuple[str, float, bool]]:
    out = []
    for r in report.level("site"):
        a = r.availability
        if a is not None:
            out.append((r.name, float(a), bool(r.sla_met)))
    return out


def svg_charts(report: Report, view: View) -> dict[str, str]:
    """{'availability': '<svg...>', 'daily': '<svg...>'} (text kept as text, so the
    PDF's words stay searchable)."""
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["font.family"] = "DejaVu Sans"
    matplotlib.rcParams["svg.hashsalt"] = "hotspot-monitor"  # the same bytes for the same report
    from matplotlib.figure import Figure

    out: dict[str, str] = {}
    sites = _sites(report)
    target = float(report.rules.target)
    if sites:
        fig = Figure(figsize=(7.2, max(1.6, 0.22 * len(sites) + 0.9)))
        ax = fig.subplots()
        names = [s[0] for s in sites][::-1]
        vals = [s[1] for s in sites][::-1]
        ax.barh(names, vals, color=[OK if s[2] else BAD for s in sites][::-1])
        ax.axvline(target, color="#333333", linestyle="--", linewidth=1)
        low = min(min(vals), target)
        ax.set_xlim(max(0.0, low - (100 - low) * 0.2 - 1), 100)
        ax.set_xlabel(view.t["availability"] + " %")
        ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        out["availability"] = _svg(fig, "av")
    if report.daily:
        fig = Figure(figsize=(7.2, 2.6))
        ax = fig.subplots()
        # x is the day of the month, so a day without data is a visible gap, not skipped
        xs = [d.day for d, _rx, _tx in report.daily]
        ax.bar([x - 0.2 for x in xs], [rx / 1e9 for _d, rx, _tx in report.daily], 0.4, label="rx", color=RX)
        ax.bar([x + 0.2 for x in xs], [tx / 1e9 for _d, _rx, tx in report.daily], 0.4, label="tx", color=TX)
        n_days = calendar.monthrange(report.month.year, report.month.month)[1]
        ax.set_xlim(0.4, n_days + 0.6)
        ax.set_xticks(list(range(1, n_days + 1)), [f"{n:02d}" for n in range(1, n_days + 1)], fontsize=6)
        ax.set_ylabel("GB")
        ax.legend(fontsize=7)
        fig.tight_layout()
        out["daily"] = _svg(fig, "daily")
    return out


def _svg(fig: Any, prefix: str) -> str:
    """The figure as inline SVG, its ids prefixed: two charts in one page must not share
    ids (clip paths and markers are referenced by id)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{prefix}-{m.group(1)})", text)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', text)


def plotly_charts(report: Report, view: View) -> dict[str, str]:
    """Plotly figures as HTML fragments (plotly.js itself is included once by the page)."""
    import plotly.graph_objects as go

    out: dict[str, str] = {}
    cfg = {"displaylogo": False, "responsive": True}
    sites = _sites(report)
    if sites:
        fig = go.Figure(go.Bar(x=[s[1] for s in sites], y=[s[0] for s in sites], orientation="h",
                               marker_color=[OK if s[2] else BAD for s in sites]))
        fig.add_vline(x=float(report.rules.target), line_dash="dash", line_color="#333333")
        fig.update_layout(title=view.t["chart_availability"], height=160 + 22 * len(sites),
                          yaxis={"autorange": "reversed"}, margin={"l": 160, "r": 20, "t": 40, "b": 40},
                          xaxis={"title": view.t["availability"] + " %"})
        out["availability"] = fig.to_html(full_html=False, include_plotlyjs=False, config=cfg)
    if report.daily:
        days = [d.date().isoformat() for d, _rx, _tx in report.daily]
        fig = go.Figure([go.Bar(x=days, y=[rx / 1e9 for _d, rx, _tx in report.daily], name="rx",
                                marker_color=RX),
                         go.Bar(x=days, y=[tx / 1e9 for _d, _rx, tx in report.daily], name="tx",
                                marker_color=TX)])
        fig.update_layout(title=view.t["chart_daily"], barmode="group", height=320, yaxis={"title": "GB"},
                          margin={"l": 60, "r": 20, "t": 40, "b": 40})
        out["daily"] = fig.to_html(full_html=False, include_plotlyjs=False, config=cfg)
    if any(v is not None for row in report.heat for v in row):
        fig = go.Figure(go.Heatmap(z=report.heat, x=[f"{h:02d}" for h in range(24)],
                                   y=view.t["weekdays"].split(","), colorscale="Blues", hoverongaps=False))
        fig.update_layout(title=view.t["heat"], height=320, yaxis={"autorange": "reversed"},
                          margin={"l": 60, "r": 20, "t": 40, "b": 40})
        out["heat"] = fig.to_html(full_html=False, include_plotlyjs=False, config=cfg)
    return out
