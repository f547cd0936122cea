"""Shared by the fault tests (tests/test_service_faults.py) and bench/faults.py:
the simulated fleet in this process, `hotspot-monitor run` as a child process
(killed, restarted, stopped as an operator would), and checks on what reached
the stores computed by hand from the simulator's model, never by the code
under test."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from hotspot_monitor.commands.demo import write_config
from hotspot_monitor.config import parse_config
from hotspot_monitor.simulator import Rates, Simulator
from hotspot_monitor.simulator.background import BackgroundSimulator
from hotspot_monitor.simulator.mib import IFACES

VENDORS = ("unifi", "mikrotik", "openwrt", "generic")
COMMUNITY = "faults-Community-7731"


def fleet_yaml(n_aps: int, interval_s: float, store: dict, *, timeout_s: float = 0.5,
               down_after: int = 3, mqtt: Optional[dict] = None, extra: Optional[dict] = None) -> str:
    """An inventory of ``n_aps`` APs (vendors in turn, 8 per site) for the simulator."""
    sites = max(1, (n_aps + 7) // 8)
    cfg: dict[str, Any] = {
        "timezone": "Asia/Jakarta",
        "collector": {"interval_s": interval_s, "timeout_s": timeout_s, "retries": 0,
                      "down_after": down_after, "concurrency": 200,
                      "snmp": {"version": "2c", "community": COMMUNITY}},
        "store": store,
        "state": {"dir": "state", "url": "sqlite:///state/state.sqlite"},
        "sites": [{"id": f"s{s}", "name": f"Site {s}", "kind": "park", "lat": -7.55 - s * 1e-4,
                   "lon": 110.80 + s * 1e-4} for s in range(sites)],
        "aps": [{"id": f"ap{k:05d}", "site": f"s{k // 8}", "host": "127.0.0.1", "port": 1,
                 "profile": VENDORS[k % len(VENDORS)]} for k in range(n_aps)],
    }
    if mqtt:
        cfg["mqtt"] = mqtt
    for k, v in (extra or {}).items():
        cfg[k] = {**cfg.get(k, {}), **v} if isinstance(v, dict) else v
    return yaml.safe_dump(cfg, sort_keys=False)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_for(pred: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Fleet:
    """Simulator (own thread) + `run` on its config, in ``base``."""

    base: Path
    inventory: str
    seed: int = 5
    sim: Simulator = field(init=False)
    bg: BackgroundSimulator = field(init=False)
    cfg: Any = field(init=False)
    cfg_path: Path = field(init=False)
    proc: Optional[subprocess.Popen] = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.sim = Simulator(parse_config(self.inventory, "faults.yaml"), seed=self.seed,
                             addressing="ports", rates=Rates(reboot=0, outage=0, power_cut=0))
        self.bg = BackgroundSimulator(self.sim)
        self.bg.start()
        self.cfg = self.sim.collector_config()
        self.cfg_path = self.base / "config.yaml"
        write_config(self.cfg, self.cfg_path)
        self.log = self.base / "run.log"

    # -- the service ------------------------------------------------------------
    def start_run(self) -> "Fleet":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotspot_monitor", "run", str(self.cfg_path), "--base-dir",
             str(self.base), "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"),
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        return self

    def kill_run(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop_run(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(120)
            assert rc == 0, self.log.read_text()[-3000:]

    def close(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(30)
        finally:
            self.bg.stop()

    def runtime(self) -> dict:
        p = self.base / "state" / "runtime.json"
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):
            return {}

    # -- the model ----------------------------------------------------------------
    def uplink(self, ap: str) -> str:
        (name,) = [n for _, n, _, role, _ in IFACES[self.sim.model.aps[ap].vendor] if role == "uplink"]
        return name

    def counters64(self, ap: str) -> bool:
        return self.sim.state(ap, time.time()).bits == 64

    def rx(self, ap: str, iface: str, t: datetime) -> int:
        return self.sim.state(ap, t.timestamp()).counters[iface][0]


@dataclass(frozen=True)
class Point:
    time: datetime
    interval_s: float
    rx: int
    tx: int


def chain_gaps(points: list[Point], slack_s: float = 0.002) -> list[tuple[datetime, datetime]]:
    """Where a series of interval points is not continuous: (end of one, start of the
    next interval) for every hole. Raises on an overlap (a byte counted twice)."""
    gaps = []
    for a, b in zip(points, points[1:]):
        start = b.time.timestamp() - b.interval_s
        if start < a.time.timestamp() - slack_s:
            raise AssertionError(f"overlapping intervals: {a} and {b}")
        if start > a.time.timestamp() + slack_s:
            gaps.append((a.time, b.time))
    return gaps


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
