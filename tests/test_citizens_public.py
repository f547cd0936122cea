"""The public status page and the problem report form, on the seeded fleet (real stores, real
status engine) at a fixed clock: states worked out by hand from the seed's story, nothing
internal revealed, and the abuse defences (honeypot, rate limit, sizes, Origin)."""
from __future__ import annotations

import io
import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from dashboard import create_app
from dashboard_seed import COMMUNITY, config_text, fixed_now, seed
from hotspot_monitor.config import parse_config
from hotspot_monitor.config.loader import ConfigError
from services.receivers import SmtpReceiver

PW = "correct-horse-battery"
# the seed's APs (names) and host, and its client counts: none may be on a public page
INTERNAL = ["bk-1", "bk-2", "sw-1", "nv-1", "pg-1", "pg-2", "nm-1", "127.0.0.1", COMMUNITY]


def extra(smtp_port: int) -> str:
    return f"""alerts:
  channels:
    - {{id: partner-mail, type: email, smtp_host: 127.0.0.1, smtp_port: {smtp_port}, starttls: false,
       from: wifi@surakarta.example, to: [noc@city.example], language: id}}
citizens: {{forward_channel: partner-mail, reports_per_hour: 3, page_requests_per_min: 40, text_max: 200,
            contact_max: 40, contact_retention_days: 2}}
"""


@pytest.fixture()
def world(tmp_path):
    smtp = SmtpReceiver().start()
    now = fixed_now()  # 12:00 in Surakarta: the night market (17:00-23:00) is closed
    s = seed(tmp_path, now, extra(smtp.port))
    app = create_app(s.cfg, base_dir=tmp_path, testing=True, clock=lambda: now)
    app.extensions["hotspot"].accounts.add_user("op", PW, "operator")
    app.extensions["hotspot"].accounts.add_user("viewer", PW, "viewer")
    yield {"app": app, "seeded": s, "now": now, "smtp": smtp}
    app.extensions["hotspot"].close()
    smtp.stop()


def get(app, path, addr="198.51.100.7", **kw):
    return app.test_client().get(path, environ_base={"REMOTE_ADDR": addr}, **kw)


def post(app, path, data, addr="198.51.100.7", **kw):
    return app.test_client().post(path, data=data, environ_base={"REMOTE_ADDR": addr}, **kw)


def places_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'<li class="place" data-place="([^"]+)" data-state="([^"]+)"', html))


def test_the_status_page_shows_each_place_state_by_hand(world):
    app = world["app"]
    r = get(app, "/status")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'lang="id"' in html and "Apakah Wi-Fi gratis berfungsi?" in html
    # by hand from the seed: bk-2 down since now-30 min, bk-1 up -> partly; sriwedari: sw-1 up,
    # nv-1 never seen -> works; pasar-gede: pg-1 recovered -> works; night market closed at noon
    assert places_of(html) == {"balekambang": "partly", "sriwedari": "works", "pasar-gede": "works",
                               "night-market": "closed"}
    # grouped by kecamatan (sorted), the city knows about Balekambang since 11:30 (bk-2's outage)
    assert re.findall(r'data-kecamatan="([^"]+)"', html) == ["Banjarsari", "Jebres", "Laweyan"]
    bk = html[html.index('<li class="place" data-place="balekambang"'):]
    bk = bk[:bk.index("</li>")]
    assert "Pemkot tahu sejak 11:30" in bk and "sejak 11:30" in bk and "Sebagian berfungsi" in bk
    pg = html[html.index('<li class="place" data-place="pasar-gede"'):]
    assert "sejak 10:10" in pg[:pg.index("</li>")]  # pg-1 came back at now - 110 min
    nm = html[html.index('<li class="place" data-place="night-market"'):]
    assert "17:00-23:00 setiap hari" in nm[:nm.index("</li>")]
    # the light map: 5 kecamatan paths, one dot per place, no plotly, no outside URL
    assert html.count('<path class="kec"') == 5 and html.count('class="dot dot-') == 4
    assert "plotly" not in html and "http://" not in html.replace("http://www.w3.org", "")
    # English
    en = get(app, "/status?lang=en").get_data(as_text=True)
    assert 'lang="en"' in en and "Is the free Wi-Fi working?" in en and "Partly working" in en
    # search (server side; the page also filters as one types)
    only = places_of(get(app, "/status?q=jebres").get_data(as_text=True))
    assert only == {"pasar-gede": "works"}


def test_place_page_json_qr_and_poster(world, tmp_path):
    app = world["app"]
    html = get(app, "/status/pasar-gede?lang=en").get_data(as_text=True)
    assert 'id="place-state"' in html and 'data-state="works"' in html
    last = re.search(r'id="last-outage">([^<]+)<', html).group(1)
    assert last.strip() == "09:50 – 10:10"  # pg-1's outage: now-130 min to now-110 min, local time
    doc = get(app, "/status.json").get_json()
    by = {p["id"]: p for p in doc["places"]}
    assert by["balekambang"]["state"] == "partly" and by["balekambang"]["city_knows"] is True
    assert by["balekambang"]["known_since"] == (world["now"] - timedelta(minutes=30)).isoformat()
    assert by["night-market"]["hours"]["mon"] == "17:00-23:00" and by["sriwedari"]["hours"] is None
    assert set(by["sriwedari"]) == {"id", "name", "kind", "kecamatan", "lat", "lon", "state", "since", "hours",
                                    "last_outage_start", "last_outage_end", "known_since", "report_status",
                                    "reports", "city_knows"}
    svg = get(app, "/status/pasar-gede/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    pdf = get(app, "/status/pasar-gede/poster.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "Pasar Gedh" in text and "http://localhost/status/pasar-gede" in text
    assert decoded_qr(pdf.data, tmp_path) == ["http://localhost/status/pasar-gede"]
    assert get(app, "/status/nowhere").status_code == 404


def test_public_pages_reveal_nothing_internal_and_set_no_cookie(world):
    app = world["app"]
    post(app, "/status/balekambang/report", {"problem": "slow", "when": "now", "text": "lemot sekali",
                                             "contact": "0812-3456"})
    for path in ["/status", "/status?lang=en", "/status.json", "/status/balekambang", "/status/pasar-gede",
                 "/status/night-market", "/status/balekambang?lang=en"]:
        r = get(app, path)
        body = r.get_data(as_text=True)
        assert r.status_code == 200, path
        for word in INTERNAL + ["0812-3456", "lemot sekali", "snmp", "Mikrotik", "clients", "klien"]:
            assert word not in body, (path, word)
        assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", body), path  # no IPv4 address
        assert not re.search(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}", body), path  # no MAC
        assert "Set-Cookie" not in r.headers, path
        assert r.headers["Cache-Control"].startswith("public, max-age=")
    # weight: the page, its CSS and JS under 100 KB (no plotly)
    total = len(get(app, "/status").data) + len(get(app, "/static/css/public.css").data) + \
        len(get(app, "/static/js/public.js").data)
    assert total < 100_000


def test_a_site_that_is_not_public_is_not_shown(tmp_path):
    now = fixed_now()
    s = seed(tmp_path, now)
    text = config_text(tmp_path).replace("lon: 110.8121}", "lon: 110.8121, public: false}").replace(
        'service_hours: "17:00-23:00"', 'service_hours: {mon: "17:00-23:00", tue: "17:00-23:00", wed: closed, '
        'thu: "17:00-23:00", fri: "17:00-24:00", sat: "16:00-24:00", sun: "16:00-24:00"}')
    cfg = parse_config(text, str(tmp_path / "config.yaml"))
    app = create_app(cfg, base_dir=tmp_path, testing=True, clock=lambda: now)
    try:
        html = get(app, "/status").get_data(as_text=True)
        assert "sriwedari" not in places_of(html)
        nm = html[html.index('<li class="place" data-place="night-market"'):]
        assert re.search(r'class="hours">([^<]+)<', nm).group(1) == (
            "Sen 17:00-23:00, Sel 17:00-23:00, Rab tutup, Kam 17:00-23:00, Jum 17:00-24:00, Sab 16:00-24:00, "
            "Min 16:00-24:00")
        assert "sriwedari" not in get(app, "/status.json").get_data(as_text=True)
        assert get(app, "/status/sriwedari").status_code == 404
        assert post(app, "/status/sriwedari/report", {"problem": "slow", "when": "now"}).status_code == 404
    finally:
        app.extensions["hotspot"].close()
    assert s.cfg.site("sriwedari").public is True  # the default


def test_report_already_known_forwarded_and_shown_publicly(world):
    app, smtp = world["app"], world["smtp"]
    r = post(app, "/status/balekambang/report", {"problem": "no_signal", "when": "1h", "text": "mati total",
                                                 "contact": "warga@example.id", "website": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 201
    assert 'data-known="1"' in html and "Sudah diketahui sejak 11:30" in html
    r = post(app, "/status/sriwedari/report", {"problem": "slow", "when": "now"}, addr="198.51.100.8")
    assert r.status_code == 201 and "masuk antrean petugas" in r.get_data(as_text=True)
    # the operator's queue shows both, with the contact; a viewer may not see it
    from test_dashboard_alerts import csrf

    def login(user):
        c = app.test_client()
        assert c.post("/login", data={"csrf_token": csrf(c), "username": user, "password": PW,
                                      "next": "/"}).status_code == 302
        return c

    assert login("viewer").get("/citizens").status_code == 403
    op = login("op")
    q = op.get("/citizens").get_data(as_text=True)
    ids = re.findall(r'<tr data-ticket="(\d+)" data-site="([^"]+)"', q)
    assert sorted(s for _, s in ids) == ["balekambang", "sriwedari"]
    bk = next(int(i) for i, s in ids if s == "balekambang")
    page = op.get(f"/citizens/{bk}").get_data(as_text=True)
    assert "warga@example.id" in page and "mati total" in page and "bk-2" in page
    r = op.post(f"/citizens/{bk}/forward", data={"csrf_token": csrf(op, f"/citizens/{bk}")})
    assert r.status_code == 302
    assert len(smtp.mails) == 1
    m = smtp.mails[0]
    assert m.rcpt_tos == ["noc@city.example"]  # no partner covers balekambang: the channel's own list
    body = m.message.get_body(preferencelist=("plain",)).get_content()
    assert "Taman Balekambang" in body and "bk-2 (down)" in body and "AP terdampak (mati): bk-2" in body
    assert "mulai 2026-11-15 11:30" in body and "durasi sejauh ini 30m 00s" in body
    assert "tidak ada sinyal" in body and "mati total" in body and "warga@example.id" not in body
    att = [p for p in m.message.iter_attachments()]
    ev = json.loads(att[0].get_content())
    assert ev["affected_aps"] == ["bk-2"] and ev["outage_duration_s"] == 1800 and len(ev["reports"]) == 1
    # polls every 5 min from now-3h to now-5min: each AP observed for 10,500 s; bk-2 down from its
    # first failure (now-30min) to its last observation (now-5min), 1,500 s; later time is not yet counted
    assert ev["availability_pct"] == round(100 * (1 - 1500 / 21000), 3)
    page = op.get(f"/citizens/{bk}").get_data(as_text=True)
    assert 'data-status="forwarded"' in page and 'data-result="ok"' in page
    pub = get(app, "/status/balekambang").get_data(as_text=True)
    assert 'data-status="forwarded"' in pub and "Diteruskan ke mitra jaringan" in pub
    # an operator's POST needs the CSRF token (the public form does not)
    assert op.post(f"/citizens/{bk}/status", data={"status": "fixed"}).status_code == 400


def test_honeypot_rate_limit_sizes_and_origin(world):
    app = world["app"]
    desk = app.extensions["citizens"].desk
    ok = {"problem": "slow", "when": "now"}
    r = post(app, "/status/sriwedari/report", {**ok, "website": "http://spam.example"}, addr="203.0.113.1")
    assert r.status_code == 400 and "Laporan tidak diterima." in r.get_data(as_text=True)
    assert desk.queue() == []
    r = post(app, "/status/sriwedari/report", {**ok, "text": "x" * 201}, addr="203.0.113.2")
    assert r.status_code == 400
    assert "Keterangan terlalu panjang: paling banyak 200 karakter (milik Anda 201)." in r.get_data(as_text=True)
    r = post(app, "/status/sriwedari/report", {**ok, "contact": "y" * 41}, addr="203.0.113.2")
    assert r.status_code == 400 and "Kontak terlalu panjang" in r.get_data(as_text=True)
    r = post(app, "/status/sriwedari/report", {"problem": "mati", "when": "now"}, addr="203.0.113.2")
    assert r.status_code == 400 and "Silakan pilih apa yang bermasalah." in r.get_data(as_text=True)
    r = post(app, "/status/sriwedari/report?lang=en", {**ok, "text": "z" * 70_000}, addr="203.0.113.2")
    assert r.status_code == 413 and "too large" in r.get_data(as_text=True)
    r = post(app, "/status/sriwedari/report", ok, addr="203.0.113.2", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert desk.queue() == []  # nothing of the above was stored
    # 3 reports per hour per address (config); another address is not affected
    for _ in range(3):
        assert post(app, "/status/sriwedari/report", ok, addr="203.0.113.3",
                    headers={"Origin": "http://localhost"}).status_code == 201
    r = post(app, "/status/sriwedari/report", ok, addr="203.0.113.3")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 3000
    assert "Terlalu banyak laporan" in r.get_data(as_text=True)
    assert post(app, "/status/sriwedari/report", ok, addr="203.0.113.4").status_code == 201
    assert sum(len(t.reports) for t in desk.queue()) == 4
    # page views: 40 per minute per address
    codes = [get(app, "/status", addr="203.0.113.9").status_code for _ in range(41)]
    assert codes[:40] == [200] * 40 and codes[40] == 429
    assert get(app, "/status", addr="203.0.113.10").status_code == 200


def test_config_names_the_line_of_a_bad_forward_channel(tmp_path):
    text = config_text(tmp_path, "citizens:\n  forward_channel: nowhere\n")
    with pytest.raises(ConfigError) as e:
        parse_config(text, "city.yaml")
    line = text.splitlines().index("  forward_channel: nowhere") + 1
    assert f"city.yaml:{line}: citizens.forward_channel: unknown channel 'nowhere'" in str(e.value)
    bad_public = config_text(tmp_path).replace("lon: 110.8121}", "lon: 110.8121, public: maybe}")
    with pytest.raises(ConfigError) as e:
        parse_config(bad_public, "city.yaml")
    line = next(i for i, ln in enumerate(bad_public.splitlines(), 1) if "public: maybe" in ln)
    assert f"city.yaml:{line}: sites[1].public" in str(e.value)


def decoded_qr(pdf: bytes, tmp: Path) -> list[str]:
    """The poster's QR codes as a phone reads them: rasterised (poppler's pdftoppm) and
    decoded (zbar), not as segno meant them."""
    (tmp / "poster.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp / "poster.pdf"), str(tmp / "poster")],
                   check=True, timeout=60)
    r = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp / "poster.png")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()
