"""Status engine and availability: how fast, on SQLite, for a city-sized fleet.

    .venv/bin/python bench/status_engine.py [--aps 5000] [--outages 20000]

Prints observations/s through the state machine (with its state store),
the cost of a mass transition (every AP down at once, then back) against a
peer in the same run (a bare SQLAlchemy executemany of the same number of
outage rows), and the time of a month's availability for the fleet, one site
and one AP. Figures go in docs/status.md.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from hotspot_monitor.config.models import Config  # noqa: E402
from hotspot_monitor.sample import Sample  # noqa: E402
from hotspot_monitor.status.availability import availability  # noqa: E402
from hotspot_monitor.status.engine import StatusEngine  # noqa: E402
from hotspot_monitor.status.statestore import OutageRow, StateStore  # noqa: E402

JKT = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def fleet(n: int, **collector: object) -> Config:
    return Config.model_validate({
        "timezone": "Asia/Jakarta", "collector": collector,
        "sites": [{"id": f"s{j}", "name": "S", "lat": 0, "lon": 0, "service_hours": "06:00-22:00"}
                  for j in range(100)],
        "aps": [{"id": f"ap{i}", "site": f"s{i % 100}"} for i in range(n)]})


def status_round(n: int, r: int, up) -> list[Sample]:
    return [Sample("ap_status", {"site": f"s{i % 100}", "ap": f"ap{i}", "source": "snmp"},
                   {"up": 1} if up(i) else {"up": 0, "reason": "snmp_timeout"},
                   T0 + timedelta(seconds=60 * r)) for i in range(n)]


def bench_observe(n: int) -> tuple[float, float]:
    eng = StatusEngine(fleet(n), StateStore("sqlite:///st.sqlite", base_dir=Path(tempfile.mkdtemp())))
    eng.start(T0)
    rounds = [status_round(n, r, lambda i, r=r: r % 10 != 5 or i % 50) for r in range(10)]
    obs = tick = 0.0
    for r, samples in enumerate(rounds):
        a = time.perf_counter()
        eng.observe_many(samples)
        b = time.perf_counter()
        eng.tick(T0 + timedelta(seconds=60 * r + 30))
        tick += time.perf_counter() - b
        obs += b - a
    return 10 * n / obs, tick / 10


def bench_mass_transition(n: int) -> tuple[float, float, float]:
    store = StateStore("sqlite:///st.sqlite", base_dir=Path(tempfile.mkdtemp()))
    eng = StatusEngine(fleet(n, down_after=1), store)
    eng.observe_many(status_round(n, 0, lambda i: True))
    a = time.perf_counter()
    down = eng.observe_many(status_round(n, 1, lambda i: False))
    b = time.perf_counter()
    up = eng.observe_many(status_round(n, 2, lambda i: True))
    c = time.perf_counter()
    assert len(down) == len(up) == n
    peer = StateStore("sqlite:///peer.sqlite", base_dir=Path(tempfile.mkdtemp()))
    rows = [{"ap": f"ap{i}", "site": "s", "start": T0, "end": None, "duration_s": None,
             "reason": "snmp_timeout", "source": "snmp"} for i in range(n)]
    d = time.perf_counter()
    with peer.engine.begin() as conn:
        conn.execute(insert(OutageRow.__table__), rows)
    return b - a, c - b, time.perf_counter() - d


def bench_availability(n: int, n_outages: int) -> list[tuple[str, float, float]]:
    cfg = fleet(n)
    s = StateStore("sqlite:///a.sqlite", base_dir=Path(tempfile.mkdtemp()))
    m0, m1 = datetime(2026, 11, 1, tzinfo=JKT), datetime(2026, 12, 1, tzinfo=JKT)
    s.add_session(m0 - timedelta(days=1), m1 + timedelta(days=1))
    s.save_ap_states([{"ap": f"ap{i}", "site": f"s{i % 100}", "state": "up", "first_seen": m0,
                       "covered_since": m0, "covered_until": m1} for i in range(n)])
    rnd = random.Random(1)
    rows = []
    for _ in range(n_outages):
        a = m0 + timedelta(seconds=rnd.randrange(30 * 86400))
        rows.append({"ap": f"ap{rnd.randrange(n)}", "site": "x", "start": a,
                     "end": a + timedelta(seconds=rnd.randrange(1, 7200)), "duration_s": 0.0,
                     "reason": "snmp_timeout", "source": "snmp"})
    with s.engine.begin() as c:
        c.execute(insert(OutageRow.__table__), rows)
    out = []
    for label, kw in (("fleet", {}), ("one site", {"site": "s7"}), ("one AP", {"ap": "ap7"})):
        t = time.perf_counter()
        r = availability(s, cfg, start=m0, end=m1, **kw)
        out.append((label, time.perf_counter() - t, r.availability_pct))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--aps", type=int, default=5000)
    p.add_argument("--outages", type=int, default=20000)
    args = p.parse_args()
    rate, tick = bench_observe(args.aps)
    print(f"observe: {rate:,.0f} ap_status observations/s ({args.aps} APs x 10 rounds); "
          f"tick saving {args.aps} AP rows: {tick * 1000:.0f} ms")
    down, up, peer = bench_mass_transition(min(args.aps, 1000))
    k = min(args.aps, 1000)
    print(f"{k} APs down at once: {down:.2f} s ({down / k * 1000:.2f} ms/transition), back up: "
          f"{up:.2f} s; peer (bare executemany of {k} outage rows): {peer:.3f} s; "
          f"ratio {down / peer:.0f}x (one transaction per transition, for crash safety)")
    for label, secs, pct in bench_availability(args.aps, args.outages):
        print(f"availability, one month, {label} ({args.aps} APs, {args.outages} outages): "
              f"{secs:.3f} s ({pct:.3f} %)")
    print("rerun: .venv/bin/python bench/status_engine.py --aps N --outages M")


if __name__ == "__main__":
    main()
