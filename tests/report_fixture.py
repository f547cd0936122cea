"""October 2026 in Surakarta (Asia/Jakarta), for the monthly report's tests.

Every expected number in tests/test_report_month.py is worked out by hand from
what is written here (see the comments), never by the code under test.

Month: local [2026-10-01 00:00, 2026-11-01 00:00) = UTC [09-30 17:00, 10-31 17:00),
2,678,400 s. Sundays: 4, 11, 18, 25 (October 1 is a Thursday).

Sites: ``alun`` (2 APs, around the clock, backhaul 10 Mbit/s), ``pasar`` (1 AP,
Mon-Sat 06:00-22:00, closed on Sundays: 27 days x 16 h = 1,555,200 s) in
Serengan; ``taman`` (1 AP, around the clock) in Banjarsari.

State store (written directly, as the status engine and ``import`` write it):
* the service was stopped Oct 10 10:00-12:00 (two monitoring sessions);
* ``tb-1`` was not observed Oct 20 08:00-09:30 (a gap in its coverage);
* outages, local time:
  1. al-1 Sep 30 23:00 - Oct 1 00:30: crosses the month start; 1,800 s in October, counted
  2. pk-1 Oct 5 (Mon) 09:00 - 09:04: 240 s, shorter than min_outage_s: excluded
  3. al-1 Oct 15 14:00 - 16:00 and al-2 14:01 - 16:00:30.5: both APs of ``alun``
     down within 60 s: a power cut (7,200 s and 7,170.5 s); both down 14:01-16:00 = 7,140 s
  4. pk-1 Oct 7 (Wed) 21:30 - 23:00: 1,800 s in service hours (counted), 3,600 s after closing
  5. pk-1 Oct 12 (Mon) 08:30 - 09:00: inside the site's maintenance 08:00-10:00: not counted
  6. pk-1 Oct 18 (Sun) 10:00 - 11:00: the market is closed: not counted
  7. tb-1 Oct 31 23:00 - Nov 1 01:00: crosses the month end; 3,600 s in October, counted
  8. tb-1 Oct 20 07:00 - 09:00: 3,600 s counted, 3,600 s in its coverage gap (unmonitored)
  9. al-2 Oct 10 11:00 - 13:00: 3,600 s while the service was stopped, 3,600 s counted

Traffic (``ap_traffic``): al-1's 32-bit ``eth0`` through the real CounterTracker
(a wrap across the month start, a reboot, a gap); al-2 ``ether1`` (uplink) and
``wlan1`` (radio, never counted); pk-1 only radios (``wlan0``, ``wlan1``: all
count); tb-1 a point exactly at the month start (all September) and a 13-hour
interval across the month end (service stopped), as collectors store them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from collectors.counters import CounterTracker
from hotspot_monitor.alerts.silences import SilenceStore
from hotspot_monitor.citizens.desk import ReportDesk
from hotspot_monitor.config import Config, parse_config
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.statestore import StateStore
from hotspot_monitor.stores.factory import open_store

JKT = ZoneInfo("Asia/Jakarta")


def L(day: int, h: int = 0, m: int = 0, s: int = 0, us: int = 0, month: int = 10) -> datetime:
    """A local (WIB) time in 2026 as an aware UTC datetime."""
    return datetime(2026, month, day, h, m, s, us, tzinfo=JKT).astimezone(timezone.utc)


def config_text(base: Path, store: str, telkom: str = "") -> str:
    """``telkom``: more settings for telkom's ``report`` mapping (``smtp: {...}, ``)."""
    days = "{mon: 06:00-22:00, tue: 06:00-22:00, wed: 06:00-22:00, thu: 06:00-22:00, " \
           "fri: 06:00-22:00, sat: 06:00-22:00, sun: closed}"
    return f"""
city: Surakarta
timezone: Asia/Jakarta
state: {{url: "sqlite:///{base}/state.sqlite", dir: "{base}/var"}}
store: {store}
collector: {{interval_s: 60, max_gap_s: 900, snmp: {{version: 2c, community: not-used-here}}}}
sites:
  - {{id: alun, name: Alun-alun Kidul, kind: square, district: Serengan, lat: -7.581, lon: 110.828, backhaul_mbps: 10}}
  - {{id: pasar, name: Pasar Klewer, kind: market, district: Serengan, lat: -7.575, lon: 110.826, service_hours: {days}}}
  - {{id: taman, name: Taman Balekambang, kind: park, district: Banjarsari, lat: -7.555, lon: 110.805}}
aps:
  - {{id: al-1, site: alun, host: 127.0.0.1}}
  - {{id: al-2, site: alun, host: 127.0.0.1}}
  - {{id: pk-1, site: pasar, host: 127.0.0.1, interval_s: 300}}
  - {{id: tb-1, site: taman, host: 127.0.0.1}}
partners:
  - id: telkom
    name: PT Telkom Indonesia
    sites: all
    contacts: [noc@telkom.example]
    report: {{{telkom}sla_target_pct: 99.9, min_outage_s: 300, exclude: [maintenance, outside_service_hours, power_cut]}}
  - {{id: kota, name: Diskominfo Surakarta, sites: all}}
"""


@dataclass
class MonthFixture:
    cfg: Config
    base: Path
    config_path: Path


def write_state(cfg: Config, base: Path) -> None:
    states = StateStore.from_config(cfg, base)
    try:
        far_back, far_on = datetime(2026, 9, 25, tzinfo=timezone.utc), datetime(2026, 11, 5, tzinfo=timezone.utc)
        states.add_session(far_back, L(10, 10))
        states.add_session(L(10, 12), far_on)
        for ap in ("al-1", "al-2", "pk-1"):
            states.add_coverage(ap, far_back, far_on)
        states.add_coverage("tb-1", far_back, L(20, 8))
        states.add_coverage("tb-1", L(20, 9, 30), far_on)
        site = {"al-1": "alun", "al-2": "alun", "pk-1": "pasar", "tb-1": "taman"}
        for ap, start, end in [
            ("al-1", L(30, 23, month=9), L(1, 0, 30)),  # 1
            ("pk-1", L(5, 9), L(5, 9, 4)),  # 2
            ("al-1", L(15, 14), L(15, 16)),  # 3
            ("al-2", L(15, 14, 1), L(15, 16, 0, 30, 500_000)),  # 3
            ("pk-1", L(7, 21, 30), L(7, 23)),  # 4
            ("pk-1", L(12, 8, 30), L(12, 9)),  # 5
            ("pk-1", L(18, 10), L(18, 11)),  # 6
            ("tb-1", L(31, 23), L(1, 1, month=11)),  # 7
            ("tb-1", L(20, 7), L(20, 9)),  # 8
            ("al-2", L(10, 11), L(10, 13)),  # 9
        ]:
            states.add_outage(ap=ap, site=site[ap], start=start, end=end, reason="snmp_timeout", source="snmp")
        SilenceStore(states.engine, cfg, cfg.alerts).add(
            kind="maintenance", matchers={"site": "pasar"}, starts_at=L(12, 8), ends_at=L(12, 10),
            author="ops", comment="PLN meter replacement", now=L(1))
        citizens_reports(states)
    finally:
        states.close()


def citizens_reports(states: StateStore) -> None:
    """Citizens' problem reports: at taman three tickets, acknowledged after 15, 30 and
    105 minutes (median 1,800 s, mean 3,000 s), one fixed after 90 minutes; at pasar one
    opened on Oct 31 23:30 and acknowledged only in November (not counted for October);
    one at taman in September (not October's)."""
    desk = ReportDesk(states)
    for opened, acked, fixed in [(L(20, 7, 30), L(20, 7, 45), L(20, 9)), (L(21, 10), L(21, 10, 30), None),
                                 (L(22, 8), L(22, 9, 45), None)]:
        tid = desk.file(site="taman", problem="no_signal", noticed_at=opened, now=opened).ticket_id
        desk.set_status(tid, "forwarded", by="ops", now=acked)
        if fixed is not None:
            desk.set_status(tid, "fixed", by="ops", now=fixed)
    tid = desk.file(site="pasar", problem="slow", noticed_at=L(31, 23, 30), now=L(31, 23, 30)).ticket_id
    desk.set_status(tid, "received", by="ops", now=L(1, 0, 10, month=11))
    desk.file(site="taman", problem="slow", noticed_at=L(28, 9, month=9), now=L(28, 9, month=9))


def traffic() -> list[Sample]:
    out: list[Sample] = []
    tr = CounterTracker(max_gap_s=900)
    al1 = {"site": "alun", "ap": "al-1", "iface": "eth0"}
    # (time, rx, tx, uptime): 32-bit counters, 100 Mbit/s default link
    for t, rx, tx, up in [
        (L(30, 23, 58, month=9), 4_294_000_000, 1_000, 100_000),  # baseline
        (L(1, 0, 1), 1_000_000, 61_000, 100_180),  # wrap: rx 967,296 + 1,000,000; 180 s, 120 before Oct
        (L(1, 0, 2), 3_000_000, 71_000, 100_240),  # +2,000,000 / +10,000
        (L(1, 0, 3), 500, 200, 30),  # reboot 30 s ago: the new values count
        (L(1, 0, 4), 1_500, 1_200, 90),  # +1,000 / +1,000
        (L(20, 12), 9_999, 9_999, 1_684_000),  # after a 19-day gap: a 32-bit baseline only
        (L(20, 12, 1), 19_999, 10_999, 1_684_060),  # +10,000 / +1,000
    ]:
        iv = tr.update(("al-1", "eth0"), rx, tx, t.timestamp(), bits=32, uptime_s=up)
        if iv is not None:
            out.append(Sample("ap_traffic", al1, iv.fields(), t))
    out.append(Sample("ap_traffic", {**al1, "iface": "wlan0"}, {"rx_bytes": 777, "tx_bytes": 777,
                                                                "interval_s": 60.0}, L(1, 0, 2)))

    def pt(ap: str, site: str, iface: str, t: datetime, rx: int, tx: int, iv: float) -> Sample:
        return Sample("ap_traffic", {"site": site, "ap": ap, "iface": iface},
                      {"rx_bytes": rx, "tx_bytes": tx, "interval_s": iv}, t)
    out += [
        pt("al-2", "alun", "ether1", L(29, 12, month=9), 42, 42, 60.0),  # September
        pt("al-2", "alun", "ether1", L(15, 13, 20), 2_000_000_000, 1_000, 1200.0),
        pt("al-2", "alun", "ether1", L(15, 13, 40), 1_600_000_001, 1_000, 1200.0),  # hour 13: 3.6e9 + 1
        pt("al-2", "alun", "ether1", L(15, 14, 20), 3_600_000_000, 0, 1200.0),  # hour 14: exactly 80 %
        pt("al-2", "alun", "wlan1", L(15, 13, 20), 5_000_000_000, 0, 1200.0),  # a radio: never counted
        pt("pk-1", "pasar", "wlan0", L(3, 10), 100, 10, 60.0),
        pt("pk-1", "pasar", "wlan1", L(3, 10), 200, 20, 60.0),
        pt("pk-1", "pasar", "wlan0", L(2, 10, month=11), 5, 5, 60.0),  # November
        pt("tb-1", "taman", "eth0", L(1, 0), 999_999, 888, 60.0),  # ends exactly at the month start
        pt("tb-1", "taman", "eth0", L(1, 0, 1), 5_000, 6_000, 60.0),
        pt("tb-1", "taman", "eth0", L(5, 12), 100_000, 50_000, 60.0),
        pt("tb-1", "taman", "eth0", L(31, 19, 59), 123, 456, 60.0),
        # Oct 31 20:00 -> Nov 1 09:00 (13 h, 4 of them in October): 4,600,000 x 4/13 = 1,415,384.6
        pt("tb-1", "taman", "eth0", L(1, 9, month=11), 4_600_000, 13_000, 46_800.0),
    ]
    return out


def clients() -> list[Sample]:
    def c(ap: str, site: str, t: datetime, n: int, radio: str = "all") -> Sample:
        return Sample("ap_clients", {"site": site, "ap": ap, "radio": radio}, {"clients": n}, t)
    return [c("al-1", "alun", L(15, 19, 10), 12), c("al-1", "alun", L(15, 19, 50), 15),
            c("al-1", "alun", L(16, 8), 3), c("al-1", "alun", L(15, 19, 10), 99, "5GHz"),
            c("al-2", "alun", L(15, 19, 20), 10), c("al-2", "alun", L(16, 8, 5), 20),
            c("pk-1", "pasar", L(3, 10), 7),
            c("tb-1", "taman", L(1, 0), 4), c("tb-1", "taman", L(1, 0, month=11), 50)]


def build_month(base: Path, store_yaml: str, telkom: str = "") -> MonthFixture:
    """Write the config, the state store and the metric store (rollups brought up to date,
    so month totals come from them)."""
    base.mkdir(parents=True, exist_ok=True)
    path = base / "config.yaml"
    path.write_text(config_text(base, store_yaml, telkom))
    cfg = parse_config(path.read_text(), str(path))
    write_state(cfg, base)
    store = open_store(cfg.store, base)
    try:
        store.write(traffic() + clients())
        store.flush()
        store.refresh_rollups()
    finally:
        store.close()
    return MonthFixture(cfg, base, path)
