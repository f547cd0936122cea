"""The writer when its surroundings fail: a spool over its cap, a disk that
refuses writes, a slow InfluxDB. Real influxd, real files, real OS errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

from hotspot_monitor.config.models import InfluxSettings
from hotspot_monitor.stores.influxdb import InfluxStore
from hotspot_monitor.writer import SampleWriter
from services.ports import free_port
from services.tcpproxy import SlowProxy, TcpProxy
from test_writer_buffering import stored_sum, traffic, wait_until


def stored_values(influxd, db) -> list[int]:
    r = influxd.query('SELECT "rx_bytes" FROM "ap_traffic"', db=db)
    series = r["results"][0].get("series") or []
    return sorted(v[1] for s in series for v in s["values"])


def test_spool_over_its_cap_drops_the_oldest_counts_and_flags(influxd, influx_db, tmp_path, caplog):
    port = int(influxd.url.rsplit(":", 1)[1])
    proxy = TcpProxy(port)  # down: the store refuses connections
    store = InfluxStore(InfluxSettings(url=proxy.url, database=influx_db, timeout_s=2,
                                       create_database=False))
    one = len(traffic(500).to_json()) + 1
    cap = 40 * one * 5  # room for about 200 of the 1,000 samples
    w = SampleWriter(store, spool_dir=tmp_path / "spool", flush_interval_s=0.05, max_buffer=30,
                     batch_size=20, max_backoff_s=0.1, max_spool_bytes=cap)
    w.start()
    for k in range(25):  # 1,000 samples in 25 submits of 40, each spilled by the writer
        w.submit(traffic(i) for i in range(k * 40, k * 40 + 40))
        wait_until(lambda: w.buffered == 0, what="a spill")
        assert w.spool_bytes <= cap
    wait_until(lambda: w.buffered == 0, what="all spilled")
    st = w.stats()
    assert st["dropped"] > 0 and st["spool_full"] and st["spool_bytes"] <= cap
    assert st["dropped"] + st["spooled"] == 1000
    assert {"store_down", "spool_full", "samples_dropped"} <= set(w.health_flags)
    assert any("spool: dropped the" in r.getMessage() for r in caplog.records)
    proxy.up()
    try:
        wait_until(lambda: w.pending == 0 and w.store_ok, timeout=60, what="recovery")
        w.stop()
        # what was lost is exactly the oldest: the stored ones are the newest, none twice
        dropped = w.dropped
        assert stored_values(influxd, influx_db) == [1000 + i for i in range(dropped, 1000)]
        assert not w.spool_full and w.health_flags == ["samples_dropped"]
    finally:
        proxy.down()


def test_a_disk_that_refuses_the_spool_is_a_counted_loss_never_a_crash(tmp_path):
    """In a child process whose files may not grow past 64 KiB (RLIMIT_FSIZE: the
    kernel refuses the write with EFBIG, as a full disk does with ENOSPC)."""
    closed = free_port()  # nobody listens: the store is down
    script = textwrap.dedent(f"""
        import json, resource, signal, sys, time, logging
        sys.path.insert(0, {str(os.path.join(os.path.dirname(__file__)))!r})
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        from hotspot_monitor.config.models import InfluxSettings
        from hotspot_monitor.stores.influxdb import InfluxStore
        from hotspot_monitor.writer import SampleWriter
        from test_writer_buffering import traffic
        store = InfluxStore(InfluxSettings(url="http://127.0.0.1:{closed}", database="x",
                                           timeout_s=1, create_database=False))
        w = SampleWriter(store, spool_dir={str(tmp_path / 'spool')!r}, flush_interval_s=0.05,
                         max_buffer=1000, batch_size=500, max_backoff_s=0.1)
        w.start()
        for k in range(10):  # 10,000 samples: ~1.5 MB of spool, each spill > 64 KiB
            w.submit([traffic(i) for i in range(k * 1000, k * 1000 + 1000)])
            time.sleep(0.3)
        time.sleep(1.0)
        w.stop(timeout_s=1)
        print(json.dumps(w.stats()))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert r.returncode == 0, r.stderr[-3000:]
    st = json.loads(r.stdout.strip().splitlines()[-1])
    assert st["spool_error"] == "EFBIG"
    assert st["dropped"] > 0 and "spool_full" in st["health"]
    assert st["buffered"] == 0  # memory was bounded and emptied at shutdown
    assert st["peak_buffer"] <= 2 * 1000 + 1000
    assert st["dropped"] + st["spooled"] == 10_000  # every sample either kept or counted
    assert "spool write failed" in r.stderr and "Traceback" not in r.stderr


def test_slow_influxdb_means_back_pressure_bounded_memory_and_no_blocking(influxd, influx_db, tmp_path):
    port = int(influxd.url.rsplit(":", 1)[1])
    proxy = SlowProxy(port, delay_s=0.3).up()
    try:
        store = InfluxStore(InfluxSettings(url=proxy.url, database=influx_db, timeout_s=10,
                                           create_database=False, batch_size=5000))
        w = SampleWriter(store, spool_dir=tmp_path / "spool", flush_interval_s=0.1, max_buffer=1000,
                         batch_size=5000, max_backoff_s=0.5)
        w.start()
        n, worst = 6_000, 0.0
        t0 = time.monotonic()
        for k in range(0, n, 100):  # ~4,000 samples/s, faster than the slow store takes them
            a = time.monotonic()
            w.submit(traffic(i) for i in range(k, k + 100))
            worst = max(worst, time.monotonic() - a)
            time.sleep(max(0.0, t0 + (k + 100) / 4000 - time.monotonic()))
        # never waits for the store (0.3 s per answer, several per flush); the rest is the GIL shared with the
        # writer thread's serialization on this busy machine
        assert worst < 0.4, f"submit blocked for {worst:.3f}s"
        wait_until(lambda: w.pending == 0, timeout=90, what="the slow store to catch up")
        w.stop()
        assert w.spilled > 0  # memory full: the rest waited on disk, not in RAM
        # memory: max_buffer plus what arrives while one slow write is under way
        assert w.peak_buffer <= 2 * 1000 + 100, w.peak_buffer  # twice max_buffer, plus one submit
        assert w.peak_buffer < n / 2, w.peak_buffer
        assert w.dropped == 0
        assert stored_sum(influxd, influx_db) == (n, sum(1000 + i for i in range(n)))
    finally:
        proxy.down()
