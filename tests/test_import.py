"""`hotspot-monitor import FILE DATA` of a hand-written stretch of a month, run as
a real process against real SQLite stores: availability to the second per AP,
site, district and city, byte totals, idempotence, and bad lines.

Calendar: Asia/Jakarta (UTC+7). The data covers Friday 30 Oct 2026 00:00 to
Sunday 1 Nov 23:59 local, one poll a minute (minute k = 0 ... 4319):
Fri = k 0-1439, Sat = 1440-2879, Sun (1 Nov) = 2880-4319.

* park (district Laweyan): Mon-Sat 06:00-22:00, Sunday closed.
  - park-1: no data at all Fri 12:00-13:59 (k 720-839: a gap longer than
    max_gap_s = 900 s); failing Sat 10:00-10:29 (k 2040-2069); rx 1000 B per good poll.
  - park-2: two failed polls Fri 16:40, 16:41 (fewer than down_after = 3: no
    outage); failing Sun 10:00-10:59 (k 3480-3539), a closed day.
- market (Jebres), around the clock: market-1 failing Sat 31 Oct 23:30 to Sun
  1 Nov 00:44 (k 2850-2924): an outage across the month boundary; rx 2000 B per good poll.
- terminal (Jebres), around the clock: terminal-1 and terminal-2 are seen only
  through the controller wlc, which cannot be polled Sun 02:00-02:59 (k 3000-3059).
  terminal-1 is reported down Fri 20:00-20:09 (k 1200-1209); terminal-2 from
  Sun 23:50 (k 4310) to the end of the data.
"""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotspot_monitor.config import load_config
from hotspot_monitor.sample import Sample
from hotspot_monitor.status.availability import availability, availability_breakdown
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from hotspot_monitor.stores.factory import open_store

JKT = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 10, 30, tzinfo=JKT)  # Friday 00:00 local
END = T0 + timedelta(days=3)  # Monday 2 Nov 00:00 local
H = 3600

CONFIG = """\
timezone: Asia/Jakarta
store: {kind: sqlite, sqlite: {path: var/metrics.sqlite}}
state: {url: "sqlite:///var/state.sqlite", dir: var}
collector: {max_gap_s: 900, down_after: 3, snmp: {version: 2c, community: imp-Community-31}}
sites:
  - id: park
    name: Taman
    district: Laweyan
    lat: -7.56
    lon: 110.80
    service_hours: {mon: "06:00-22:00", tue: "06:00-22:00", wed: "06:00-22:00",
                    thu: "06:00-22:00", fri: "06:00-22:00", sat: "06:00-22:00", sun: closed}
  - {id: market, name: Pasar, district: Jebres, lat: -7.57, lon: 110.83}
  - {id: terminal, name: Terminal, district: Jebres, lat: -7.55, lon: 110.82}
controllers:
  - {id: wlc, host: 127.0.0.1, site: terminal}
aps:
  - {id: park-1, site: park, host: 10.0.0.1}
  - {id: park-2, site: park, host: 10.0.0.2}
  - {id: market-1, site: market, host: 10.0.0.3}
  - {id: terminal-1, site: terminal, controller: wlc}
  - {id: terminal-2, site: terminal, controller: wlc}
"""


def t(k: float) -> datetime:
    return T0 + timedelta(minutes=k)


def status(site: str, ap: str, k: int, up: bool, reason: str = "snmp_timeout") -> str:
    fields = {"up": 1, "response_ms": 2.5} if up else {"up": 0, "reason": reason}
    return Sample("ap_status", {"site": site, "ap": ap, "source": "snmp"}, fields, t(k)).to_json()


def traffic(site: str, ap: str, k: int, rx: int) -> str:
    return Sample("ap_traffic", {"site": site, "ap": ap, "iface": "eth0"},
                  {"rx_bytes": rx, "tx_bytes": rx // 2, "rx_bps": rx * 8 / 60,
                   "tx_bps": rx * 4 / 60, "interval_s": 60.0}, t(k)).to_json()


def month_lines() -> list[str]:
    out = []
    for k in range(3 * 1440):
        if not 720 <= k < 840:
            up = not 2040 <= k < 2070
            out.append(status("park", "park-1", k, up))
            if up:
                out.append(traffic("park", "park-1", k, 1000))
        out.append(status("park", "park-2", k, not (k in (1000, 1001) or 3480 <= k < 3540)))
        up = not 2850 <= k < 2925
        out.append(status("market", "market-1", k, up))
        if up:
            out.append(traffic("market", "market-1", k, 2000))
        if 3000 <= k < 3060:
            out.append(status("terminal", "wlc", k, False))
            continue
        out.append(status("terminal", "wlc", k, True))
        out.append(status("terminal", "terminal-1", k, not 1200 <= k < 1210,
                          "controller_reports_down"))
        out.append(status("terminal", "terminal-2", k, k < 4310, "controller_reports_down"))
    return out


def run_import(base: Path, data: str, stdin: str | None = None, *extra: str):
    return subprocess.run([sys.executable, "-m", "hotspot_monitor", "import",
                           str(base / "config.yaml"), data, "--base-dir", str(base), *extra],
                          input=stdin, capture_output=True, text=True, timeout=300)


def figures(a) -> tuple:
    return (a.service_s, a.monitored_s, a.downtime_s, a.unmonitored_s, a.maintenance_s)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text(CONFIG)
    return tmp_path


def live_state(base: Path):
    """A live service ran on 5 Dec (after the imported history): market-1 is down."""
    cfg = load_config(base / "config.yaml")
    store = StateStore.from_config(cfg, base)
    eng = StatusEngine(cfg, store)
    d0 = datetime(2026, 12, 5, 10, tzinfo=JKT)
    eng.start(d0)
    for m in range(3):
        for ap, site, up in (("park-1", "park", 1), ("market-1", "market", 0)):
            f = {"up": 1} if up else {"up": 0, "reason": "snmp_timeout"}
            eng.observe(Sample("ap_status", {"site": site, "ap": ap, "source": "snmp"}, f,
                               d0 + timedelta(minutes=m)))
    eng.stop(d0 + timedelta(minutes=3))
    rows = sorted(store.load_ap_states(), key=lambda r: r["ap"])
    store.close()
    return rows


def test_import_of_a_hand_written_month(base: Path) -> None:
    lines = month_lines()
    data = base / "history.jsonl"
    data.write_text("\n".join(lines) + "\n")
    live_before = live_state(base)

    r = run_import(base, str(data), None, "--progress")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "import: checking  100.0%" in r.stderr and "import: judging   100.0%" in r.stderr
    assert "outages: 5 new" in r.stdout
    first = check_everything(base, live_before)

    # the same file again, this time on stdin: nothing changes
    r = run_import(base, "-", data.read_text())
    assert r.returncode == 0, r.stderr[-3000:]
    assert "outages: 0 new, 0 extended, 5 already recorded" in r.stdout
    assert "sessions: 0 new" in r.stdout
    assert check_everything(base, live_before) == first


def check_everything(base: Path, live_before: list) -> tuple:
    cfg = load_config(base / "config.yaml")
    store = StateStore.from_config(cfg, base)
    try:
        # the live AP states are untouched by the import of older history
        assert sorted(store.load_ap_states(), key=lambda r: r["ap"]) == live_before
        b = availability_breakdown(store, cfg, start=T0, end=END)
        # park-1: service Fri 06-22 + Sat 06-22 = 32 h = 115200 s (Sunday closed).
        # Observed Fri 00:00-11:59 and from 14:00 on: the 121 min 11:59-14:00 are
        # unmonitored (7260 s); down Sat 10:00-10:30 = 1800 s.
        assert figures(b.aps["park-1"]) == (115_200, 107_940, 1_800, 7_260, 0)
        # park-2: observed throughout; its outage is on the closed Sunday; the
        # two failed polls on Friday are no outage
        assert figures(b.aps["park-2"]) == (115_200, 115_200, 0, 0, 0)
        # market-1: 72 h of service; observed 00:00 Fri to 23:59 Sun (the last
        # minute after the last poll is unmonitored); down 23:30-00:45 = 4500 s
        assert figures(b.aps["market-1"]) == (259_200, 259_140, 4_500, 60, 0)
        # terminal-1/2: observed k 0-2999 (2999 min) and k 3060-4319 (1259 min)
        # = 4258 min = 255480 s: the controller outage 01:59-03:00 (61 min) and
        # the last minute are unmonitored (3720 s). terminal-1 down 20:00-20:10;
        # terminal-2 down from 23:50 until the data ends at 23:59 (540 s).
        assert figures(b.aps["terminal-1"]) == (259_200, 255_480, 600, 3_720, 0)
        assert figures(b.aps["terminal-2"]) == (259_200, 255_480, 540, 3_720, 0)
        assert figures(b.sites["park"]) == (230_400, 223_140, 1_800, 7_260, 0)
        assert figures(b.sites["market"]) == (259_200, 259_140, 4_500, 60, 0)
        assert figures(b.sites["terminal"]) == (518_400, 510_960, 1_140, 7_440, 0)
        assert figures(b.districts["Laweyan"]) == figures(b.sites["park"])
        assert figures(b.districts["Jebres"]) == (777_600, 770_100, 5_640, 7_500, 0)
        assert figures(b.city) == (1_008_000, 993_240, 7_440, 14_760, 0)
        assert b.city.availability_pct == pytest.approx(100 * (993_240 - 7_440) / 993_240,
                                                        abs=1e-12)
        assert b.aps["park-1"].availability_pct == pytest.approx(100 * 106_140 / 107_940,
                                                                 abs=1e-12)
        # the month boundary (local midnight 1 Nov) splits the outage 30 + 45 min
        oct_, nov = L(10, 1), L(11, 1)
        a = availability(store, cfg, start=oct_, end=nov, ap="market-1")
        assert (a.monitored_s, a.downtime_s) == (48 * H, 1_800)
        a = availability(store, cfg, start=nov, end=L(12, 1), ap="market-1")
        assert (a.monitored_s, a.downtime_s) == (1_439 * 60, 2_700)
        # city, October: park-1 107940 + park-2 115200 + 3 x 48 h; down
        # 1800 (park-1) + 1800 (market-1) + 600 (terminal-1)
        a = availability(store, cfg, start=oct_, end=nov)
        assert (a.monitored_s, a.downtime_s) == (741_540, 4_200)
        # city, November: market-1 1439 min + terminals 2 x (119 + 1259) min;
        # service: park 2 APs x 25 open days x 16 h + 3 APs x 30 days x 24 h
        a = availability(store, cfg, start=nov, end=L(12, 1))
        assert (a.monitored_s, a.downtime_s) == (251_700, 3_240)
        assert a.service_s == 2 * 25 * 16 * H + 3 * 30 * 24 * H == 10_656_000
        assert a.unmonitored_s == 10_656_000 - 251_700
        outages = [(o.ap, o.start, o.end, o.duration_s, o.reason, o.truncated)
                   for o in store.outages(start=T0, end=END)]
        assert outages == [
            ("terminal-1", t(1200), t(1210), 600.0, "controller_reports_down", False),
            ("park-1", t(2040), t(2070), 1800.0, "snmp_timeout", False),
            ("market-1", t(2850), t(2925), 4500.0, "snmp_timeout", False),
            ("park-2", t(3480), t(3540), 3600.0, "snmp_timeout", False),
            ("terminal-2", t(4310), t(4319), 540.0, "controller_reports_down", True),
        ]
        assert [o.ap for o in store.outages(open_only=True)] == ["market-1"]  # the live one
        sessions = [(s.started, s.stopped) for s in store.sessions(end=END)]
        assert sessions == [(t(0), t(4319))]
        coverage = len(store.coverage(start=T0, end=END))
    finally:
        store.close()
    with open_store(cfg.store, base) as ms:
        rx = ms.totals("ap_traffic", "rx_bytes", start=T0, end=END, group_by=["ap"])
        # park-1: 4320 polls - 120 missing - 30 failed = 4170 x 1000 B;
        # market-1: 4320 - 75 failed = 4245 x 2000 B
        assert rx == {("park-1",): 4_170_000, ("market-1",): 8_490_000}
        split = [ms.totals("ap_traffic", "rx_bytes", start=a, end=b, tags={"ap": "market-1"},
                           group_by=["ap"]) for a, b in ((T0, L(11, 1)), (L(11, 1), END))]
        # October: 2880 polls - 30 failed; November: 1440 - 45 failed
        assert split == [{("market-1",): 5_700_000}, {("market-1",): 2_790_000}]
        events = ms.totals("ap_event", "state", start=T0, end=END, group_by=["ap"], agg="count")
        assert events == {("park-1",): 2, ("park-2",): 2, ("market-1",): 2, ("terminal-1",): 2,
                          ("terminal-2",): 1}
        n_status = ms.totals("ap_status", "up", start=T0, end=END, group_by=[], agg="count")
    return figures(b.city), outages, coverage, rx, n_status


def L(m: int, d: int) -> datetime:
    return datetime(2026, m, d, tzinfo=JKT)


def test_bad_lines_are_all_listed_and_nothing_is_imported(base: Path) -> None:
    p1 = status("park", "park-1", 0, True)
    bad = [
        p1,
        "{not json",
        traffic("park", "park-1", 0, 1000),
        status("park", "park-2", 0, True).replace('"up": 1', '"up": 2'),
        status("park", "park-2", 1, True).replace('Z"', '"'),  # a time without an offset
        '{"measurement": "ap_event", "tags": {"site": "park", "ap": "park-1"}, '
        '"fields": {"state": "down"}, "time": "2026-10-30T00:00:00Z"}',
        status("park", "park-1", 1, True).replace('"site": "park"', '"site": "market"'),
        "",
        traffic("park", "park-1", 1, 1000).replace('"rx_bytes": 1000', '"rx_bytes": -5'),
        status("park", "park-1", 2, True).replace('"response_ms": 2.5', '"response_ms": NaN'),
        status("park", "park-1", 3, True),
    ]
    assert len(set(bad)) == len(bad)  # every replacement above did replace something
    data = base / "bad.jsonl"
    data.write_text("\n".join(bad) + "\n")
    r = run_import(base, str(data))
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"{data}:2: not JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{data}:4: fields.up must be 0 or 1",
        f"{data}:5: time has no UTC offset (write ...Z or ...+07:00)",
        f"{data}:6: ap_event is derived from ap_status by the status engine: leave it out",
        f"{data}:7: tags.site 'market' is not the site of 'park-1' in the config ('park')",
        f"{data}:9: fields.rx_bytes must be a whole number >= 0",
        f"{data}:10: fields.response_ms must be a finite number",
        "import: 7 bad line(s); nothing imported",
    ]
    # nothing imported: no state DB, no metric store were even opened
    assert not (base / "var" / "state.sqlite").exists()
    assert not (base / "var" / "metrics.sqlite").exists()
    # the same through stdin names it so
    r = run_import(base, "-", "{not json\n")
    assert r.returncode == 2
    assert r.stderr.splitlines()[0].startswith("<stdin>:1: not JSON")


def test_a_longer_import_extends_an_outage_the_data_had_cut_short(base: Path) -> None:
    lines = month_lines()
    # the first import ends at Sat 23:59 local (k 2879) while market-1 is down
    # since 23:30; the second brings the whole three days
    first = [x for x in lines if Sample.from_json(x).time < t(2880)]
    (base / "a.jsonl").write_text("\n".join(first) + "\n")
    (base / "b.jsonl").write_text("\n".join(lines) + "\n")
    assert run_import(base, str(base / "a.jsonl")).returncode == 0
    cfg = load_config(base / "config.yaml")
    store = StateStore.from_config(cfg, base)
    [o] = store.outages(aps=["market-1"])
    assert (o.start, o.end, o.duration_s, o.truncated) == (t(2850), t(2879), 1740.0, True)
    store.close()
    r = run_import(base, str(base / "b.jsonl"))
    assert r.returncode == 0, r.stderr
    # terminal-1 (Fri) and park-1 (Sat) were in the first import; park-2 and
    # terminal-2 (Sun) are new; market-1's outage now ends where the data says
    assert "outages: 2 new, 1 extended, 2 already recorded" in r.stdout
    store = StateStore.from_config(cfg, base)
    [o] = store.outages(aps=["market-1"])
    assert (o.start, o.end, o.duration_s, o.truncated) == (t(2850), t(2925), 4500.0, False)
    a = availability(store, cfg, start=T0, end=END, ap="market-1")
    assert (a.monitored_s, a.downtime_s) == (259_140, 4_500)
    store.close()
