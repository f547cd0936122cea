"""The report's files read back: PDF (pypdf), XLSX (openpyxl), HTML (offline), the CLI."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hotspot_monitor.reports.build import build_report
from hotspot_monitor.reports.period import Month
from hotspot_monitor.reports.render import render
from hotspot_monitor.status.statestore import StateStore
from hotspot_monitor.stores.factory import open_store
from report_fixture import MonthFixture, build_month

ROOT = Path(__file__).resolve().parents[1]
OCT = Month(2026, 10)


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> MonthFixture:
    return build_month(tmp_path_factory.mktemp("month"), '{kind: sqlite, sqlite: {path: "metrics.sqlite"}}')


@pytest.fixture(scope="module")
def report(month):  # type: ignore[no-untyped-def]
    states = StateStore.from_config(month.cfg, month.base)
    store = open_store(month.cfg.store, month.base)
    try:
        yield build_report(month.cfg, states, store, OCT, "telkom")
    finally:
        store.close()
        states.close()


def test_pdf_opens_in_indonesian_on_a4_with_the_figures(report) -> None:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(render(report, "pdf", "id")))
    n = len(pdf.pages)
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert n >= 3
    assert f"Halaman {n} dari {n}" in text  # the footer counts the same pages pypdf finds
    first = pdf.pages[0].extract_text()
    assert "Laporan Bulanan Wi-Fi Publik" in first
    assert "Kota Surakarta" in first and "Oktober 2026" in first and "PT Telkom Indonesia" in first
    # A4 portrait first, the wide tables on A4 landscape (points: 595 x 842)
    assert (round(float(pdf.pages[0].mediabox.width)), round(float(pdf.pages[0].mediabox.height))) == (595, 842)
    assert any((round(float(p.mediabox.width)), round(float(p.mediabox.height))) == (842, 595) for p in pdf.pages)
    # the rules are on the first page; the city's and a site's availability (Indonesian decimals)
    assert "Target ketersediaan (SLA)" in first and "99,900 %" in first
    assert "99,849 %" in first  # the city
    assert re.search(r"Alun-alun Kidul\s+Serengan\s+2\s+99,899", text), "alun's row in the site table"
    assert "dikecualikan: listrik padam" in text  # the appendix explains the power cut
    # ... and every "why" whole, never cut: tb-1's outage of Oct 20 was half in a coverage gap
    flat = re.sub(r"\s+", " ", text)
    assert "tidak terpantau 1 j 0 mnt 0 dtk" in flat and "di luar bulan ini 1 j 0 mnt 0 dtk" in flat


def test_pdf_in_english(report) -> None:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(render(report, "pdf", "en")))
    first = pdf.pages[0].extract_text()
    assert "Monthly Public Wi-Fi Report" in first and "City of Surakarta" in first and "October 2026" in first
    assert "99.849 %" in first


def test_xlsx_has_a_sheet_per_level_typed_and_formatted(report) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(render(report, "xlsx", "id")))
    assert wb.sheetnames == ["Aturan", "Kota", "Per kecamatan", "Per lokasi", "Per AP", "Gangguan", "Laporan warga"]
    sites = wb["Per lokasi"]
    head = [c.value for c in sites[1]]
    assert head[10] == "Ketersediaan (availability_pct)" and head[16] == "Data unduh (rx) (rx_bytes)"
    alun = next(r for r in sites.iter_rows(min_row=2) if r[2].value == "alun")
    assert alun[10].value == 99.899 and alun[10].number_format == "0.000"
    assert alun[16].value == 7_202_667_266 and alun[16].number_format == "#,##0"
    assert alun[12].value == "false" and alun[13].value == 2
    peak_at = alun[19].value
    assert (peak_at.year, peak_at.month, peak_at.day, peak_at.hour) == (2026, 10, 15, 19)  # local time
    out = wb["Gangguan"]
    assert out.max_row == 1 + 10
    statuses = sorted(r[15].value for r in out.iter_rows(min_row=2))
    assert statuses == ["counted"] * 5 + ["not_in_service"] * 2 + ["power_cut"] * 2 + ["short"]


def test_html_works_offline(report) -> None:  # type: ignore[no-untyped-def]
    html = render(report, "html", "en").decode("utf-8")
    assert "Monthly Public Wi-Fi Report" in html and "99.899" in html
    assert html.count("Plotly.newPlot") >= 3  # availability, daily data, the heat map
    assert "plotly.js v" in html[:200_000] or "plotly" in html[:5_000_000]  # plotly.js inside the file
    # nothing is fetched from anywhere: no script or stylesheet from a URL
    assert not re.search(r"<script[^>]+src=", html) and not re.search(r"<link[^>]+href=\"?https?:", html)


def test_cli_writes_each_format_and_reports_errors(month: MonthFixture, tmp_path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hotspot_monitor", "report", str(month.config_path), *args,
                               "--base-dir", str(month.base)], capture_output=True, cwd=tmp_path, timeout=120)

    r = run("--month", "2026-10", "--partner", "telkom", "--format", "csv", "--out", "-")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[1].startswith("city,,,,9590400,9549000,34200,7200,14611,14400,99.849,99.900,false,")
    r = run("--month", "2026-10", "--format", "xlsx")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "report-city-2026-10.xlsx").read_bytes()[:2] == b"PK"
    assert b"report-city-2026-10.xlsx" in r.stderr
    r = run("--month", "2026-13")
    assert r.returncode == 2 and b"not a month: '2026-13'" in r.stderr
    r = run("--month", "2026-10", "--partner", "nobody")
    assert r.returncode == 2 and b"unknown partner 'nobody' (partners: telkom, kota)" in r.stderr
    r = run("--month", "2026-10", "--send")
    assert r.returncode == 2 and b"--send needs --partner" in r.stderr


def test_citizens_reports_per_site(report) -> None:  # type: ignore[no-untyped-def]
    """tests/report_fixture.py: taman 3 reports, acknowledged after 900, 1,800 and 6,300 s
    (median 1,800, mean 3,000), one fixed after 5,400 s; pasar's one report was acknowledged
    in November; alun had none (not listed)."""
    from openpyxl import load_workbook
    from pypdf import PdfReader

    ws = load_workbook(io.BytesIO(render(report, "xlsx", "en")))["Citizens"]
    got = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert got == [["pasar", "Pasar Klewer", 1, 1, 0, None, None, 0, None, None],
                   ["taman", "Taman Balekambang", 3, 3, 3, 1800, 3000, 1, 5400, 5400]]
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render(report, "pdf"))).pages))
    assert "Laporan warga" in text
    assert "Taman Balekambang 3 3 3 0:30:00 / 0:50:00 1 1:30:00 / 1:30:00" in text
    assert "Pasar Klewer 1 1 0 – 0 –" in text
