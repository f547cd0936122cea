"""The public status page under load: requests/s of /status beside a bare /healthz, same run.

    .venv/bin/python bench/status_page.py [--sites 250] [--aps-per-site 4] [--clients 8]
                                          [--seconds 5] [--max-requests 20000]

Builds ``--sites`` public places spread over Surakarta with ``--aps-per-site`` APs each,
puts a live round through the real status engine (2 % of the APs down, so some places
are partly working or down and the city "knows"), files a few citizens' reports, then
serves the dashboard with waitress on loopback (8 threads, as ``web.threads``) and lets
``--clients`` threads, each with one keep-alive HTTP connection, request one path as
fast as they can for ``--seconds`` (at most ``--max-requests`` in all): first ``/healthz``,
then ``/status``, then ``/status/<site>``, then ``/healthz`` again. The page's cache
(``citizens.cache_s``, 10 s) is on, as in production; the per-address rate limit is
raised for the run (every request comes from 127.0.0.1; with the default of 600 a
minute the limiter itself answers 429, which the bench counts apart). Loopback only.
The target is /status >= 0.5 x /healthz. Figures go in docs/citizens.md.
"""
from __future__ import annotations

import argparse
import http.client
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotspot_monitor.config import parse_config  # noqa: E402
from hotspot_monitor.sample import Sample  # noqa: E402
from hotspot_monitor.status.engine import StatusEngine  # noqa: E402
from hotspot_monitor.status.statestore import StateStore  # noqa: E402

KECAMATAN = ["Laweyan", "Serengan", "Pasar Kliwon", "Jebres", "Banjarsari"]


def config_text(base: Path, sites: int, per_site: int) -> str:
    rnd = random.Random(7)
    lines = [f"""timezone: Asia/Jakarta
city: Surakarta
state: {{url: "sqlite:///{base}/state.sqlite", dir: "{base}"}}
store: {{kind: sqlite, sqlite: {{path: "{base}/metrics.sqlite"}}}}
collector: {{interval_s: 60, snmp: {{version: 2c, community: bench}}}}
web: {{locale: id, threads: 8}}
citizens: {{page_requests_per_min: 100000000, cache_s: 10}}
sites:"""]
    for i in range(sites):
        lat, lon = -7.555 - rnd.random() * 0.03, 110.79 + rnd.random() * 0.06
        lines.append(f"  - {{id: s{i}, name: Taman {i}, kind: park, district: {KECAMATAN[i % 5]}, "
                     f"lat: {lat:.5f}, lon: {lon:.5f}}}")
    lines.append("aps:")
    for i in range(sites):
        for j in range(per_site):
            lines.append(f"  - {{id: s{i}-ap{j}, site: s{i}, host: 127.0.0.1}}")
    return "\n".join(lines) + "\n"


@dataclass
class Result:
    path: str
    requests: int
    seconds: float
    errors: int
    limited: int
    bytes_per_answer: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def hammer(host: str, port: int, path: str, clients: int, seconds: float, max_requests: int,
           gzip_ok: bool = True) -> Result:
    lock = threading.Lock()
    counts = {"ok": 0, "err": 0, "429": 0, "bytes": 0}
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        while time.monotonic() < stop_at:
            with lock:
                if counts["ok"] + counts["err"] + counts["429"] >= max_requests:
                    break
            try:
                conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                with lock:
                    counts["err"] += 1
                continue
            with lock:
                key = "ok" if r.status == 200 else "429" if r.status == 429 else "err"
                counts[key] += 1
                counts["bytes"] = len(body)
        conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Result(path, counts["ok"], time.monotonic() - t0, counts["err"], counts["429"], counts["bytes"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, default=250)
    ap.add_argument("--aps-per-site", type=int, default=4)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5.0, help="per path (bounded)")
    ap.add_argument("--max-requests", type=int, default=20_000, help="per path (bounded)")
    args = ap.parse_args()
    args.seconds = min(args.seconds, 60.0)

    import logging

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" under load is expected
    from dashboard import create_app
    from dashboard.server import WebServer

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        text = config_text(base, args.sites, args.aps_per_site)
        cfg = parse_config(text, str(base / "bench.yaml"))
        states = StateStore.from_config(cfg, base)
        engine = StatusEngine(cfg, states)
        now = datetime.now(timezone.utc)
        engine.start(now - timedelta(minutes=10))
        rnd = random.Random(3)
        for a in cfg.aps:
            tags = {"site": a.site, "ap": a.id, "source": "snmp"}
            engine.observe(Sample("ap_status", tags, {"up": 1}, now - timedelta(minutes=9)))
            if rnd.random() < 0.02:
                for i in range(3):
                    engine.observe(Sample("ap_status", tags, {"up": 0, "reason": "snmp_timeout"},
                                          now - timedelta(minutes=5 - i)))
        engine.tick(now)
        app = create_app(cfg, base_dir=base)
        desk = app.extensions["citizens"].desk
        for i in range(0, args.sites, 10):
            desk.file(site=f"s{i}", problem="slow", noticed_at=now, now=now)
        server = WebServer(app, "127.0.0.1:0", threads=cfg.web.threads).bind().start_thread()
        host, port = "127.0.0.1", int(server.url.rstrip("/").rsplit(":", 1)[1])
        try:
            for path in ("/healthz", "/status", "/status/s0"):  # warm up
                for _ in range(2):
                    hammer(host, port, path, 1, 5.0, 1)
            runs = [hammer(host, port, p, args.clients, args.seconds, args.max_requests)
                    for p in ("/healthz", "/status", "/status/s0", "/healthz")]
            plain = hammer(host, port, "/status", 1, 5.0, 1, gzip_ok=False).bytes_per_answer
            cold = []
            for _ in range(5):  # one render without the page cache (the status snapshot stays cached)
                app.extensions["citizens"].cache.clear()
                t = time.perf_counter()
                hammer(host, port, "/status", 1, 5.0, 1)
                cold.append((time.perf_counter() - t) * 1000)
        finally:
            server.close()
            app.extensions["hotspot"].close()
            engine.stop(datetime.now(timezone.utc))
            states.close()
    health = (runs[0].rate + runs[3].rate) / 2
    print(f"{args.sites} public places, {args.sites * args.aps_per_site} APs; {args.clients} keep-alive clients, "
          f"{args.seconds:g} s per path; waitress {cfg.web.threads} threads; loopback")
    print(f"{'path':<14}{'requests':>10}{'req/s':>10}{'x healthz':>11}{'bytes':>9}{'errors':>8}{'429':>6}")
    for r in runs:
        print(f"{r.path:<14}{r.requests:>10}{r.rate:>10.0f}{r.rate / health:>11.2f}{r.bytes_per_answer:>9}"
              f"{r.errors:>8}{r.limited:>6}")
    print(f"/status without gzip: {plain} bytes (bytes above: gzipped, as browsers ask); "
          f"a render without the page cache: {sorted(cold)[2]:.0f} ms (median of 5, client side)")
    ratio = runs[1].rate / health
    print(f"/status at {ratio:.2f} x /healthz (target >= 0.5): {'met' if ratio >= 0.5 else 'NOT met'}")
    print("rerun: .venv/bin/python bench/status_page.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
