"""A small fleet for the dashboard tests, put through the real status engine and stores.

Seven APs at four Surakarta sites, three hours of 5-minute polls up to ``now``:

* ``bk-2`` fails from ``now - 30 min`` on: down, one open outage of 1,800 s at ``now``;
* ``pg-1`` failed 4 polls from ``now - 130 min``: one closed outage of 600 s;
* ``nv-1`` is never seen (unknown); the others are up all along;
* ``night-market`` is open 17:00-23:00 local only.

Every up poll stores 1,000,000 rx / 250,000 tx bytes on the uplink ``eth0`` and 777
bytes each way on the radio ``wlan0`` (which usage must not count), and client
counts per radio. The expected figures the tests assert are worked out by hand in
the tests, from these rules, not by the code under test.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hotspot_monitor.config import Config, parse_config
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from hotspot_monitor.stores.factory import open_store

COMMUNITY = "s3cret-Community-7781"
CLIENTS = {"bk-1": (3, 4), "sw-1": (4, 0), "pg-1": (2, 3), "pg-2": (6, 0), "nm-1": (1, 1), "bk-2": (5, 5)}
SITE_OF = {"bk-1": "balekambang", "bk-2": "balekambang", "sw-1": "sriwedari", "nv-1": "sriwedari",
           "pg-1": "pasar-gede", "pg-2": "pasar-gede", "nm-1": "night-market"}


def config_text(base: Path, extra: str = "") -> str:
    return f"""
timezone: Asia/Jakarta
state: {{url: "sqlite:///{base}/state.sqlite", dir: "{base}"}}
store: {{kind: sqlite, sqlite: {{path: "{base}/metrics.sqlite"}}}}
collector: {{interval_s: 60, snmp: {{version: 2c, community: {COMMUNITY}}}}}
web: {{locale: id, stale_after_s: 900, refresh_s: 1, login_attempts: 5, lockout_s: 2}}
sites:
  - {{id: balekambang, name: Taman Balekambang, kind: park, district: Banjarsari, lat: -7.5546, lon: 110.8046, backhaul_mbps: 100}}
  - {{id: sriwedari, name: Taman Sriwedari, kind: park, district: Laweyan, lat: -7.5681, lon: 110.8121}}
  - {{id: pasar-gede, name: Pasar Gedhé, kind: market, district: Jebres, lat: -7.5683, lon: 110.8316}}
  - {{id: night-market, name: Pasar Malam Ngarsopuro, kind: market, district: Banjarsari, lat: -7.5665, lon: 110.8225, service_hours: "17:00-23:00"}}
aps:
  - {{id: bk-1, site: balekambang, host: 127.0.0.1}}
  - {{id: bk-2, site: balekambang, host: 127.0.0.1}}
  - {{id: sw-1, site: sriwedari, host: 127.0.0.1}}
  - {{id: nv-1, site: sriwedari, host: 127.0.0.1}}
  - {{id: pg-1, site: pasar-gede, host: 127.0.0.1}}
  - {{id: pg-2, site: pasar-gede, host: 127.0.0.1}}
  - {{id: nm-1, site: night-market, host: 127.0.0.1}}
partners:
  - {{id: telco, name: PT Telko Nusantara, sites: [pasar-gede, night-market], contacts: [noc@telko.example]}}
{extra}"""


@dataclass
class Seeded:
    cfg: Config
    base: Path
    now: datetime
    config_path: Path


def poll_times(now: datetime) -> list[datetime]:
    return [now - timedelta(hours=3) + timedelta(minutes=5 * k) for k in range(36)]


def is_up(ap: str, k: int) -> bool:
    if ap == "bk-2":
        return k < 30
    if ap == "pg-1":
        return not 10 <= k <= 13
    return True


def seed(base: Path, now: datetime, extra_config: str = "") -> Seeded:
    base.mkdir(parents=True, exist_ok=True)
    text = config_text(base, extra_config)
    path = base / "config.yaml"
    path.write_text(text)
    cfg = parse_config(text, str(path))
    states = StateStore.from_config(cfg, base)
    engine = StatusEngine(cfg, states)
    engine.start(now - timedelta(hours=3))
    samples: list[Sample] = []
    for k, t in enumerate(poll_times(now)):
        for ap, site in SITE_OF.items():
            if ap == "nv-1":
                continue
            tags = {"site": site, "ap": ap}
            if is_up(ap, k):
                obs = Sample("ap_status", {**tags, "source": "snmp"},
                             {"up": 1, "response_ms": 4.5, "uptime_s": 86_400 + 300 * k}, t)
                c24, c5 = CLIENTS[ap]
                samples += [Sample("ap_clients", {**tags, "radio": "2.4GHz"}, {"clients": c24}, t),
                            Sample("ap_clients", {**tags, "radio": "5GHz"}, {"clients": c5}, t),
                            Sample("ap_clients", {**tags, "radio": "all"}, {"clients": c24 + c5}, t),
                            Sample("ap_traffic", {**tags, "iface": "eth0"},
                                   {"rx_bytes": 1_000_000, "tx_bytes": 250_000, "rx_bps": 26666.7,
                                    "tx_bps": 6666.7, "interval_s": 300.0}, t),
                            Sample("ap_traffic", {**tags, "iface": "wlan0"},
                                   {"rx_bytes": 777, "tx_bytes": 777, "rx_bps": 20.7, "tx_bps": 20.7,
                                    "interval_s": 300.0}, t),
                            Sample("ap_system", tags, {"cpu_pct": 20.0 + k % 7, "mem_pct": 41.5}, t)]
            else:
                obs = Sample("ap_status", {**tags, "source": "snmp"}, {"up": 0, "reason": "snmp_timeout"}, t)
            samples.append(obs)
            samples += engine.observe(obs)
    engine.tick(now)
    engine.save()
    states.close()
    with open_store(cfg.store, base) as store:
        store.write(samples)
    write_runtime(cfg, base, now)
    return Seeded(cfg, base, now, path)


def write_runtime(cfg: Config, base: Path, now: datetime, **extra: object) -> None:
    """What the service's housekeeping writes (runner.Service.write_runtime)."""
    d = {"pid": 4242, "updated": now.isoformat(), "started": (now - timedelta(hours=3)).isoformat(),
         "stopped": False,
         "writer": {"written": 12345, "pending": 0, "rejected": 0, "store_ok": True, "last_error": None},
         "engine": {"observed": 246, "outages": 2, "recoveries": 1},
         "snmp": {"polls": 252, "polls_ok": 242, "snmp_timeout": 10},
         "mqtt": {"received": 50, "samples": 200, "rejected": 3, "bad_json": 2, "unknown_ap": 1},
         **extra}
    (base / "runtime.json").write_text(json.dumps(d))


def fixed_now() -> datetime:
    """12:00 in Surakarta on 2026-11-15: the night market is closed."""
    return datetime(2026, 11, 15, 5, 0, tzinfo=timezone.utc)
