"""Hostile SNMP agents: a table that never ends, garbage datagrams, and a
100,000-row table (a real snmpsim recording derived in a temp dir). Each is
bounded per device (collector.max_walk_s, the profile's max_rows), counted,
and never holds up the other devices of the round."""
from __future__ import annotations

import os
import random
import socket
import subprocess
import multiprocessing
import time

from collectors.snmp import SnmpCollector
from hotspot_monitor.simulator import ber
from hotspot_monitor.simulator.ber import (GETBULK, GETNEXT, INTEGER, OCTET_STRING, RESPONSE,
                                           SEQUENCE, TIMETICKS, dec_int, dec_oid, enc_int, enc_oid,
                                           expect, tlv)
from services.ports import free_port, stop, wait_for
from services.snmpsim import RESPONDER
from snmp_engines import engine  # noqa: F401 (fixture: every test runs on each engine)
from test_snmp_behaviour import make_config, run

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
MAX_WALK_S = 3.0


class HostileAgent:
    """A v2c agent on loopback that answers every GET, and every GETNEXT/GETBULK
    with the next row of the asked column, for ever (``endless``), or answers
    every request with random bytes (``garbage``)."""

    def __init__(self, mode: str):
        self.mode = mode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._requests = multiprocessing.Value("i", 0)
        self._stop = multiprocessing.Event()
        self._rnd = random.Random(7)
        # its own process: the poller's loop must not share a GIL with the agent
        self._proc = multiprocessing.get_context("fork").Process(target=self._serve, daemon=True)
        self._proc.start()

    @property
    def requests(self) -> int:
        return self._requests.value

    def close(self) -> None:
        self._stop.set()
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            with self._requests.get_lock():
                self._requests.value += 1
            if self.mode == "garbage":
                reply = bytes(self._rnd.getrandbits(8) for _ in range(self._rnd.randint(1, 300)))
            else:
                time.sleep(0.005)  # a slow agent: 20,000 rows would take 10 s
                reply = self._answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def _answer(self, data: bytes) -> bytes:
        end = len(data)
        s, e = expect(data, 0, end, SEQUENCE)
        _, ve = expect(data, s, e, INTEGER)
        cs, ce = expect(data, ve, e, OCTET_STRING)
        pdu_start = ce
        tag, ps, pe = ber.read_tlv(data, pdu_start, e)
        rs, re_ = expect(data, ps, pe, INTEGER)
        a_s, a_e = expect(data, re_, pe, INTEGER)
        b_s, b_e = expect(data, a_e, pe, INTEGER)
        vs, vend = expect(data, b_e, pe, SEQUENCE)
        oids, p = [], vs
        while p < vend:
            x, y = expect(data, p, vend, SEQUENCE)
            os_, oe = expect(data, x, y, ber.OID)
            oids.append(dec_oid(data, os_, oe))
            p = y
        out = []
        if tag == GETNEXT or tag == GETBULK:
            # at most 10 rows an answer (agents may send fewer than asked): with the
            # 5 ms pause per answer the walk budget, not max_rows, is what stops it
            reps = max(1, min(dec_int(data, b_s, b_e), 10)) if tag == GETBULK else 1
            cursors = list(oids)
            for _ in range(reps):
                for k, c in enumerate(cursors):
                    # a column OID gets row .1, a row gets the next row: never the end
                    nxt = c + (1,) if len(c) <= 11 else c[:-1] + (c[-1] + 1,)
                    cursors[k] = nxt
                    out.append(tlv(SEQUENCE, enc_oid(nxt) + enc_int(1)))
        else:
            for o in oids:
                val = enc_int(123456, TIMETICKS) if o == SYS_UPTIME else enc_int(1)
                out.append(tlv(SEQUENCE, enc_oid(o) + val))
        body = data[ps:re_] + b"\x02\x01\x00\x02\x01\x00" + tlv(SEQUENCE, b"".join(out))
        return tlv(SEQUENCE, b"\x02\x01\x01" + data[ve:ce] + tlv(RESPONSE, body))


def test_endless_table_and_garbage_are_bounded_and_never_delay_the_round(snmpsim, engine):
    endless, garbage = HostileAgent("endless"), HostileAgent("garbage")
    try:
        aps = [{"id": "unifi_nanohd"}, {"id": "routeros"},
               {"id": "endless", "community": "public", "port": endless.port, "profile": "generic",
                "timeout_s": 1, "retries": 0},
               {"id": "garbage", "community": "public", "port": garbage.port, "profile": "generic",
                "timeout_s": 1, "retries": 0}]
        cfg = make_config(snmpsim.port, aps, engine=engine, max_walk_s=MAX_WALK_S)
        coll = SnmpCollector(cfg)
        t0 = time.monotonic()
        (res,) = run(coll, None)
        total = time.monotonic() - t0
    finally:
        endless.close()
        garbage.close()
    # the good devices were polled fully and quickly, beside the hostile ones
    for good in ("unifi_nanohd", "routeros"):
        assert res[good].ok and res[good].duration_s < MAX_WALK_S, (good, res[good].duration_s)
    e = res["endless"]
    assert e.ok, e.error  # it answers: up, with the tables it was cut in marked incomplete
    assert MAX_WALK_S <= e.duration_s <= MAX_WALK_S + 3.0, e.duration_s  # + one request, loaded machine
    assert coll.stats["bad.walk_time_exceeded"] == 1
    assert endless.requests > 10  # it really was walked until the budget ran out
    g = res["garbage"]
    assert not g.ok and g.reason in ("snmp_timeout", "snmp_error"), (g.reason, g.error)
    assert total <= MAX_WALK_S + 5.0, total


def test_a_100k_row_table_is_cut_at_max_rows_or_the_walk_budget(tmp_path, snmprec_dir):
    """A real agent (snmpsim) serving an ifTable of 100,000 interfaces (the default
    engine only: indexing the recording is most of the test's time)."""
    engine = "gufo"
    d = tmp_path / "rec"
    d.mkdir()
    src = (snmprec_dir / "openwrt_wap-study.snmprec").read_text().splitlines()
    keep = [x for x in src if not x.startswith("1.3.6.1.2.1.2.2.1.") and
            not x.startswith("1.3.6.1.2.1.31.1.1.1.")]
    rows = []
    for i in range(1, 100_001):  # ifDescr of 100,000 interfaces
        rows.append(("2", i, f"1.3.6.1.2.1.2.2.1.2.{i}|4|eth{i}"))
    for col, typ, val in (("3", "2", "6"), ("8", "2", "1"), ("10", "65", "{i}"), ("16", "65", "{i}")):
        for i in range(1, 3):
            rows.append((col, i, f"1.3.6.1.2.1.2.2.1.{col}.{i}|{typ}|{val.format(i=i)}"))
    ordered = sorted(keep + [r for _, _, r in rows], key=lambda x: tuple(int(p) for p in x.split("|")[0].split(".")))
    (d / "huge.snmprec").write_text("\n".join(ordered) + "\n")
    port = free_port(socket.SOCK_DGRAM)
    log = str(tmp_path / "snmpsim.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(RESPONDER), f"--data-dir={d}", f"--cache-dir={tmp_path / 'cache'}",
             f"--agent-udpv4-endpoint=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, SNMPSIM_ALLOW_ROOT="true"),
            cwd=tmp_path)

    def ready() -> bool:
        r = subprocess.run(["snmpget", "-v2c", "-c", "huge", "-t", "0.5", "-r", "0", "-Oqv",
                            f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"], capture_output=True, text=True,
                           timeout=5)
        return r.returncode == 0 and r.stdout.strip() != ""
    try:
        wait_for(ready, 60, "snmpsim (100k-row table)", proc, log)
        cfg = make_config(port, [{"id": "huge", "profile": "generic", "timeout_s": 3}],
                          engine=engine, max_walk_s=MAX_WALK_S)
        coll = SnmpCollector(cfg)
        t0 = time.monotonic()
        (res,) = run(coll, None)
        took = time.monotonic() - t0
    finally:
        stop(proc)
    r = res["huge"]
    assert r.ok, r.error
    assert coll.stats["bad.walk_time_exceeded"] + coll.stats["bad.table_truncated"] >= 1
    assert not [s for s in r.samples if s.measurement == "ap_traffic"]  # first poll: baselines only
    assert took <= MAX_WALK_S + 3 * 2 + 2, took
