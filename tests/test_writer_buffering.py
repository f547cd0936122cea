"""A store that goes away means buffering, not dropping: real influxd behind a
loopback proxy that the test takes down and brings back."""
import time
from datetime import datetime, timedelta, timezone

import pytest

from hotspot_monitor.config.models import InfluxSettings
from hotspot_monitor.sample import Sample
from hotspot_monitor.stores.influxdb import InfluxStore
from hotspot_monitor.writer import SampleWriter
from services.tcpproxy import TcpProxy

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)


def traffic(i: int) -> Sample:
    return Sample("ap_traffic", {"site": "balekambang", "ap": f"ap-{i % 7}", "iface": "wlan0"},
                  {"rx_bytes": 1000 + i, "tx_bytes": 2 * i}, T0 + timedelta(seconds=i))


def wait_until(cond, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stored_sum(influxd, db) -> tuple[int, int]:
    r = influxd.query('SELECT COUNT("rx_bytes"), SUM("rx_bytes") FROM "ap_traffic"', db=db)
    series = r["results"][0].get("series")
    if not series:
        return 0, 0
    _, count, total = series[0]["values"][0]
    return count, total


@pytest.fixture
def proxy(influxd):
    port = int(influxd.url.rsplit(":", 1)[1])
    p = TcpProxy(port).up()
    yield p
    p.down()


def store_via(proxy, db) -> InfluxStore:
    return InfluxStore(InfluxSettings(url=proxy.url, database=db, timeout_s=2, create_database=False))


def test_store_outage_buffers_spools_and_replays_exactly(influxd, influx_db, proxy, tmp_path):
    spool = tmp_path / "spool"
    w = SampleWriter(store_via(proxy, influx_db), spool_dir=spool, flush_interval_s=0.1,
                     max_backoff_s=0.5)
    w.start()
    w.submit(traffic(i) for i in range(100))
    wait_until(lambda: w.written == 100, what="first 100 written")
    assert stored_sum(influxd, influx_db) == (100, sum(1000 + i for i in range(100)))

    proxy.down()
    w.submit(traffic(i) for i in range(100, 300))
    wait_until(lambda: not w.store_ok, what="writer to notice the outage")
    assert stored_sum(influxd, influx_db)[0] == 100
    w.stop(timeout_s=1)  # the service stops while the store is still down
    assert sum(1 for f in spool.glob("spool-*.jsonl") for _ in open(f)) == 200

    proxy.up()  # store back; the service restarts and replays the spool first
    w2 = SampleWriter(store_via(proxy, influx_db), spool_dir=spool, flush_interval_s=0.1)
    assert w2.pending == 200
    w2.start()
    w2.submit([traffic(300)])
    wait_until(lambda: w2.written == 201, what="spool replay")
    w2.stop()
    assert not list(spool.glob("spool-*"))
    assert stored_sum(influxd, influx_db) == (301, sum(1000 + i for i in range(301)))


def test_buffer_overflow_spills_to_disk_and_nothing_is_lost(influxd, influx_db, proxy, tmp_path):
    spool = tmp_path / "spool"
    proxy.down()
    w = SampleWriter(store_via(proxy, influx_db), spool_dir=spool, flush_interval_s=0.05,
                     max_buffer=50, batch_size=20, max_backoff_s=0.2)
    w.start()
    for k in range(5):
        w.submit(traffic(i) for i in range(k * 40, k * 40 + 40))
        time.sleep(0.1)
    wait_until(lambda: list(spool.glob("spool-*.jsonl")), what="spill to disk")
    assert w.pending == 200
    proxy.up()
    wait_until(lambda: w.pending == 0 and w.store_ok, timeout=60, what="recovery")
    w.stop()
    assert stored_sum(influxd, influx_db) == (200, sum(1000 + i for i in range(200)))


def test_durable_event_is_set_after_store_write_or_spool_fsync(influxd, influx_db, proxy, tmp_path):
    import threading
    spool = tmp_path / "spool"
    w = SampleWriter(store_via(proxy, influx_db), spool_dir=spool, flush_interval_s=5.0,
                     max_backoff_s=0.5)
    w.start()
    done = threading.Event()
    w.submit([traffic(i) for i in range(10)], done)
    assert done.wait(10), "set after the store accepted the samples"
    assert stored_sum(influxd, influx_db)[0] == 10  # durable in the store when set
    proxy.down()
    done2 = threading.Event()
    w.submit([traffic(i) for i in range(10, 15)], done2)
    assert done2.wait(20), "set once the samples are fsync'ed to the spool"
    assert sum(1 for f in spool.glob("spool-*.jsonl") for _ in open(f)) == 5
    assert stored_sum(influxd, influx_db)[0] == 10
    proxy.up()
    wait_until(lambda: w.pending == 0 and w.store_ok, timeout=30, what="spool replay")
    w.stop()
    assert stored_sum(influxd, influx_db) == (15, sum(1000 + i for i in range(15)))


def test_samples_refused_for_good_are_set_aside_and_never_block_the_rest(tmp_path):
    from hotspot_monitor.stores.sqlite import SqliteStore
    store = SqliteStore(tmp_path / "m.sqlite")
    w = SampleWriter(store, spool_dir=tmp_path / "spool", flush_interval_s=0.05)
    w.start()
    ok = Sample("ap_status", {"site": "s", "ap": "a"}, {"up": 1, "response_ms": 2.5}, T0)
    w.submit([ok])
    wait_until(lambda: w.written == 1, what="first sample")
    # response_ms as an int: a field type conflict, refused by the store for good
    bad = Sample("ap_status", {"site": "s", "ap": "a"}, {"up": 1, "response_ms": 3}, T0 + timedelta(seconds=60))
    w.submit([bad])
    wait_until(lambda: w.rejected == 1, what="the conflict to be set aside")
    later = [traffic(i) for i in range(5)]
    w.submit(later)
    wait_until(lambda: w.written >= 6 and not w._pending, what="later samples written")
    w.stop()
    (rejected,) = (tmp_path / "spool").glob("rejected-*.jsonl")
    assert [Sample.from_json(x) for x in rejected.read_text().splitlines()] == [bad]
    assert not list((tmp_path / "spool").glob("spool-*"))
    got = {s.tags["ap"]: s for s in store.latest("ap_traffic")}
    assert len(got) == 5
