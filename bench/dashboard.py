"""Dashboard: server time of each page and API call at city scale, beside a bare /healthz.

    .venv/bin/python bench/dashboard.py [--aps 500] [--days 2] [--step 300] [--store sqlite|influxdb]
                                        [--requests 30]

Builds a fleet of ``--aps`` simulated APs (20 per site, sites spread over
Surakarta), writes ``--days`` of history with the simulator's backfill (one
sample per AP and measurement every ``--step`` seconds; 60 = the issue's
1-minute history, much slower to write), its planned outages into the outage
log, and a live status round through the real status engine. Then serves the
dashboard with waitress on loopback and requests each page and API call
``--requests`` times, one after the other, after two warm-up calls (the
dashboard keeps fleet-wide values ready; the first call computes them).

Server time is measured inside the process by a WSGI wrapper, from the call
until the response body is fully sent; the client time (loopback HTTP) is
shown beside it. "weight" is the bytes of the response; for pages, also the
page's own static files (CSS, JS, GeoJSON it loads), not plotly.js, which is
served once with a one-year cache. Figures go in docs/dashboard.md.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hotspot_monitor.config.models import Config  # noqa: E402
from hotspot_monitor.sample import Sample  # noqa: E402
from hotspot_monitor.simulator import Rates, Simulator  # noqa: E402
from hotspot_monitor.simulator.backfill import backfill  # noqa: E402
from hotspot_monitor.status.engine import StatusEngine  # noqa: E402
from hotspot_monitor.status.statestore import StateStore  # noqa: E402

KECAMATAN = ["Laweyan", "Serengan", "Pasar Kliwon", "Jebres", "Banjarsari"]
KINDS = ["park", "square", "market", "street", "campus", "terminal", "office", "heritage"]
PASSWORD = "bench-password-123"


def fleet(aps: int, base: Path, store: dict) -> Config:
    rnd = random.Random(7)
    n_sites = max(1, aps // 20)
    sites = [{"id": f"site{j:03d}", "name": f"Lokasi {j}", "kind": KINDS[j % len(KINDS)],
              "district": KECAMATAN[j % 5], "lat": round(rnd.uniform(-7.585, -7.535), 5),
              "lon": round(rnd.uniform(110.785, 110.855), 5), "backhaul_mbps": 100,
              **({"service_hours": "06:00-22:00"} if j % 4 == 0 else {})} for j in range(n_sites)]
    return Config.model_validate({
        "timezone": "Asia/Jakarta",
        "store": store,
        "state": {"url": f"sqlite:///{base}/state.sqlite", "dir": str(base)},
        "collector": {"interval_s": 60, "snmp": {"version": "2c", "community": "public"}},
        "web": {"locale": "en"},
        "sites": sites,
        "aps": [{"id": f"ap{i:05d}", "site": f"site{i % n_sites:03d}", "host": "127.0.0.1", "port": 16100}
                for i in range(aps)]})


def build(cfg: Config, base: Path, days: float, step: float) -> dict:
    """History in the metric store, outages and a live round in the state store."""
    from hotspot_monitor.commands.demo import record_history_outages
    from hotspot_monitor.stores.factory import open_store

    sim = Simulator(cfg, seed=3, rates=Rates())
    now = time.time()
    start = now - days * 86400
    t0 = time.monotonic()
    store = open_store(cfg.store, base)
    counts = backfill(sim, store, start, now - 60, step_s=step)
    store.close()
    written = time.monotonic() - t0
    outages = record_history_outages(sim, cfg, base, start, now - 60)
    # a live round through the engine: 2 % of the APs down now (open outages)
    states = StateStore.from_config(cfg, base)
    engine = StatusEngine(cfg, states)
    t = datetime.now(timezone.utc)
    engine.start(t - timedelta(seconds=180))
    for r in range(3):
        for i, a in enumerate(cfg.aps):
            up = i % 50 != 7
            engine.observe(Sample("ap_status", {"site": a.site, "ap": a.id, "source": "snmp"},
                                  {"up": 1, "response_ms": 3.0} if up else {"up": 0, "reason": "snmp_timeout"},
                                  t - timedelta(seconds=120 - 60 * r)))
    engine.tick(t)
    states.close()
    return {"samples": int(sum(v for k, v in counts.items() if k != "seconds")), "write_s": written,
            "outages": outages}


class Timer:
    """WSGI wrapper: server time per path, until the body is sent."""

    def __init__(self, app):
        self.app, self.times, self.lock = app, {}, threading.Lock()

    def __call__(self, environ, start_response):
        t0 = time.perf_counter()
        key = environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        body = self.app(environ, start_response)
        try:
            for chunk in body:
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()
            with self.lock:
                self.times.setdefault(key, []).append(time.perf_counter() - t0)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aps", type=int, default=500)
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--step", type=float, default=300.0, help="seconds between history samples")
    ap.add_argument("--store", choices=["sqlite", "influxdb"], default="sqlite")
    ap.add_argument("--requests", type=int, default=30)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-dash-"))
    influxd = None
    if args.store == "influxdb":
        from services.influxd import start_influxd

        influxd = start_influxd()
        store = {"kind": "influxdb", "influxdb": {"url": influxd.url, "database": "bench"}}
    else:
        store = {"kind": "sqlite", "sqlite": {"path": str(base / "metrics.sqlite")}}
    try:
        return run(args, base, store)
    finally:
        if influxd is not None:
            influxd.stop()


def run(args: argparse.Namespace, base: Path, store: dict) -> int:
    from dashboard import create_app
    from dashboard.server import WebServer

    cfg = fleet(args.aps, base, store)
    print(f"building {args.aps} APs in {len(cfg.sites)} sites, {args.days:g} days every {args.step:g}s "
          f"in {args.store} ...", flush=True)
    built = build(cfg, base, args.days, args.step)
    print(f"  {built['samples']:,} samples in {built['write_s']:.0f}s, {built['outages']} outages", flush=True)
    app = create_app(cfg, base_dir=base, warm=False)
    app.extensions["hotspot"].accounts.add_user("bench", PASSWORD, "admin")
    t0 = time.monotonic()
    app.extensions["hotspot"].fleet.book.warm(days=35).join()
    warm_s = time.monotonic() - t0
    timer = Timer(app.wsgi_app)
    app.wsgi_app = timer
    server = WebServer(app, "127.0.0.1:0", threads=4).bind().start_thread()
    url = server.url.rstrip("/")
    token = app.extensions["hotspot"].accounts.create_token("bench", "bench")
    site, apid = cfg.sites[1].id, cfg.aps[1].id
    targets = [
        ("healthz (bare)", "/healthz", False),
        ("overview page", "/", True), ("overview API", "/api/v1/overview", False),
        ("KPIs API", "/api/v1/kpis", False),
        ("map page", "/map", True), ("map data API", "/api/v1/map", False),
        ("sites page", "/sites", True), ("sites API", "/api/v1/sites", False),
        ("site page", f"/sites/{site}", True), ("site API", f"/api/v1/sites/{site}", False),
        ("site series 24h", f"/api/v1/sites/{site}/series?range=24h", False),
        ("site series 7d", f"/api/v1/sites/{site}/series?range=7d", False),
        ("site series 30d", f"/api/v1/sites/{site}/series?range=30d", False),
        ("AP page", f"/aps/{apid}", True), ("AP API", f"/api/v1/aps/{apid}", False),
        ("AP series 24h", f"/api/v1/aps/{apid}/series?range=24h", False),
        ("outages page", "/outages", True), ("outages API", "/api/v1/outages", False),
        ("health page", "/health", True),
    ]
    import http.cookiejar
    import re

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(url + "/login").read().decode()
    csrf = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({"csrf_token": csrf, "username": "bench", "password": PASSWORD}).encode()
    opener.open(url + "/login", data=data).read()

    def fetch(path: str, page: bool) -> tuple[float, int, str]:
        req = urllib.request.Request(url + path)
        if not page:
            req.add_header("Authorization", f"Bearer {token}")
        t = time.perf_counter()
        with opener.open(req, timeout=120) as r:
            body = r.read()
        return time.perf_counter() - t, len(body), body.decode(errors="replace")

    static_sizes: dict[str, int] = {}

    def own_static(body: str) -> int:
        total = 0
        for ref in set(re.findall(r'(?:src|href)="(/static/[^"]+)"', body)):
            if ref not in static_sizes:
                static_sizes[ref] = len(opener.open(url + ref).read())
            total += static_sizes[ref]
        if "/static/js/map.js" in body:  # the map also loads the two boundary files
            for g in ("surakarta_kecamatan_dissolved.geojson", "surakarta_kelurahan.geojson"):
                ref = f"/static/geo/{g}"
                if ref not in static_sizes:
                    static_sizes[ref] = len(opener.open(url + ref).read())
                total += static_sizes[ref]
        return total

    rows = []
    for name, path, page in targets:
        for _ in range(2):
            fetch(path, page)
        timer.times.pop(path, None)
        client = []
        size, body = 0, ""
        deadline = time.monotonic() + 120
        for _ in range(args.requests):
            c, size, body = fetch(path, page)
            client.append(c)
            if time.monotonic() > deadline:
                break
        server_t = timer.times.get(path, [])
        weight = size + (own_static(body) if page else 0)
        rows.append((name, pct(server_t, 0.5) * 1000, pct(server_t, 0.95) * 1000,
                     statistics.median(client) * 1000, weight))
    server.close()
    app.extensions["hotspot"].close()
    print(f"\n{args.aps} APs, {len(cfg.sites)} sites, {args.days:g} days every {args.step:g}s, "
          f"store {args.store}; availability book warmed in {warm_s:.1f}s; {args.requests} requests each")
    print(f"{'what':<18} {'server p50':>11} {'server p95':>11} {'client p50':>11} {'weight':>10}")
    for name, p50, p95, c50, weight in rows:
        print(f"{name:<18} {p50:>8.1f} ms {p95:>8.1f} ms {c50:>8.1f} ms {weight / 1000:>7.1f} KB")
    print(f"\nrerun: .venv/bin/python bench/dashboard.py --aps {args.aps} --days {args.days:g} "
          f"--step {args.step:g} --store {args.store} --requests {args.requests}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
