"""Poller behaviour on snmpsim: dead devices, counters between polls, bad answers."""
from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from collectors.snmp import SnmpCollector
from hotspot_monitor.config.models import Config
from services.ports import free_port
from snmp_engines import engine  # noqa: F401 (fixture: every test runs on each engine)


def make_config(port: int, aps: list[dict], **collector) -> Config:
    return Config.model_validate({
        "collector": {"timeout_s": 5, "retries": 1, **collector},
        "sites": [{"id": "s", "name": "S", "lat": -7.5, "lon": 110.8}],
        "aps": [{"site": "s", "host": "127.0.0.1", "port": port,
                 "snmp": {"version": "2c", "community": a.get("community", a["id"])},
                 **{k: v for k, v in a.items() if k != "community"}} for a in aps],
    })


def run(coll: SnmpCollector, *rounds_ids, pause: float = 0.0):
    async def go():
        out = []
        try:
            for i, ids in enumerate(rounds_ids):
                if i and pause:
                    await asyncio.sleep(pause)
                out.append({r.device_id: r for r in await coll.poll_results(ids)})
        finally:
            await coll.close()
        return out
    return asyncio.run(go())


def test_dead_devices_are_down_in_time_and_do_not_delay_others(snmpsim, engine):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # swallows every request
    sink.bind(("127.0.0.1", 0))
    try:
        nothing = free_port(socket.SOCK_DGRAM)  # nobody listens here
        good = ["unifi_nanohd", "routeros", "ciscowlc_cbw240ac"]
        aps = [{"id": g} for g in good] + [
            {"id": "black-hole", "community": "x", "port": sink.getsockname()[1],
             "timeout_s": 2, "retries": 1},
            {"id": "closed-port", "community": "x", "port": nothing, "timeout_s": 2, "retries": 1},
        ]
        cfg = make_config(snmpsim.port, aps, engine=engine)
        t0 = time.monotonic()
        (res,) = run(SnmpCollector(cfg), None)
        total = time.monotonic() - t0
    finally:
        sink.close()
    for dead in ("black-hole", "closed-port"):
        r = res[dead]
        assert not r.ok and r.reason == "snmp_timeout", r.error
        assert r.samples[0].fields == {"up": 0, "reason": "snmp_timeout"}
        # timeout 2 s x (retries 1 + 1) = 4 s, plus generous slack
        assert 3.5 <= r.duration_s < 4 + 4
        assert dead in r.error
    for g in good:
        assert res[g].ok, res[g].error
        assert res[g].duration_s < 3.0, "good devices must not wait for dead ones"
    assert total < 4 + 5


def _set(text: str, oid: str, value: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        o, tag, _ = line.split("|", 2)
        if o == oid:
            lines[i] = f"{o}|{tag}|{value}"
            return "\n".join(lines) + "\n"
    raise AssertionError(f"{oid} not in recording")


IN_ETH0 = "1.3.6.1.2.1.31.1.1.1.6.2"    # ifHCInOctets.2 (eth0) = 70706526374 in unifi_nanohd
OUT_ETH0 = "1.3.6.1.2.1.31.1.1.1.10.2"  # ifHCOutOctets.2 (eth0) = 9312337533
UPTIME = "1.3.6.1.2.1.1.3.0"            # sysUpTime = 54502347


def test_counter_deltas_reboot_and_gap_through_the_poller(snmpsim, snmprec_dir, engine):
    base = (snmprec_dir / "unifi_nanohd.snmprec").read_text()
    snmpsim.touch("counters", base)
    cfg = make_config(snmpsim.port, [{"id": "counters", "profile": "unifi"}], engine=engine)
    coll = SnmpCollector(cfg)

    async def go():
        try:
            r1 = await coll.poll_device("counters")
            snmpsim.touch("counters", _set(_set(_set(base, IN_ETH0, "70707526374"),
                                                OUT_ETH0, "9312837533"), UPTIME, "54508347"))
            r2 = await coll.poll_device("counters")
            # reboot: uptime went back to 1 s, counters restarted
            snmpsim.touch("counters", _set(_set(_set(base, IN_ETH0, "4242"), OUT_ETH0, "17"),
                                           UPTIME, "100"))
            r3 = await coll.poll_device("counters")
            return r1, r2, r3
        finally:
            await coll.close()
    r1, r2, r3 = asyncio.run(go())
    assert r1.ok and r2.ok and r3.ok
    assert not [s for s in r1.samples if s.measurement == "ap_traffic"]  # first: baseline only
    eth0 = lambda r: [s for s in r.samples if s.measurement == "ap_traffic" and s.tags["iface"] == "eth0"]  # noqa: E731
    (t2,) = eth0(r2)
    assert t2.fields["rx_bytes"] == 1_000_000 and t2.fields["tx_bytes"] == 500_000
    # the interval between the two polls' times, as the float epoch seconds the tracker keeps
    # (the polls are ~0.1 s apart: a microsecond-exact timedelta differs in the 6th digit)
    dt = t2.time.timestamp() - r1.samples[0].time.timestamp()
    assert t2.fields["rx_bps"] == pytest.approx(8_000_000 / dt)
    assert t2.fields["tx_bps"] == pytest.approx(4_000_000 / dt)
    others = [s for s in r2.samples if s.measurement == "ap_traffic" and s.tags["iface"] != "eth0"]
    assert others and all(s.fields["rx_bytes"] == 0 == s.fields["tx_bytes"] for s in others)
    (t3,) = eth0(r3)
    assert (t3.fields["rx_bytes"], t3.fields["tx_bytes"]) == (4242, 17)  # bytes since boot
    assert [s.fields["uptime_s"] for s in r3.samples if s.measurement == "ap_status"] == [1]


def test_no_rate_across_a_gap(snmpsim, engine):
    cfg = make_config(snmpsim.port, [{"id": "unifi_nanohd"}], max_gap_s=0.5, engine=engine)
    a, b = run(SnmpCollector(cfg), None, None, pause=0.8)
    assert a["unifi_nanohd"].ok and b["unifi_nanohd"].ok
    traffic = [s for s in b["unifi_nanohd"].samples if s.measurement == "ap_traffic"]
    # across the gap: bytes (64-bit, no reboot: the recording's counters did not move) and
    # the interval's length, but no rate
    gap = (b["unifi_nanohd"].samples[0].time - a["unifi_nanohd"].samples[0].time).total_seconds()
    assert traffic and all(set(s.fields) == {"rx_bytes", "tx_bytes", "interval_s"} for s in traffic)
    assert all(s.fields["rx_bytes"] == 0 == s.fields["tx_bytes"] for s in traffic)
    assert all(s.fields["interval_s"] == pytest.approx(gap) and gap > 0.5 for s in traffic)


def test_bad_answers_are_counted_and_the_rest_arrives(snmpsim, caplog, engine):
    caplog.set_level(logging.WARNING, logger="collectors.snmp")
    cfg = make_config(snmpsim.port, [{"id": "broken"}], engine=engine)
    coll = SnmpCollector(cfg)
    (res,) = run(coll, None)
    r = res["broken"]
    assert r.ok and r.profile == "unifi", r.error  # detected through the UBNT probe OID
    st = [s for s in r.samples if s.measurement == "ap_status"][0].fields
    assert st["up"] == 1 and "uptime_s" not in st  # sysUpTime was the string "not-a-number"
    clients = {s.tags["radio"]: s.fields["clients"] for s in r.samples if s.measurement == "ap_clients"}
    # VAP 1: 5 on ng; VAP 2: "many" on na (unreadable); VAP 3: 2 with no band row (truncated
    # table). 5 GHz and the total are unknown (VAP 2's count is missing, not 0): only 2.4 GHz
    assert clients == {"2.4GHz": 5}
    assert coll.stats["missing.clients"] == 1
    assert {i.name: (i.rx, i.tx) for i in r.reading.ifaces} == {"eth0": (1000, 2000)}
    sysf = [s for s in r.samples if s.measurement == "ap_system"][0].fields
    assert sysf == {"cpu_pct": 40.0}  # hrProcessorLoad.1 = "busy" dropped, .2 = 40
    # sysUpTime, hrProcessorLoad.1, ifHCInOctets.2, unifiVapNumStations.2
    assert coll.stats["bad.bad_type"] == 4
    warnings = [rec for rec in caplog.records if "bad answer" in rec.getMessage()]
    assert len(warnings) == 1  # rate-limited: one line per device per minute


def test_run_polls_every_device_on_its_interval_until_stopped(snmpsim, engine):
    got: list = []
    cfg = make_config(snmpsim.port, [{"id": "unifi_nanohd", "interval_s": 0.4},
                                     {"id": "routeros", "interval_s": 0.4}], engine=engine)
    coll = SnmpCollector(cfg, on_samples=got.append)

    async def go():
        stop = asyncio.Event()
        task = asyncio.create_task(coll.run(stop))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until each device has been polled 3 times
            polled = [b[0].tags["ap"] for b in got]
            if min(polled.count("unifi_nanohd"), polled.count("routeros")) >= 3:
                break
            await asyncio.sleep(0.05)
        stop.set()
        t0 = time.monotonic()
        await asyncio.wait_for(task, 5)
        await coll.close()
        return time.monotonic() - t0
    stopped_in = asyncio.run(go())
    polled = [b[0].tags["ap"] for b in got]
    assert polled.count("unifi_nanohd") >= 3 and polled.count("routeros") >= 3
    assert stopped_in < 2
    # traffic appears from the second poll of each device on
    assert any(s.measurement == "ap_traffic" for b in got for s in b)


def test_controller_fanout_maps_inventory_and_reports_down_aps(snmpsim, engine):
    cfg = Config.model_validate({
        "collector": {"engine": engine},
        "sites": [{"id": "s", "name": "S", "lat": -7.5, "lon": 110.8},
                  {"id": "t", "name": "T", "lat": -7.5, "lon": 110.8}],
        "controllers": [{"id": "zd", "host": "127.0.0.1", "port": snmpsim.port, "site": "s",
                         "snmp": {"version": "2c", "community": "zonedirector"}}],
        "aps": [
            {"id": "lobby-ap", "site": "t", "mac": "00-11-22-33-44-55", "controller": "zd"},
            {"id": "gate-ap", "name": "Gate", "site": "t", "controller": "zd"},
            {"id": "gone-ap", "site": "t", "controller": "zd"},  # not in the ZD's table
        ],
    })
    (res,) = run(SnmpCollector(cfg), None)
    r = res["zd"]
    assert r.ok and r.profile == "ruckus_zd", r.error
    st = {s.tags["ap"]: (s.tags["site"], s.fields) for s in r.samples if s.measurement == "ap_status"}
    assert st["lobby-ap"] == ("t", {"up": 1, "uptime_s": 123456})     # matched by MAC
    assert st["gate-ap"] == ("t", {"up": 0, "reason": "controller_reports_down"})  # by name, status 0
    assert st["gone-ap"] == ("t", {"up": 0, "reason": "controller_reports_down"})
    assert st["zd"][1]["up"] == 1 and st["zd"][1]["uptime_s"] == 3600
    sysf = {s.tags["ap"]: s.fields for s in r.samples if s.measurement == "ap_system"}
    assert sysf == {"zd": {"cpu_pct": 12.0, "mem_pct": 41.0}, "lobby-ap": {"cpu_pct": 7.0, "mem_pct": 63.0}}  # 18900 of 30000 kB
    cl = {(s.tags["ap"], s.tags["radio"]): s.fields["clients"] for s in r.samples if s.measurement == "ap_clients"}
    assert cl == {("lobby-ap", "all"): 9, ("gate-ap", "all"): 0, ("zd", "all"): 9}
    (ca,) = [s for s in r.samples if s.measurement == "controller_aps"]
    assert ca.tags == {"site": "s", "ap": "zd"}
    assert ca.fields == {"aps_total": 2, "aps_up": 1, "aps_down": 1}


def test_controller_with_an_empty_ap_table_reports_nobody_down(snmpsim, engine):
    # The SmartZone recording has totals but no per-AP rows: an empty table
    # says nothing about the inventory's APs (a controller that just rebooted
    # answers the same way), so none of them may be reported down.
    cfg = Config.model_validate({
        "collector": {"engine": engine},
        "sites": [{"id": "s", "name": "S", "lat": -7.5, "lon": 110.8}],
        "controllers": [{"id": "sz", "host": "127.0.0.1", "port": snmpsim.port, "site": "s",
                         "snmp": {"version": "2c", "community": "ruckuswireless-sz"}}],
        "aps": [{"id": "ap-under-sz", "site": "s", "controller": "sz"}],
    })
    (res,) = run(SnmpCollector(cfg), None)
    r = res["sz"]
    assert r.ok and r.profile == "ruckus_smartzone", r.error
    assert not [s for s in r.samples if s.tags.get("ap") == "ap-under-sz"]


def test_profile_is_detected_again_after_a_reboot_only(snmpsim, snmprec_dir, engine):
    base = (snmprec_dir / "unifi_nanohd.snmprec").read_text()
    snmpsim.touch("counters", base)
    coll = SnmpCollector(make_config(snmpsim.port, [{"id": "counters"}], engine=engine))

    async def go():
        try:
            seen = []
            for i in range(4):
                if i == 2:  # the AP rebooted: sysUpTime 54502347 -> 100 ticks
                    snmpsim.touch("counters", _set(base, UPTIME, "100"))
                r = await coll.poll_device("counters")
                assert r.ok and r.profile == "unifi", r.error
                seen.append(coll.stats["detections"])
            return seen
        finally:
            await coll.close()
    # detected at first contact, not again until the poll after the one that saw the reboot
    assert asyncio.run(go()) == [1, 1, 1, 2]
