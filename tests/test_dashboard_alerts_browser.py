"""The alert pages in a real headless Chromium (the harness of tests/test_dashboard_browser.py).

The app runs on waitress over the seeded fleet driven through the alerting story of
tests/test_dashboard_alerts.py, on the real clock. An operator follows the overview's
count to the firing alerts, acknowledges one, sees the page notice a new alert by
itself, adds a silence and sends a test message to a local recording webhook. No
console errors, no failed or foreign requests.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashboard import create_app
from dashboard.server import WebServer
from dashboard_seed import seed
from services.receivers import HttpRecorder, Reply
from test_dashboard_alerts import HOOK_SECRET, PW, TG_TOKEN, Driver, alerts_config
from test_dashboard_browser import Recorder, browser  # noqa: F401 (the Chromium fixture)


@pytest.fixture()
def live(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", HOOK_SECRET)
    monkeypatch.setenv("TG_TOKEN", TG_TOKEN)
    hook = HttpRecorder().start()
    tg = HttpRecorder([Reply.json(400, {"ok": False, "description": "Bad Request: chat not found"})]).start()
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=20)
    s = seed(tmp_path, t0, alerts_config(hook.url, tg.url))
    driver = Driver(s.cfg, tmp_path, t0)
    driver.run(t0, 0, 20)
    app = create_app(s.cfg, base_dir=tmp_path)
    app.extensions["hotspot"].accounts.add_user("op", PW, "operator")
    server = WebServer(app, "127.0.0.1:0", threads=4).bind().start_thread()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nscreenshots in {shots}")
    yield {"url": server.url.rstrip("/"), "driver": driver, "t0": t0, "hook": hook, "shots": shots}
    server.close()
    app.extensions["hotspot"].close()
    driver.close()
    hook.stop()
    tg.stop()


def test_operator_works_the_alert_pages_in_a_browser(browser, live):  # noqa: F811
    url = live["url"]
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    rec = Recorder(pg, url)
    try:
        pg.goto(url + "/login")
        pg.fill("#username", "op")
        pg.fill("#password", PW)
        pg.click("#login-submit")
        pg.wait_for_selector("#kpis")
        pg.wait_for_selector("#map[data-ready='1']", timeout=30_000)
        # four alerts fire (bk-2, Pasar Gedhé's site alert and its two APs): the overview says so
        assert pg.text_content("[data-kpi='alerts_firing']").strip() == "4"
        pg.click("[data-kpi='alerts_firing']")
        pg.wait_for_selector("#alerts-firing")
        assert pg.locator("#alerts-firing tbody tr[data-alert]").count() == 4
        assert pg.locator("#alerts-pending").count() == 0  # the firing filter
        # acknowledge bk-2's alert with a comment
        row = "#alerts-firing tbody tr:has(a:text-is('bk-2'))"
        pg.fill(f"{row} input[name='comment']", "teknisi berangkat")
        with pg.expect_navigation():
            pg.click(f"{row} button[type='submit']")
        assert "teknisi berangkat" in pg.text_content(row) and "op" in pg.text_content(f"{row} .acked")
        assert pg.text_content("[data-count='acknowledged']").strip() == "1"
        pg.screenshot(path=str(live["shots"] / "alerts.png"), full_page=True)
        # sw-1 (down again since t0 + 17 min) fires at t0 + 22: the open page notices by itself
        live["driver"].run(live["t0"], 21, 22)
        pg.wait_for_selector("#alerts-changed:not([hidden])", timeout=15_000)
        assert pg.text_content("[data-count='firing']").strip() == "5"
        with pg.expect_navigation():
            pg.click("#alerts-reload")
        assert pg.locator("#alerts-firing tbody tr[data-alert]").count() == 5
        # a silence for Taman Sriwedari, from the silences tab
        pg.click("#tab-silences")
        pg.wait_for_selector("#silence-form")
        assert pg.is_hidden("#silence-form [data-schedule='weekly']")  # one-off chosen: weekly fields hidden
        pg.select_option("#site", "sriwedari")
        pg.fill("#duration", "90m")
        pg.fill("#comment", "ganti kabel LAN")
        with pg.expect_navigation():
            pg.click("#silence-submit")
        srow = "#silences tbody tr[data-kind='silence']"
        pg.wait_for_selector(srow)
        assert pg.get_attribute(srow, "data-state") == "active"
        assert "ganti kabel LAN" in pg.text_content(srow) and "Taman Sriwedari" in pg.text_content(srow)
        pg.screenshot(path=str(live["shots"] / "silences.png"), full_page=True)
        # a test message through the webhook channel, from the channels tab
        pg.click("#tab-channels")
        pg.wait_for_selector("#channel-noc-hook")
        with pg.expect_navigation():
            pg.click("#test-noc-hook")
        pg.wait_for_selector("#channel-noc-hook tr[data-result='ok']")
        assert "terkirim" in pg.text_content(".banner.info")
        [req] = live["hook"].requests
        assert req.json()["kind"] == "test" and req.headers["x-signature"].startswith("sha256=")
        assert HOOK_SECRET not in pg.content() and TG_TOKEN not in pg.content()
        pg.screenshot(path=str(live["shots"] / "channels.png"), full_page=True)
        rec.check()
    finally:
        ctx.close()
