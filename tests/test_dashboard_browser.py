"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The app runs on waitress on a loopback port over the seeded fleet (real state
and metric stores, real clock). Every page load records console errors and
every request the browser makes: none may fail, none may leave the app's
origin. Screenshots go to ``<pytest tmp>/screenshots`` (the path is printed).

These tests fail (never skip) when Chromium is missing: ``scripts/setup --test``
installs it.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dashboard import create_app
from dashboard.server import WebServer
from dashboard_seed import seed
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
PW = "correct-horse-battery"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("dash")
    s = seed(base, datetime.now(timezone.utc).replace(microsecond=0))
    app = create_app(s.cfg, base_dir=base)
    app.extensions["hotspot"].accounts.add_user("op", PW, "operator")
    server = WebServer(app, "127.0.0.1:0", threads=4).bind().start_thread()
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    print(f"\nscreenshots in {shots}")
    yield {"url": server.url.rstrip("/"), "seeded": s, "app": app, "shots": shots}
    server.close()
    app.extensions["hotspot"].close()


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists() or shutil.which("chromium"), \
        "Chromium is missing: run scripts/setup --test (apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Recorder:
    def __init__(self, page, origin: str):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.origin = origin
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _failed(self, r) -> None:
        # Leaving a page (a link, the language switch) cancels what it still had in
        # flight (its 1-second poll, MapLibre's blob: worker): ERR_ABORTED is the
        # browser's own cancel, not a failure. Every other failure counts, and so
        # does every answer >= 400 (below).
        if r.failure == "net::ERR_ABORTED":
            return
        self.failed.append(f"{r.url} {r.failure}")

    def _response(self, r) -> None:
        if r.status >= 400:
            self.failed.append(f"{r.url} HTTP {r.status}")

    def check(self) -> None:
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        foreign = [u for u in self.requests if not u.startswith((self.origin + "/", "data:", "blob:"))]
        assert foreign == [], foreign
        assert len(self.requests) > 3  # the recorder saw the page's requests


@pytest.fixture()
def page(browser, site):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    rec = Recorder(pg, site["url"])
    pg.goto(site["url"] + "/")
    assert "/login" in pg.url  # anonymous: the login page
    pg.fill("#username", "op")
    pg.fill("#password", PW)
    pg.click("#login-submit")
    pg.wait_for_selector("#kpis")
    pg.wait_for_selector("#map[data-ready='1']", timeout=30_000)  # leave no load in flight
    yield pg, rec
    ctx.close()


def states_by_count(cfg, base):
    st = StateStore.from_config(cfg, base)
    try:
        rows = st.load_ap_states()
        open_n = len(st.outages(open_only=True))
    finally:
        st.close()
    known = {r["ap"]: r["state"] for r in rows}
    counts = {"up": 0, "down": 0, "unknown": 0}
    for a in cfg.aps:
        counts[known.get(a.id, "unknown")] += 1
    return counts, open_n


def test_login_and_overview_kpis_equal_the_state_store(page, site):
    pg, rec = page
    s = site["seeded"]
    counts, open_n = states_by_count(s.cfg, s.base)
    assert counts == {"up": 5, "down": 1, "unknown": 1}  # the seed's story, by hand
    for k, n in counts.items():
        assert pg.text_content(f"[data-kpi='aps.{k}']").strip() == str(n)
    assert pg.text_content("[data-kpi='open_outages']").strip() == str(open_n)
    assert pg.locator("#open-outages tbody tr[data-outage]").count() == open_n
    pg.wait_for_selector("#map[data-ready='1']", timeout=30_000)
    # after a live refresh from /api/v1/overview the numbers are the same
    pg.wait_for_function("document.getElementById('updated').textContent.length > 0")
    pg.wait_for_timeout(2500)
    for k, n in counts.items():
        assert pg.text_content(f"[data-kpi='aps.{k}']").strip() == str(n)
    pg.screenshot(path=str(site["shots"] / "overview.png"), full_page=True)
    rec.check()


def test_map_shows_sites_and_boundaries(page, site):
    pg, rec = page
    pg.goto(site["url"] + "/map")
    pg.wait_for_selector("#map[data-ready='1']", timeout=30_000)
    assert pg.get_attribute("#map", "data-sites") == "4"
    rendered = pg.wait_for_function("""() => {
      const m = document.getElementById('map')._fullLayout.map._subplot.map;
      if (!m.loaded()) return null;
      const kel = new Set(), kec = new Set(), sites = new Set();
      for (const f of m.queryRenderedFeatures()) {
        if (f.layer.type === 'line' && f.properties.kode) kel.add(f.properties.kode);
        else if (f.layer.type === 'line' && f.properties.nama) kec.add(f.properties.nama);
        else if (f.layer.type === 'circle') sites.add(f.geometry.coordinates.map(x => x.toFixed(4)).join(','));
      }
      return kel.size && kec.size && sites.size ? {kel: kel.size, kec: kec.size, sites: [...sites]} : null;
    }""", timeout=30_000).json_value()
    assert rendered["kel"] == 54 and rendered["kec"] == 5
    expected = {f"{s.lon:.4f},{s.lat:.4f}" for s in site["seeded"].cfg.sites}
    assert set(rendered["sites"]) == expected
    # state is told by words too (legend and the site table), not by colour alone
    legend = pg.text_content("#map .legend")
    assert "hidup" in legend and "terganggu" in legend
    pg.screenshot(path=str(site["shots"] / "map.png"))
    # clicking a site on the map lists its APs in the side panel
    xy = pg.evaluate("""() => {
      const gd = document.getElementById('map'), m = gd._fullLayout.map._subplot.map;
      const p = m.project([110.8046, -7.5546]);  // Taman Balekambang
      const r = gd.querySelector('.maplibregl-canvas').getBoundingClientRect();
      return [r.left + p.x, r.top + p.y];
    }""")
    pg.mouse.move(xy[0], xy[1])
    pg.mouse.click(xy[0], xy[1])
    pg.wait_for_selector("#panel-aps", timeout=10_000)
    assert {pg.text_content(c).strip() for c in ["#panel-aps tbody tr:nth-child(1) a",
                                                 "#panel-aps tbody tr:nth-child(2) a"]} == {"bk-1", "bk-2"}
    pg.screenshot(path=str(site["shots"] / "map-click.png"))
    rec.check()


def test_site_page_has_chart_traces_with_data(page, site):
    pg, rec = page
    pg.goto(site["url"] + "/sites/balekambang")
    pg.wait_for_selector("#charts[data-ready='1']", timeout=30_000)
    points = pg.evaluate("""() => Array.from(document.querySelectorAll('#charts .chart')).map(d => ({
        id: d.dataset.chart, traces: (d.data || []).length,
        points: (d.data || []).reduce((n, t) => n + (t.x ? t.x.length : 0), 0)}))""")
    by = {p["id"]: p for p in points}
    assert set(by) == {"clients", "traffic", "utilisation", "availability", "outages"}
    assert by["clients"]["traces"] == 2 and by["clients"]["points"] >= 2 * 30
    assert by["traffic"]["points"] >= 2 * 30 and by["outages"]["points"] == 1
    pg.screenshot(path=str(site["shots"] / "site.png"), full_page=True)
    pg.goto(site["url"] + "/aps/pg-1?range=7d")
    pg.wait_for_selector("#charts[data-ready='1']", timeout=30_000)
    assert pg.locator("#charts .chart .main-svg").count() >= 5
    pg.screenshot(path=str(site["shots"] / "ap.png"), full_page=True)
    rec.check()


def test_an_outage_appears_and_then_closes(page, site):
    pg, rec = page
    s = site["seeded"]
    states = StateStore.from_config(s.cfg, s.base)
    engine = StatusEngine(s.cfg, states)
    t0 = datetime.now(timezone.utc)
    engine.start(t0)
    tags = {"site": "pasar-gede", "ap": "pg-2", "source": "snmp"}
    try:
        for i in range(3):  # collector.down_after = 3
            engine.observe(Sample("ap_status", tags, {"up": 0, "reason": "snmp_timeout"}, t0 + timedelta(seconds=i)))
        row = "#open-outages tbody tr:has(a:text-is('pg-2'))"
        pg.wait_for_selector(row, timeout=20_000)  # no reload: the page refreshes itself
        assert "SNMP tidak menjawab" in pg.text_content(row)
        pg.screenshot(path=str(site["shots"] / "outage-open.png"), full_page=True)
        engine.observe(Sample("ap_status", tags, {"up": 1, "response_ms": 3.0}, t0 + timedelta(seconds=40)))
        pg.wait_for_selector(row, state="detached", timeout=20_000)
        pg.wait_for_selector("#events li:has(a:text-is('pg-2')):has([data-state='up'])", timeout=20_000)
        assert "40" in pg.text_content("#events li:has(a:text-is('pg-2')):has([data-state='up'])")
        pg.screenshot(path=str(site["shots"] / "outage-closed.png"), full_page=True)
    finally:
        engine.stop(datetime.now(timezone.utc))
        states.close()
    rec.check()


def test_language_switch_changes_the_labels(page, site):
    pg, rec = page
    assert pg.text_content("h1") == "Ringkasan"  # web.locale: id
    pg.click("#lang-en")
    pg.wait_for_selector("h1:text-is('Overview')")
    pg.wait_for_selector("#map[data-ready='1']", timeout=30_000)  # leave no load in flight
    assert "Open outages" in pg.text_content("#kpis")
    pg.goto(site["url"] + "/sites")
    assert pg.text_content("h1") == "Sites"  # kept for the user
    pg.click("#lang-id")
    pg.wait_for_selector("h1:text-is('Lokasi')")
    rec.check()


def test_monthly_reports_page_lists_months_and_downloads_a_csv(page, site):
    """The reports page through the navigation, in the browser; the CSV it links to is
    the report (the contract's header), fetched with the browser's session."""
    pg, rec = page
    pg.click("[data-nav='reports']")
    pg.wait_for_selector("#reports")
    first = pg.locator("#reports tbody tr").first
    links = first.locator("a")
    assert [links.nth(i).text_content().strip() for i in range(links.count())] == ["CSV", "XLSX", "HTML", "PDF"]
    href = links.nth(0).get_attribute("href")
    r = pg.request.get(site["url"] + href)
    assert r.status == 200
    assert r.body().decode("utf-8").startswith("level,district,site,ap,service_s,monitored_s,")
    rec.check()
