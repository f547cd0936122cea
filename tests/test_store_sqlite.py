"""SQLite-only behaviour: persistence, two instances on one file, threads, conflicts."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from hotspot_monitor.sample import Sample
from hotspot_monitor.stores import StoreError
from hotspot_monitor.stores.sqlite import SqliteStore

UTC = timezone.utc
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_wal_and_types_survive_reopen(tmp_path) -> None:
    path = tmp_path / "m.sqlite"
    with SqliteStore(path) as s:
        s.write([Sample("m", {"ap": "a"}, {"ok": True, "f": 2.0, "n": 3, "s": "x"}, T0)])
    s2 = SqliteStore(path)
    assert s2._con().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    [got] = s2.latest("m")
    assert got.fields == {"ok": True, "f": 2.0, "n": 3, "s": "x"}
    assert [type(v) for v in got.fields.values()] == [bool, float, int, str]
    assert s2.totals("m", "f", start=T0, end=T0 + timedelta(1), group_by=[]) == {(): 2.0}
    s2.close()


def test_a_second_instance_sees_new_series_and_rows(tmp_path) -> None:
    a, b = SqliteStore(tmp_path / "m.sqlite"), SqliteStore(tmp_path / "m.sqlite")
    assert b.latest("m") == []
    a.write([Sample("m", {"ap": "new"}, {"v": 1}, T0)])
    a.flush()
    assert [(s.tags, s.fields) for s in b.latest("m")] == [({"ap": "new"}, {"v": 1})]
    a.write([Sample("m", {"ap": "new"}, {"v": 2}, T0 + timedelta(seconds=1))])
    a.flush()
    assert [s.fields for s in b.latest("m")] == [{"v": 2}]
    a.close()
    b.close()


def test_field_type_conflict_is_reported_and_the_rest_written(tmp_path) -> None:
    s = SqliteStore(tmp_path / "m.sqlite")
    s.write([Sample("m", {"ap": "a"}, {"v": 1}, T0)])
    s.write([Sample("m", {"ap": "b"}, {"v": 1.5}, T0), Sample("m", {"ap": "c"}, {"v": 7}, T0)])
    with pytest.raises(StoreError, match=r"field type conflict: m\.v is integer, got float"):
        s.flush()
    assert sorted(x.tags["ap"] for x in s.latest("m")) == ["a", "c"]
    s.flush()  # reported once
    s.close()


def test_writer_and_reader_threads(tmp_path) -> None:
    s = SqliteStore(tmp_path / "m.sqlite")
    rounds, aps = 40, 50
    errors: list[BaseException] = []
    done = threading.Event()
    reads = [0]

    def writer() -> None:
        try:
            for r in range(rounds):
                s.write([Sample("ap_clients", {"site": "S", "ap": f"ap{i}", "radio": "all"},
                                {"clients": r}, T0 + timedelta(minutes=r)) for i in range(aps)])
                s.flush()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set() and reads[0] < 10_000:
                latest = s.latest("ap_clients")
                assert len({x.fields["clients"] for x in latest}) <= 2  # mid-round at most
                s.totals("ap_clients", "clients", start=T0, end=T0 + timedelta(hours=2),
                         group_by=["ap"])
                reads[0] += 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert reads[0] > 0
    total = sum(range(rounds))  # 0 + 1 + ... + 39 per AP
    got = s.totals("ap_clients", "clients", start=T0, end=T0 + timedelta(hours=2),
                   group_by=["ap"])
    assert got == {(f"ap{i}",): total for i in range(aps)}
    s.close()


def test_a_failing_rollup_never_blocks_writes(tmp_path) -> None:
    """Two int64-sized values in one 5-minute unit overflow SQLite's sum(): the
    rows are still written, the frontier stays, reads of what can be read are exact."""
    s = SqliteStore(tmp_path / "m.sqlite")
    big = 2**62
    rows = [Sample("m", {"ap": "a"}, {"v": big, "w": 1}, T0 + timedelta(minutes=k))
            for k in range(3)]
    rows += [Sample("m", {"ap": "a"}, {"v": 1, "w": 2}, T0 + timedelta(minutes=30 + k))
             for k in range(3)]
    s.write(rows)
    s.flush()  # no exception: the rows are stored
    assert s.rollup_error is not None and "overflow" in s.rollup_error
    assert [x.fields for x in s.latest("m")] == [{"v": 1, "w": 2}]
    kw = dict(start=T0, end=T0 + timedelta(hours=1), group_by=[])
    assert s.totals("m", "v", agg="count", **kw) == {(): 6}
    assert s.totals("m", "w", agg="sum", **kw) == {(): 9}
    assert s.totals("m", "v", agg="max", **kw) == {(): big}
    s.close()


def test_a_failed_write_never_disturbs_readers_on_other_threads(tmp_path) -> None:
    """A write that fails ("database is locked") resets the series cache; a
    report reading at that moment must still get complete totals, never an
    empty answer or a KeyError."""
    import sqlite3

    from hotspot_monitor.stores import StoreUnavailable

    path = tmp_path / "m.sqlite"
    store = SqliteStore(path, busy_timeout_s=0.01)
    store.write([Sample("ap_traffic", {"ap": f"ap{i}", "iface": "eth0"}, {"rx_bytes": i}, T0)
                 for i in range(8000)])
    store.refresh_rollups()  # readers have nothing to roll up (that would need the lock)
    expected = sum(range(8000))
    wrong: list[object] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                got = store.totals("ap_traffic", "rx_bytes", start=T0, end=T0 + timedelta(1),
                                   group_by=[])
            except Exception as e:  # noqa: BLE001 - any error is the failure under test
                wrong.append(e)
                return
            if got != {(): expected}:
                wrong.append(got)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    for r in readers:
        r.start()
    other = sqlite3.connect(path, isolation_level=None)
    failed = 0
    try:
        for n in range(20):
            other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
            try:
                store.write([Sample("ap_traffic", {"ap": f"new{n}", "iface": "eth0"},
                                    {"rx_bytes": 1}, T0 + timedelta(days=2))])
            except StoreUnavailable:
                failed += 1
            finally:
                other.execute("ROLLBACK")
    finally:
        stop.set()
        for r in readers:
            r.join(30)
        other.close()
    assert failed == 20  # every write met the lock and was undone
    assert wrong == []
    store.close()
