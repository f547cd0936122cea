"""The citizens' side in a real headless Chromium with a phone's viewport (Playwright on
Debian's ``/usr/bin/chromium``), over the demo's places (``deploy/examples/surakarta.yaml``).

States are driven through a real status engine and state store: every AP answers, then
Balekambang loses one of its three APs (partly) and Taman Cerdas Gandekan its only AP
(down: the demo outage); Pasar Gede's service hours are set to a window that excludes
now (outside service hours). A citizen reports "no signal" at Gandekan and is told the
city already knows; the operator finds the ticket in the queue and forwards it; a real
local SMTP server receives the evidence. The AP answers again and the page says it works.
No request may leave the app's origin; no console error; no failed request.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from dashboard import create_app
from dashboard.server import WebServer
from hotspot_monitor.config import parse_config
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from services.receivers import SmtpReceiver
from test_dashboard_browser import ARGS, CHROMIUM, Recorder

ROOT = Path(__file__).resolve().parents[1]
PW = "correct-horse-battery"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}


def wait_for(pg, check, timeout_s: float = 20.0) -> None:
    """Reload until ``check()`` holds (the status snapshot is cached for a few seconds)."""
    deadline = datetime.now() + timedelta(seconds=timeout_s)
    while not check():
        assert datetime.now() < deadline, "the page did not change in time"
        pg.wait_for_timeout(500)
        pg.reload()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("citizens")
    smtp = SmtpReceiver().start()
    inv = yaml.safe_load((ROOT / "deploy" / "examples" / "surakarta.yaml").read_text())
    local = datetime.now(timezone.utc).astimezone(__import__("zoneinfo").ZoneInfo(inv["timezone"]))
    closed = f"{(local.hour + 2) % 24:02d}:00-{(local.hour + 3) % 24:02d}:00"  # never contains now
    for s in inv["sites"]:
        s.pop("service_hours", None)
        if s["id"] == "pasar-gede":
            s["service_hours"] = closed
    inv.update({
        "store": {"kind": "sqlite", "sqlite": {"path": f"{base}/metrics.sqlite"}},
        "state": {"url": f"sqlite:///{base}/state.sqlite", "dir": str(base)},
        "mqtt": {"enabled": False},
        "web": {"locale": "id"},
        "alerts": {"channels": [{"id": "mitra-mail", "type": "email", "smtp_host": "127.0.0.1",
                                 "smtp_port": smtp.port, "starttls": False, "from": "wifi@surakarta.example",
                                 "to": ["noc@surakarta.example"], "language": "id"}]},
        "citizens": {"forward_channel": "mitra-mail", "cache_s": 0},
    })
    text = yaml.safe_dump(inv, allow_unicode=True)
    cfg = parse_config(text, str(base / "city.yaml"))
    states = StateStore.from_config(cfg, base)
    engine = StatusEngine(cfg, states)
    t0 = datetime.now(timezone.utc) - timedelta(minutes=20)
    engine.start(t0)
    for ap in cfg.aps:
        engine.observe(Sample("ap_status", {"site": ap.site, "ap": ap.id, "source": "snmp"}, {"up": 1}, t0))
    for ap, site in (("balekambang-1", "balekambang"), ("tc-gandekan-1", "tc-gandekan")):
        for i in range(cfg.collector.down_after):
            engine.observe(Sample("ap_status", {"site": site, "ap": ap, "source": "snmp"},
                                  {"up": 0, "reason": "snmp_timeout"}, t0 + timedelta(minutes=5 + i)))
    engine.tick(t0 + timedelta(minutes=8))
    app = create_app(cfg, base_dir=base)
    app.extensions["hotspot"].accounts.add_user("op", PW, "operator")
    server = WebServer(app, "127.0.0.1:0", threads=4).bind().start_thread()
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    yield {"url": server.url.rstrip("/"), "cfg": cfg, "engine": engine, "t0": t0, "smtp": smtp, "shots": shots}
    server.close()
    app.extensions["hotspot"].close()
    engine.stop(datetime.now(timezone.utc))
    states.close()
    smtp.stop()


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists() or shutil.which("chromium"), \
        "Chromium is missing: run scripts/setup --test (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def shown_states(pg) -> dict[str, str]:
    return pg.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('li.place'))
        .map(li => [li.dataset.place, li.dataset.state]))""")


def test_a_citizen_reports_the_demo_outage_and_the_partner_gets_the_evidence(world, browser):
    cfg, smtp, url = world["cfg"], world["smtp"], world["url"]
    ctx = browser.new_context(**PHONE)
    pg = ctx.new_page()
    rec = Recorder(pg, url)
    pg.goto(url + "/status")
    expected = {s.id: "works" for s in cfg.sites}
    expected.update({"balekambang": "partly", "tc-gandekan": "down", "pasar-gede": "closed"})
    assert shown_states(pg) == expected  # every place of the demo, with its state
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    assert pg.locator("#pubmap circle.dot").count() == len(cfg.sites)
    # what the phone downloaded for the page: the document and its assets, well under 100 KB
    weight = pg.evaluate("""() => performance.getEntriesByType('navigation').concat(
        performance.getEntriesByType('resource')).reduce((n, e) => n + e.transferSize, 0)""")
    assert 0 < weight < 100_000, weight
    assert pg.evaluate("performance.getEntriesByType('resource').length") >= 2  # CSS and JS were counted
    # the search filters as one types
    pg.fill("#q", "gandekan")
    assert pg.locator("li.place:visible").count() == 1
    pg.screenshot(path=str(world["shots"] / "status-phone.png"), full_page=True)
    # the demo outage's place: down, and the city knows since the outage start
    pg.click("li.place[data-place='tc-gandekan'] a.pname")
    pg.wait_for_selector("#place-state [data-state='down']")
    start = (world["t0"] + timedelta(minutes=5)).astimezone(cfg.tz).strftime("%H:%M")
    assert start in pg.text_content("#city-knows")
    pg.check("input[name=problem][value=no_signal]")
    pg.fill("#text", "Tidak ada sinyal di dekat panggung")
    pg.fill("#contact", "0812-1111-2222")
    pg.click("#report-submit")
    pg.wait_for_selector("#report-result")
    assert pg.get_attribute("#report-result", "data-known") == "1"
    assert f"Sudah diketahui sejak {start}" in pg.text_content("#report-result")
    pg.screenshot(path=str(world["shots"] / "report-known.png"), full_page=True)
    rec.check()

    # the operator: log in, the queue, the ticket, forward with evidence
    pg.goto(url + "/login?next=/citizens")
    pg.fill("#username", "op")
    pg.fill("#password", PW)
    pg.click("#login-submit")
    row = "#queue tr[data-site='tc-gandekan']"
    pg.wait_for_selector(row)
    pg.click(row + " a")
    pg.wait_for_selector("#reports tr[data-report]")
    assert "0812-1111-2222" in pg.text_content("#reports")  # the contact: operators only
    pg.click("#forward")
    pg.wait_for_selector("#forwards tr[data-result='ok']")
    assert pg.get_attribute("#ticket", "data-status") == "forwarded"
    pg.screenshot(path=str(world["shots"] / "ticket-forwarded.png"), full_page=True)
    assert len(smtp.mails) == 1
    mail = smtp.mails[0]
    assert mail.rcpt_tos == ["noc@mitra.example"]  # the partner covering every site
    body = mail.message.get_body(preferencelist=("plain",)).get_content()
    assert "Taman Cerdas Gandekan" in body or "Gandekan" in body
    assert "AP terdampak (mati): tc-gandekan-1" in body
    assert f"mulai {(world['t0'] + timedelta(minutes=5)).astimezone(cfg.tz):%Y-%m-%d %H:%M}" in body
    assert "durasi sejauh ini" in body and "Ketersediaan, 7 hari terakhir" in body
    assert "Tidak ada sinyal di dekat panggung" in body and "0812-1111-2222" not in body

    # the public page shows the forward, then the AP answers again: works
    pg.goto(url + "/status/tc-gandekan")
    assert pg.get_attribute("#report-status", "data-status") == "forwarded"
    world["engine"].observe(Sample("ap_status", {"site": "tc-gandekan", "ap": "tc-gandekan-1", "source": "snmp"},
                                   {"up": 1}, datetime.now(timezone.utc)))
    wait_for(pg, lambda: pg.locator("#place-state [data-state='works']").count() == 1)
    assert "masih berlangsung" not in pg.text_content("#last-outage")  # the outage has an end now
    pg.goto(url + "/status?lang=en")
    assert shown_states(pg)["tc-gandekan"] == "works"
    assert "Is the free Wi-Fi working?" in pg.text_content("h1")
    pg.screenshot(path=str(world["shots"] / "status-recovered.png"), full_page=True)
    rec.check()
    ctx.close()
