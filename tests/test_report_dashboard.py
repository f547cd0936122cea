"""Monthly reports in the dashboard: partners download their own, operators regenerate and resend."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone

import pytest

from dashboard import create_app
from report_fixture import build_month
from services.receivers import SmtpReceiver

PW = "correct-horse-battery"
NOW = datetime(2026, 11, 15, 5, 0, tzinfo=timezone.utc)  # mid-November: October is the last complete month


@pytest.fixture()
def smtp():
    r = SmtpReceiver().start()
    yield r
    r.stop()


@pytest.fixture()
def app(tmp_path, smtp):
    m = build_month(tmp_path, '{kind: sqlite, sqlite: {path: "metrics.sqlite"}}',
                    f"smtp: {{smtp_host: 127.0.0.1, smtp_port: {smtp.port}, starttls: false, "
                    "from: laporan@surakarta.example}, ")
    app = create_app(m.cfg, base_dir=tmp_path, testing=True, clock=lambda: NOW)
    acc = app.extensions["hotspot"].accounts
    for name, role, partner in [("op", "operator", None), ("view", "viewer", None),
                                ("telkom-user", "partner", "telkom"), ("kota-user", "partner", "kota")]:
        acc.add_user(name, PW, role, partner=partner)
    yield app
    app.extensions["hotspot"].close()


def login(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    html = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    r = c.post("/login", data={"csrf_token": token, "username": user, "password": PW, "next": "/"})
    assert r.status_code == 302
    return c


def csrf(c, path: str = "/reports") -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', c.get(path).get_data(as_text=True)).group(1)


def test_partner_downloads_its_own_past_months_only(app) -> None:
    c = login(app, "telkom-user")
    page = c.get("/reports").get_data(as_text=True)
    assert 'data-month="2026-10"' in page and 'data-month="2026-11"' not in page
    assert "/reports/telkom/2026-10.pdf" in page and "/reports/kota/" not in page and "/reports/city/" not in page
    assert "Buat ulang" not in page  # no regenerate button for a partner (Indonesian by default)
    r = c.get("/reports/telkom/2026-10.csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert "attachment; filename=report-telkom-2026-10-id.csv" == r.headers["Content-Disposition"]
    lines = r.get_data(as_text=True).splitlines()
    assert lines[1].startswith("city,,,,9590400,9549000,34200,7200,14611,14400,99.849,99.900,false,5,")
    from pypdf import PdfReader
    pdf = PdfReader(io.BytesIO(c.get("/reports/telkom/2026-10.pdf").data))
    assert "Oktober 2026" in pdf.pages[0].extract_text()
    for path in ["/reports/kota/2026-10.csv", "/reports/city/2026-10.csv", "/reports/telkom/2026-11.csv",
                 "/reports/telkom/2026-10.exe", "/reports/telkom/oct.csv"]:
        assert c.get(path).status_code == 404, path
    assert c.post("/reports/telkom/2026-10/resend", data={"csrf_token": csrf(c)}).status_code == 403
    api = c.get("/api/v1/reports").get_json()
    assert api["scopes"] == [{"id": "telkom", "name": "PT Telkom Indonesia"}]
    assert api["months"][0] == "2026-10" and len(api["months"]) == 24


def test_operator_resends_and_regenerates_viewer_cannot(app, smtp) -> None:
    v = login(app, "view")
    assert v.get("/reports/city/2026-10.xlsx").status_code == 200
    assert v.post("/reports/telkom/2026-10/resend", data={"csrf_token": csrf(v)}).status_code == 403
    assert v.post("/reports/city/2026-10/regenerate", data={"csrf_token": csrf(v)}).status_code == 403
    assert {s["id"] for s in v.get("/api/v1/reports").get_json()["scopes"]} == {"city", "telkom", "kota"}
    o = login(app, "op")
    assert o.post("/reports/telkom/2026-10/resend", data={}).status_code == 400  # no CSRF token
    assert smtp.mails == []
    r = o.post("/reports/telkom/2026-10/resend", data={"csrf_token": csrf(o, "/reports?scope=telkom")})
    assert r.status_code == 302
    assert len(smtp.mails) == 1 and smtp.mails[0].rcpt_tos == ["noc@telkom.example"]
    sent = {p.get_filename(): p.get_content() for p in smtp.mails[0].message.iter_attachments()}
    # what the partner downloads is what was sent
    t = login(app, "telkom-user")
    assert t.get("/reports/telkom/2026-10.pdf").data == sent["report-telkom-2026-10-id.pdf"]
    page = o.get("/reports?scope=telkom").get_data(as_text=True)
    assert 'id="report-attempts"' in page and ">op<" in page
    d = o.get("/api/v1/reports").get_json()["deliveries"]
    assert [(x["partner"], x["month"], x["state"], x["attempts"]) for x in d] == [("telkom", "2026-10", "sent", 1)]
    # kota has no way to send: no resend (404), but operators regenerate its report
    assert o.post("/reports/kota/2026-10/resend", data={"csrf_token": csrf(o)}).status_code == 404
    r = o.post("/reports/kota/2026-10/regenerate", data={"csrf_token": csrf(o, "/reports?scope=kota")})
    assert r.status_code == 302
    kept = app.extensions["hotspot"].base_dir / "var" / "reports" / "kota" / "2026-10"
    assert sorted(p.name for p in kept.iterdir()) == [f"report-kota-2026-10-id.{f}"
                                                       for f in ("csv", "html", "pdf", "xlsx")]
    assert len(smtp.mails) == 1
