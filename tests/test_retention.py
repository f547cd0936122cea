"""Retention: raw points pruned (SQLite) or expired by a retention policy (real influxd),
month totals still exact from the rollups (docs/retention.md)."""
from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hotspot_monitor.cli import main as cli_main
from hotspot_monitor.config.loader import parse_config
from hotspot_monitor.retention import prune_once
from hotspot_monitor.sample import Sample
from hotspot_monitor.stores.base import StoreRejected
from hotspot_monitor.stores.influxdb import InfluxStore
from hotspot_monitor.stores.sqlite import SqliteStore
from services.influxd import start_influxd

JKT = ZoneInfo("Asia/Jakarta")
MONTH_START = datetime(2026, 9, 1, tzinfo=JKT)  # 2026-08-31 17:00 UTC
MONTH_END = datetime(2026, 10, 1, tzinfo=JKT)
SERIES = [("balekambang", "balekambang-1", "wan"), ("balekambang", "balekambang-2", "wan"),
          ("pasar-gede", "pasar-gede-1", "eth0")]
STEP = timedelta(minutes=20)
INTERVALS = (1200.0, 1199.5, 1200.25)  # exact binary fractions: float sums are order-free


def month_data() -> list[Sample]:
    """20-minute ap_traffic points (7 s past the grid) from 6 h before the month to 6 h after."""
    out = []
    t = MONTH_START - timedelta(hours=6) + timedelta(seconds=7)
    k = 0
    while t < MONTH_END + timedelta(hours=6):
        for j, (site, ap, iface) in enumerate(SERIES):
            out.append(Sample("ap_traffic", {"site": site, "ap": ap, "iface": iface},
                              {"rx_bytes": 1_000_003 * (k % 97) + 17 * j + 5,
                               "tx_bytes": 70_001 * (k % 13) + j,
                               "interval_s": INTERVALS[(k + j) % 3]},
                              t.astimezone(timezone.utc)))
        t += STEP
        k += 1
    return out


def expected(data: list[Sample], field: str) -> dict[tuple, object]:
    """The month's sums per (site, ap, iface), by hand over the written points."""
    lo, hi = MONTH_START, MONTH_END
    out: dict[tuple, object] = {}
    for s in data:
        if lo <= s.time < hi:
            key = (s.tags["site"], s.tags["ap"], s.tags["iface"])
            out[key] = out.get(key, 0) + s.fields[field]
    return out


def expected_days(data: list[Sample]) -> dict[datetime, int]:
    out: dict[datetime, int] = {}
    for s in data:
        if MONTH_START <= s.time < MONTH_END:
            day = s.time.astimezone(JKT).replace(hour=0, minute=0, second=0, microsecond=0)
            out[day] = out.get(day, 0) + s.fields["rx_bytes"]
    return out


def first_after(data: list[Sample], edge: datetime) -> dict[tuple, datetime]:
    out: dict[tuple, datetime] = {}
    for s in sorted(data, key=lambda s: s.time):
        key = (s.tags["site"], s.tags["ap"], s.tags["iface"])
        if s.time >= edge and key not in out:
            out[key] = s.time
    return out


def check_month(store, data: list[Sample]) -> None:
    group = ["site", "ap", "iface"]
    for f in ("rx_bytes", "tx_bytes", "interval_s"):
        got = store.totals("ap_traffic", f, start=MONTH_START, end=MONTH_END, group_by=group)
        assert got == expected(data, f), f
    assert isinstance(next(iter(store.totals("ap_traffic", "rx_bytes", start=MONTH_START,
                                              end=MONTH_END, group_by=["ap"]).values())), int)
    days = store.aggregate("ap_traffic", "rx_bytes", start=MONTH_START, end=MONTH_END,
                           every=timedelta(days=1), agg="sum", tz="Asia/Jakarta")
    assert len(days) == 1
    assert {b.start: b.value for b in days[0].buckets} == expected_days(data)
    assert len(days[0].buckets) == 30


def config(extra: str = "") -> object:
    return parse_config("timezone: Asia/Jakarta\nstore:\n  retention: {raw_days: 35, rollup_days: 400}\n"
                        + extra, "test.yaml", {})


def test_sqlite_prune_keeps_month_totals_exact(tmp_path, monkeypatch):
    from hotspot_monitor.stores import sqlite_retention
    monkeypatch.setattr(sqlite_retention, "SERIES_BATCH", 2)  # several delete batches per day
    path = tmp_path / "metrics.sqlite"
    data = month_data()
    store = SqliteStore(path)
    store.write(data)
    store.flush()
    store.refresh_rollups()
    check_month(store, data)
    before_edges = {e: first_after(data, e) for e in (MONTH_START, MONTH_END)}

    # 40 days after the month: every raw point is older than raw_days (35)
    now = MONTH_END + timedelta(days=40)
    result = prune_once(store, config(), now=now)
    # all rows but the first point after each month edge, per series, are gone
    assert result.raw_rows == len(data) - 2 * len(SERIES)
    assert result.rollup_rows == 0
    store.close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM points").fetchone()[0] == 2 * len(SERIES)
    con.close()

    fresh = SqliteStore(path)
    check_month(fresh, data)
    for edge, want in before_edges.items():  # what the report's edge apportioning reads
        got = {(s.tags["site"], s.tags["ap"], s.tags["iface"]): s.time
               for s in fresh.points("ap_traffic", start=edge, first=1)}
        assert got == want

    # a late point below the pruned range is refused, never rolled up alone
    late = Sample("ap_traffic", {"site": "balekambang", "ap": "balekambang-1", "iface": "wan"},
                  {"rx_bytes": 5, "tx_bytes": 5, "interval_s": 60.0}, MONTH_START + timedelta(days=3))
    fresh.write([late])
    with pytest.raises(StoreRejected, match=r"1 sample\(s\) not written: older than the raw "
                       r"retention \(ap_traffic is pruned before 2026-09-30T22:45:00\+00:00"):
        fresh.flush()
    check_month(fresh, data)

    # a second pass has nothing left to do; rollups go once older than rollup_days (400)
    assert prune_once(fresh, config(), now=now).raw_rows == 0
    gone = prune_once(fresh, config(), now=MONTH_END + timedelta(days=402))
    assert gone.rollup_rows > 0
    # rollups go in whole UTC days up to the raw cutoff (the frontier, 2026-09-30 22:45 UTC, here)
    assert fresh.totals("ap_traffic", "rx_bytes", start=MONTH_START,
                        end=datetime(2026, 9, 30, tzinfo=timezone.utc), group_by=["ap"]) == {}
    assert fresh.totals("ap_traffic", "rx_bytes", start=datetime(2026, 9, 30, tzinfo=timezone.utc),
                        end=MONTH_END, group_by=[]) == {(): sum(
                            s.fields["rx_bytes"] for s in data
                            if datetime(2026, 9, 30, tzinfo=timezone.utc) <= s.time < MONTH_END)}
    fresh.close()


def test_sqlite_prune_never_passes_the_rollup_frontier(tmp_path):
    """Raw rows newer than the rollup frontier are what the rollups do not hold yet."""
    store = SqliteStore(tmp_path / "m.sqlite")
    now = datetime.now(timezone.utc)
    data = [Sample("ap_clients", {"site": "s", "ap": "a", "radio": "all"}, {"clients": i},
                   now - timedelta(minutes=30 - i)) for i in range(30)]
    store.write(data)
    store.flush()  # frontier: up to 2 minutes before the newest point, 5-minute units
    con = sqlite3.connect(tmp_path / "m.sqlite")
    frontier = con.execute("SELECT until_us FROM frontier WHERE measurement = 'ap_clients'").fetchone()[0]
    store.prune(raw_before=now + timedelta(days=1), rollups_before=None)
    left = con.execute("SELECT min(time_us), count(*) FROM points").fetchone()
    con.close()
    assert left[0] >= frontier
    assert left[1] == sum(1 for s in data if s.time.timestamp() * 1e6 >= frontier)
    assert store.totals("ap_clients", "clients", start=now - timedelta(hours=1),
                        end=now + timedelta(hours=1), group_by=[]) == {(): sum(range(30))}
    store.close()


@pytest.fixture(scope="module")
def influxd_retention():
    """An influxd that enforces retention every second (the shared one never does)."""
    try:
        server = start_influxd(retention_check="1s")
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield server
    server.stop()


def _rps(server, db: str) -> dict[str, str]:
    doc = server.query(f'SHOW RETENTION POLICIES ON "{db}"')
    return {row[0]: row[1] for row in doc["results"][0]["series"][0]["values"]}


def _count(server, db: str, rp: str, m: str) -> int:
    doc = server.query(f'SELECT count("rx_bytes") FROM "{db}"."{rp}"."{m}"', db=db)
    series = doc["results"][0].get("series")
    return series[0]["values"][0][1] if series else 0


def _count_rolled(server, db: str, rp: str, m: str) -> int:
    doc = server.query(f'SELECT count("rx_bytes:n") FROM "{db}"."{rp}"."{m}"', db=db)
    series = doc["results"][0].get("series")
    return series[0]["values"][0][1] if series else 0


def test_influx_retention_policies_keep_month_totals_exact(influxd_retention, tmp_path, capsys):
    server = influxd_retention
    db = "t_retention"
    cfg_file = tmp_path / "influx.yaml"

    def write_config(raw_days: int) -> None:
        cfg_file.write_text(
            "timezone: Asia/Jakarta\nstore:\n  kind: influxdb\n"
            f"  retention: {{raw_days: {raw_days}, rollup_days: 3650}}\n"
            f"  influxdb: {{url: '{server.url}', database: {db}, retention_policy: raw,\n"
            "             rollup_retention_policy: rollups}\n")

    write_config(400)  # long enough to accept last September's points
    assert cli_main(["setup-influx", str(cfg_file)]) == 0
    out = capsys.readouterr().out
    assert "'raw' created: duration 9600h" in out and "'rollups' created: duration 87600h" in out
    assert _rps(server, db)["raw"] == "9600h0m0s"
    assert _rps(server, db)["rollups"] == "87600h0m0s"

    from hotspot_monitor.config.loader import load_config
    settings = load_config(cfg_file).store.influxdb
    data = month_data()
    store = InfluxStore(settings)
    store.write(data)
    store.flush()
    store.refresh_rollups()
    check_month(store, data)
    # the retention job while the month is young: the first point after each month edge
    # is copied to the rollup RP (a pass just after each edge)
    cfg = load_config(cfg_file)
    for when in (MONTH_START + timedelta(days=2), MONTH_END + timedelta(days=2)):
        assert prune_once(store, cfg, now=when).raw_rows == 0
    edges_before = {e: store.points("ap_traffic", start=e, first=1) for e in (MONTH_START, MONTH_END)}
    assert {e: {(s.tags["site"], s.tags["ap"], s.tags["iface"]): s.time for s in pts}
            for e, pts in edges_before.items()} == {e: first_after(data, e)
                                                     for e in (MONTH_START, MONTH_END)}
    store.close()
    # raw points in the raw RP, rollups in the long one, nothing in the default RP
    assert _count(server, db, "raw", "ap_traffic") == len(data)
    assert _count_rolled(server, db, "rollups", "ap_traffic:1h") > 0
    assert _count(server, db, "autogen", "ap_traffic") == 0

    write_config(35)  # setup-influx again: the raw RP is altered, not duplicated
    assert cli_main(["setup-influx", str(cfg_file)]) == 0
    assert "'raw' altered: duration 840h" in capsys.readouterr().out
    assert _rps(server, db)["raw"] == "840h0m0s"

    # time passes: as if 35 days were 1 hour, influxd's retention service drops the raw shards
    server.query(f'ALTER RETENTION POLICY "raw" ON "{db}" DURATION 1h SHARD DURATION 1h')
    deadline = time.monotonic() + 30
    while _count(server, db, "raw", "ap_traffic") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _count(server, db, "raw", "ap_traffic") == 0

    fresh = InfluxStore(settings)
    check_month(fresh, data)
    # what the report reads at the month edges is still there, fields and types included
    for e, pts in edges_before.items():
        assert fresh.points("ap_traffic", start=e, first=1) == pts
    assert fresh.points("ap_traffic", start=MONTH_START, end=MONTH_END) == [
        p for p in edges_before[MONTH_START] if p.time < MONTH_END]
    fresh.close()


def test_run_prunes_the_sqlite_store_as_a_job(tmp_path):
    """A real `run` prunes at start (then every prune_interval_s): last September's raw
    points go, the kept month-edge points and the month's totals stay."""
    import signal
    import subprocess
    import sys

    from services.ports import wait_for

    path = tmp_path / "var" / "metrics.sqlite"
    path.parent.mkdir()
    data = month_data()
    store = SqliteStore(path)
    store.write(data)
    store.refresh_rollups()
    store.close()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("timezone: Asia/Jakarta\nstore: {retention: {raw_days: 35}, "
                   "sqlite: {path: var/metrics.sqlite}}\n")

    def raw_rows() -> int:
        con = sqlite3.connect(path)
        try:
            return con.execute("SELECT count(*) FROM points WHERE series_id IN "
                               "(SELECT id FROM series WHERE measurement = 'ap_traffic')").fetchone()[0]
        finally:
            con.close()

    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hotspot_monitor", "run", str(cfg)],
                                cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        runtime = tmp_path / "var" / "runtime.json"

        def pruned() -> bool:  # the pass is logged, then shown in runtime.json (for `status`)
            return "raw_rows" in json.loads(runtime.read_text()).get("retention", {})

        wait_for(pruned, 60, "run's prune", proc=proc, log=str(log))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    assert "retention: pruned %d raw rows" % (len(data) - 2 * len(SERIES)) in log.read_text()
    assert raw_rows() == 2 * len(SERIES)
    shown = json.loads(runtime.read_text())["retention"]
    assert (shown["raw_rows"], shown["error"]) == (len(data) - 2 * len(SERIES), None)
    assert shown["raw_until"]["ap_traffic"] == "2026-09-30T22:45:00+00:00"
    fresh = SqliteStore(path)
    check_month(fresh, data)
    fresh.close()


def test_prune_and_setup_influx_commands(tmp_path, capsys):
    path = tmp_path / "m.sqlite"
    data = month_data()
    store = SqliteStore(path)
    store.write(data)
    store.refresh_rollups()
    store.close()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("timezone: Asia/Jakarta\nstore: {sqlite: {path: m.sqlite}}\n")
    assert cli_main(["prune", str(cfg), "--base-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"pruned {len(data) - 2 * len(SERIES)} raw rows and 0 rollup rows" in out
    assert "ap_traffic before 2026-09-30T22:45:00+00:00" in out  # the frontier: last point 22:40:07
    assert cli_main(["prune", str(cfg), "--base-dir", str(tmp_path)]) == 0
    assert "pruned 0 raw rows" in capsys.readouterr().out

    cfg.write_text("store: {kind: influxdb, influxdb: {url: 'http://127.0.0.1:9'}}\n")
    assert cli_main(["setup-influx", str(cfg)]) == 2
    assert "set retention_policy and rollup_retention_policy" in capsys.readouterr().err


def test_run_creates_the_retention_policies_when_it_manages_them(influxd_retention, tmp_path):
    from hotspot_monitor.runner import Service

    db = "t_managed"
    cfg = parse_config(
        "store:\n  kind: influxdb\n  retention: {raw_days: 40, rollup_days: 800}\n"
        f"  influxdb: {{url: '{influxd_retention.url}', database: {db}, retention_policy: raw,\n"
        "             rollup_retention_policy: long, manage_retention: true}\n"
        f"state: {{dir: '{tmp_path}/var', url: 'sqlite:///{tmp_path}/state.sqlite'}}\n", "c.yaml", {})
    service = Service(cfg, base_dir=tmp_path)
    service.open()  # before the first write: the RPs exist, ping() reads the raw RP
    service.close()
    assert {k: v for k, v in _rps(influxd_retention, db).items() if k != "autogen"} == {
        "raw": "960h0m0s", "long": "19200h0m0s"}


def test_setup_influx_rolls_up_what_the_raw_rp_already_holds(influxd_retention, tmp_path, capsys):
    """Raw points written before rollups were kept (a raw-only writer, an older release):
    setup-influx rolls them up before the raw RP can expire them."""
    server, db = influxd_retention, "t_backlog"
    cfg_file = tmp_path / "influx.yaml"
    cfg_file.write_text(
        "store:\n  kind: influxdb\n  retention: {raw_days: 400}\n"
        f"  influxdb: {{url: '{server.url}', database: {db}, retention_policy: raw,\n"
        "             rollup_retention_policy: rollups}\n")
    assert cli_main(["setup-influx", str(cfg_file)]) == 0
    from hotspot_monitor.config.loader import load_config
    settings = load_config(cfg_file).store.influxdb
    data = month_data()
    raw_only = InfluxStore(settings, rollups=False)
    raw_only.write(data)
    raw_only.close()
    assert _count_rolled(server, db, "rollups", "ap_traffic:1h") == 0

    assert cli_main(["setup-influx", str(cfg_file)]) == 0
    assert "rollups up to date in 'rollups'" in capsys.readouterr().out
    assert _count_rolled(server, db, "rollups", "ap_traffic:1h") > 0

    server.query(f'ALTER RETENTION POLICY "raw" ON "{db}" DURATION 1h SHARD DURATION 1h')
    deadline = time.monotonic() + 30
    while _count(server, db, "raw", "ap_traffic") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _count(server, db, "raw", "ap_traffic") == 0
    fresh = InfluxStore(settings)
    check_month(fresh, data)
    fresh.close()
