"""Requests/s answered by ONE simulator process.

Starts ``hotspot-monitor simulate`` as a subprocess serving N generated APs
(mixed UniFi / MikroTik / OpenWrt / generic, distinct ports on 127.0.0.1),
then drives it from load processes with pre-encoded SNMPv2c requests in the
shape of a collector poll (1 GET of 8 OIDs + 3 GETBULKs of 10 repetitions)
spread over all APs, keeping a bounded window of requests in flight. Bounded
in count and in time. Also measures the in-process cost of an SNMPv3
authPriv request (SHA-256 + AES-128) through the responder.

    .venv/bin/python bench/simulator.py [--aps 2000] [--seconds 10] [--window 32] [--loaders 1]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotspot_monitor.simulator.ber import (GET, GETBULK, SEQUENCE, enc_int, enc_octets,  # noqa: E402
                                           enc_oid, tlv)
from hotspot_monitor.simulator.mib import O  # noqa: E402

PROFILES = ("unifi", "mikrotik", "openwrt", "generic")


def fleet_yaml(n: int, base_port: int) -> str:
    sites = max(1, n // 4)
    lines = ["timezone: Asia/Jakarta", "collector:", "  snmp:", "    version: 2c", "    community: public",
             "sites:"]
    for s in range(sites):
        lines += [f"  - id: s{s}", f"    name: Site {s}", "    kind: park",
                  f"    lat: {-7.55 - (s % 100) * 0.0003:.4f}", f"    lon: {110.80 + (s // 100) * 0.0003:.4f}"]
    lines.append("aps:")
    for i in range(n):
        lines += [f"  - id: ap{i}", f"    site: s{i % sites}", "    host: 127.0.0.1",
                  f"    port: {base_port + i}", f"    profile: {PROFILES[i % 4]}"]
    return "\n".join(lines) + "\n"


def _v2c(pdu_tag: int, rid: int, oids: list[tuple], a: int = 0, b: int = 0) -> bytes:
    vbs = b"".join(tlv(SEQUENCE, enc_oid(o) + b"\x05\x00") for o in oids)
    pdu = tlv(pdu_tag, enc_int(rid) + enc_int(a) + enc_int(b) + tlv(SEQUENCE, vbs))
    return tlv(SEQUENCE, enc_int(1) + enc_octets(b"public") + pdu)


def poll_requests() -> list[bytes]:
    """One collector poll: GET of 8 OIDs, then 3 GETBULKs."""
    get = [O("1.3.6.1.2.1.1.3.0"), O("1.3.6.1.2.1.1.5.0"), O("1.3.6.1.2.1.1.2.0"),
           O("1.3.6.1.2.1.31.1.1.1.6.2"), O("1.3.6.1.2.1.31.1.1.1.10.2"),
           O("1.3.6.1.2.1.25.3.3.1.2.196608"), O("1.3.6.1.4.1.41112.1.6.1.2.1.8.1"),
           O("1.3.6.1.4.1.14988.1.1.1.3.1.6.1")]
    return [
        _v2c(GET, 1, get),
        _v2c(GETBULK, 2, [O("1.3.6.1.2.1.31.1.1.1.1"), O("1.3.6.1.2.1.31.1.1.1.6"),
                          O("1.3.6.1.2.1.31.1.1.1.10")], 0, 10),
        _v2c(GETBULK, 3, [O("1.3.6.1.2.1.2.2.1.2"), O("1.3.6.1.2.1.2.2.1.8")], 0, 10),
        _v2c(GETBULK, 4, [O("1.3.6.1.4.1.41112.1.6.1.2.1.8"), O("1.3.6.1.4.1.41112.1.6.1.2.1.9")], 0, 10),
    ]


def loader(n_aps: int, base_port: int, seconds: float, window: int, max_requests: int, q: mp.Queue) -> None:
    reqs = poll_requests()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.settimeout(0.5)
    rnd = random.Random(os.getpid())
    sent = answered = lost = 0
    nbytes = 0
    t_end = time.monotonic() + seconds
    i = 0

    def send() -> None:
        nonlocal sent, i
        s.sendto(reqs[i % len(reqs)], ("127.0.0.1", base_port + rnd.randrange(n_aps)))
        i += 1
        sent += 1

    for _ in range(window):
        send()
    t0 = time.monotonic()
    while time.monotonic() < t_end and sent < max_requests:
        try:
            data = s.recv(65535)
            answered += 1
            nbytes += len(data)
        except socket.timeout:
            lost += window  # refill the window after a stall
            for _ in range(window):
                send()
            continue
        send()
    elapsed = time.monotonic() - t0
    q.put((answered, sent, lost, elapsed, nbytes))


def v3_inprocess(n: int = 3000) -> float:
    """Responder cost of SNMPv3 authPriv GETs (8 OIDs), in requests/s of one core."""
    from hotspot_monitor.config.loader import parse_config
    from hotspot_monitor.simulator import Clock, Simulator

    cfg = parse_config("""timezone: Asia/Jakarta
sites: [{id: s, name: S, lat: -7.56, lon: 110.82, kind: park}]
aps:
  - {id: a, site: s, host: 127.0.0.1, port: 1, profile: unifi,
     snmp: {version: 3, user: monitor, auth_protocol: SHA256, auth_key: authkey-123456,
            priv_protocol: AES, priv_key: privkey-123456}}
""")
    sim = Simulator(cfg, clock=Clock(time.time(), 0.0))
    agent = sim.agents["a"]
    user = agent.users[b"monitor"]
    boots, et = sim.engine_clock("a")
    get = poll_requests()[0]
    # Re-wrap the v2c GET's PDU as a v3 authPriv request from a client.
    pdu_start = get.index(b"\xa0")
    scoped = tlv(SEQUENCE, enc_octets(agent.engine_id) + enc_octets(b"") + get[pdu_start:])
    msg = sim.responder._wrap(agent, 7, user, True, boots, et, b"monitor", scoped, extra_flags=4)
    assert agent.stats.get("answered", 0) == 0
    t = sim.now()
    r = sim.responder.handle(agent, msg, t)
    assert r is not None and agent.stats.get("answered") == 1, agent.stats
    t0 = time.perf_counter()
    for _ in range(n):
        sim.responder.handle(agent, msg, t)
    return n / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aps", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--window", type=int, default=32, help="requests in flight per loader")
    ap.add_argument("--loaders", type=int, default=1)
    ap.add_argument("--base-port", type=int, default=30000)
    ap.add_argument("--max-requests", type=int, default=500_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "fleet.yaml"
        cfg.write_text(fleet_yaml(a.aps, a.base_port))
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "hotspot_monitor", "simulate", str(cfg), "--no-mqtt",
                                 "--duration", str(a.seconds + 120)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        try:
            line = proc.stdout.readline()
            if "agents up" not in line:
                print("simulator did not start:", line, proc.stdout.read(), file=sys.stderr)
                return 1
            startup = time.monotonic() - t0
            q: mp.Queue = mp.Queue()
            ps = [mp.Process(target=loader, args=(a.aps, a.base_port, a.seconds, a.window,
                                                  a.max_requests // a.loaders, q)) for _ in range(a.loaders)]
            for p in ps:
                p.start()
            res = [q.get(timeout=a.seconds + 60) for _ in ps]
            for p in ps:
                p.join()
        finally:
            proc.terminate()
            proc.wait(10)
    answered = sum(r[0] for r in res)
    sent = sum(r[1] for r in res)
    elapsed = max(r[3] for r in res)
    rps = answered / elapsed
    per_poll = 4
    print(f"simulator: {a.aps} APs, startup {startup:.1f} s; {answered} of {sent} requests answered "
          f"in {elapsed:.1f} s by one process = {rps:.0f} requests/s (v2c, mix GET 8 OIDs + 3 GETBULK x10)")
    print(f"  = {rps / per_poll * 60:.0f} AP polls per minute (4 requests each); "
          f"2,000 APs every 60 s need {2000 * per_poll / 60:.0f} requests/s -> headroom x{rps / (2000 * per_poll / 60):.1f}")
    print(f"  SNMPv3 authPriv (SHA-256/AES-128) GET of 8 OIDs, responder in-process: {v3_inprocess():.0f} requests/s")
    print(f"rerun: .venv/bin/python bench/simulator.py --aps {a.aps} --seconds {a.seconds:g} "
          f"--window {a.window} --loaders {a.loaders}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
