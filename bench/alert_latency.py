"""Alert latency and a city-wide power cut, end to end on loopback.

The simulator serves a generated fleet; `hotspot-monitor run` (a real process)
polls it and alerts by e-mail to a real SMTP server (aiosmtpd) in this process.

1. **Latency**: APs are stopped one at a time at random; the time from the stop
   to the e-mail naming that AP arriving. Target p95 <= interval x down_after
   + for + 10 s (the issue's bound; group_wait is set to 5 s here, since the
   default 30 s is a batching choice, not latency).
2. **Power cut**: every site loses power at once. Counted: messages per site
   (target at most one per site per channel), time until the last one arrived
   (target 60 s after the sites were judged down), and the service's SNMP
   round duration before and during the cut (delivery must not delay polling).

    .venv/bin/python bench/alert_latency.py [--aps 1000] [--sites 300] [--interval 10]
                                            [--samples 10] [--seconds-max 900]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hotspot_monitor.commands.demo import write_config  # noqa: E402
from hotspot_monitor.config import parse_config  # noqa: E402
from hotspot_monitor.simulator import Rates, Simulator  # noqa: E402
from hotspot_monitor.simulator.background import BackgroundSimulator  # noqa: E402
from services.receivers import SmtpReceiver  # noqa: E402

DOWN_AFTER = 3
FOR_S = 10
PROFILES = ("unifi", "mikrotik", "openwrt", "generic")


def inventory(aps: int, sites: int, interval: float, smtp_port: int) -> str:
    lines = ["timezone: Asia/Jakarta",
             f"collector: {{interval_s: {interval}, timeout_s: 1.0, retries: 0, down_after: {DOWN_AFTER},",
             "            snmp: {version: 2c, community: bench-alerts}}", "sites:"]
    for s in range(sites):
        lines.append(f"  - {{id: s{s}, name: Site {s}, kind: park, district: D{s % 5}, "
                     f"lat: {-7.55 - (s % 100) * 0.0003:.4f}, lon: {110.80 + (s // 100) * 0.0003:.4f}}}")
    lines.append("aps:")
    for i in range(aps):
        lines.append(f"  - {{id: ap{i}, site: s{i % sites}, host: 127.0.0.1, port: 1, "
                     f"profile: {PROFILES[i % 4]}}}")
    lines += ["alerts:", "  evaluate_every_s: 1", "  channels:",
              f"    - {{id: mail, type: email, smtp_host: 127.0.0.1, smtp_port: {smtp_port}, starttls: false,",
              "       from: noc@example.go.id, to: [ops@example.go.id], language: en}",
              "  routes: [{channels: [mail], group_wait: 5s, group_interval: 30s}]",
              f"  rules: {{ap_down: {{for: {FOR_S}s}}, site_down: {{for: {FOR_S}s}}, flapping: {{enabled: false}}}}"]
    return "\n".join(lines) + "\n"


def runtime(base: Path) -> dict:
    try:
        return json.loads((base / "var" / "runtime.json").read_text())
    except (OSError, ValueError):
        return {}


def wait(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aps", type=int, default=1000)
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--samples", type=int, default=10, help="APs stopped one at a time (latency)")
    ap.add_argument("--seconds-max", type=float, default=900.0, help="give up after this long")
    args = ap.parse_args()
    deadline = time.monotonic() + args.seconds_max
    smtp = SmtpReceiver().start()
    base = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    sim = Simulator(parse_config(inventory(args.aps, args.sites, args.interval, smtp.port), "bench.yaml"),
                    seed=5, addressing="ports", rates=Rates(reboot=0, outage=0, power_cut=0))
    bg = BackgroundSimulator(sim)
    bg.start()
    cfg_path = base / "config.yaml"
    write_config(sim.collector_config(), cfg_path)
    proc = subprocess.Popen([sys.executable, "-m", "hotspot_monitor", "run", str(cfg_path), "--base-dir",
                             str(base)], stdout=subprocess.DEVNULL, stderr=open(base / "run.log", "wb"))
    try:
        print(f"fleet: {args.aps} APs over {args.sites} sites, interval {args.interval:g} s, "
              f"down_after {DOWN_AFTER}, for {FOR_S} s, group_wait 5 s")
        if not wait(lambda: (runtime(base).get("snmp_round") or {}).get("devices", 0) >= args.aps,
                    min(300, deadline - time.monotonic())):
            print("the service did not complete a polling round in time; see", base / "run.log")
            return 1
        time.sleep(args.interval)
        rounds_before = [(runtime(base).get("snmp_round") or {}).get("seconds")]
        overruns_before = (runtime(base).get("snmp") or {}).get("overruns", 0)

        # -- 1. latency -------------------------------------------------------------------
        bound = args.interval * DOWN_AFTER + FOR_S + 10
        latencies = []
        rng = random.Random(3)
        for ap_i in rng.sample(range(args.aps), args.samples):
            if time.monotonic() > deadline:
                break
            n0 = len(smtp.mails)
            name = f"ap{ap_i}"
            t0 = time.monotonic()
            bg.call(sim.force_down, name)
            got = wait(lambda: any(re.search(rf"\bAP {name}\b", str(m.message["Subject"]) + m.message.get_body(
                ("plain",)).get_content()) for m in smtp.mails[n0:]), bound + 60)
            if got:
                latencies.append(time.monotonic() - t0)
            bg.call(sim.force_up, name)
            wait(lambda: False, args.interval * 2)  # let it recover (its resolution mail is sent)
        if latencies:
            p50 = statistics.median(latencies)
            p95 = sorted(latencies)[max(0, int(round(0.95 * len(latencies))) - 1)]
            print(f"latency stop -> e-mail over {len(latencies)}/{args.samples} APs: p50 {p50:.1f} s, "
                  f"p95 {p95:.1f} s (target p95 <= {bound:.0f} s: {'met' if p95 <= bound else 'MISSED'})")
        else:
            print("latency: no e-mail arrived")

        # -- 2. city-wide power cut -----------------------------------------------------------
        # the last stopped AP's recovery mail comes a group_interval later: let it arrive
        # first, or it is counted as a second message for its site during the cut
        settle_until = time.monotonic() + 180
        while time.monotonic() < settle_until:
            n = len(smtp.mails)
            if not wait(lambda: len(smtp.mails) > n, 20):
                break
        n0 = len(smtp.mails)
        t_cut = time.monotonic()
        for s in range(args.sites):
            bg.call(sim.power_cut, f"s{s}")
        judged = t_cut + args.interval * DOWN_AFTER + FOR_S + 5 + args.interval
        wait(lambda: len(smtp.mails) - n0 >= args.sites, max(0, judged + 120 - time.monotonic()))
        last_at = time.monotonic()
        wait(lambda: False, 15)  # anything more would arrive now
        mails = smtp.mails[n0:]
        per_site: dict[str, int] = {}
        for m in mails:
            for site in set(re.findall(r"\bSite (\d+)\b", str(m.message["Subject"]))):
                per_site[site] = per_site.get(site, 0) + 1
        during = [(runtime(base).get("snmp_round") or {}).get("seconds")]
        overruns = (runtime(base).get("snmp") or {}).get("overruns", 0) - overruns_before
        print(f"power cut of {args.sites} sites: {len(mails)} e-mails, sites named {len(per_site)}, "
              f"most per site {max(per_site.values(), default=0)} (target 1); last arrived "
              f"{last_at - t_cut:.1f} s after the cut, {max(0.0, last_at - judged):.1f} s after the "
              f"sites were judged down (target <= 60 s)")
        print(f"SNMP round before the cut {rounds_before[0]} s, during {during[0]} s "
              f"(a round is one interval window: {args.interval:g} s when nothing is late); "
              f"polls that overran their slot during the test: {overruns}")
        alerts = runtime(base).get("alerts", {})
        print(f"service: {alerts}")
        print(f"rerun: .venv/bin/python bench/alert_latency.py --aps {args.aps} --sites {args.sites} "
              f"--interval {args.interval:g} --samples {args.samples}")
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        bg.stop()
        smtp.stop()


if __name__ == "__main__":
    sys.exit(main())
