"""MQTT -> collector -> SampleWriter -> SQLite store, exact values read back."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from collectors.mqtt import MqttCollector
from collectors.mqtt.telemetry import TelemetryV1, encode_telemetry, status_topic, telemetry_topic
from hotspot_monitor.config.models import StoreSettings
from hotspot_monitor.stores.factory import open_store
from hotspot_monitor.writer import SampleWriter
from services.mosquitto import mqtt_config, publish, publisher


def test_json_into_sqlite_store(mosquitto, mqtt_prefix, tmp_path):
    store = open_store(StoreSettings.model_validate({"kind": "sqlite", "sqlite": {"path": str(tmp_path / "m.sqlite")}}))
    writer = SampleWriter(store, spool_dir=tmp_path / "spool", flush_interval_s=0.1)
    writer.start()
    c = MqttCollector(mqtt_config(mosquitto.port, mqtt_prefix), on_samples=writer.submit)
    c.start()
    T0 = float(int(time.time()) - 600)
    try:
        assert c.wait_connected(10)
        p = publisher(mosquitto.port)
        top = telemetry_topic(mqtt_prefix, "pasar-gede", "pg1-host")
        counters = [(0, 0), (1_000_000, 2_000_000), (1_500_000, 2_000_512), (1_500_001, 2_100_000)]
        for i, (rx, tx) in enumerate(counters):
            publish(p, top, encode_telemetry(TelemetryV1(
                ts=T0 + 60 * i, uptime_s=100 + 60 * i, clients={"2.4GHz": i, "5GHz": 2 * i},
                ifaces={"eth0": {"rx_bytes": rx, "tx_bytes": tx}}, temp_c=40.0 + i)))
        publish(p, status_topic(mqtt_prefix, "pasar-gede", "pg1-host"), b"offline", retain=True)
        deadline = time.monotonic() + 20
        while c.stats["received"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.stats["received"] == 5
    finally:
        c.stop()
        writer.stop()
    start, end = datetime.fromtimestamp(T0 - 1, timezone.utc), datetime.now(timezone.utc) + timedelta(minutes=1)
    rx = store.totals("ap_traffic", "rx_bytes", start=start, end=end, group_by=["ap", "iface"])
    tx = store.totals("ap_traffic", "tx_bytes", start=start, end=end, group_by=["ap", "iface"])
    assert rx == {("pg-1", "eth0"): 1_500_001}  # 1_000_000 + 500_000 + 1
    assert tx == {("pg-1", "eth0"): 2_100_000}  # 2_000_000 + 512 + 99_488
    clients = {s.tags["radio"]: s.fields["clients"] for s in store.latest("ap_clients", tags={"ap": "pg-1"})}
    assert clients == {"2.4GHz": 3, "5GHz": 6, "all": 9}
    [sys_] = store.latest("ap_system", tags={"ap": "pg-1"})
    assert sys_.fields == {"temp_c": 43.0} and sys_.time == datetime.fromtimestamp(T0 + 180, timezone.utc)
    [status] = store.latest("ap_status", tags={"ap": "pg-1"})
    assert status.fields == {"up": 0, "reason": "lwt_offline"}
    store.close()
