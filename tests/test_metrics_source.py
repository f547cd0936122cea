"""One metrics source per AP (``aps[].metrics_from``), decided before any
counter moves: the other source gives status only and its baselines stay empty."""
from __future__ import annotations

from datetime import datetime, timezone

from collectors.mqtt.handler import MessageHandler
from collectors.mqtt.telemetry import TelemetryV1, encode_telemetry, telemetry_topic
from collectors.snmp.poller import SnmpCollector
from hotspot_monitor.config.models import Config
from services.mosquitto import mqtt_config
from test_snmp_behaviour import run

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


def _telemetry(ts: float, rx: int) -> bytes:
    return encode_telemetry(TelemetryV1(ts=ts, uptime_s=int(ts) % 100000, clients={"2.4GHz": 3},
                                        ifaces={"wlan0": {"rx_bytes": rx, "tx_bytes": rx}},
                                        cpu_pct=5.0))


def test_mqtt_telemetry_of_an_ap_counted_over_snmp_gives_status_only():
    aps = [{"id": "both", "site": "balekambang", "host": "127.0.0.1", "mqtt_id": "ap-both",
            "snmp": {"community": "x"}},  # metrics_from defaults to snmp: it has a host
           {"id": "mq", "site": "balekambang", "mqtt_id": "ap-mq"}]
    cfg = mqtt_config(1883, "hm", aps=aps)
    h = MessageHandler(cfg)
    t = NOW.timestamp()
    for ap in ("ap-both", "ap-mq"):
        h.handle(telemetry_topic("hm", "balekambang", ap), _telemetry(t - 120, 1000), NOW)
        got = h.handle(telemetry_topic("hm", "balekambang", ap), _telemetry(t - 60, 61000), NOW)
        kinds = sorted({s.measurement for s in got})
        if ap == "ap-both":
            assert kinds == ["ap_status"]
        else:
            assert kinds == ["ap_clients", "ap_status", "ap_system", "ap_traffic"]
    # only the MQTT-counted AP has a counter baseline
    assert [k[1] for k in h.counters.keys()] == ["mq"]


def test_snmp_poll_of_an_ap_counted_over_mqtt_gives_status_only(snmpsim):
    cfg = Config.model_validate({
        "collector": {"timeout_s": 5, "retries": 1},
        "sites": [{"id": "s", "name": "S", "lat": -7.5, "lon": 110.8}],
        "aps": [{"id": "unifi_nanohd", "site": "s", "host": "127.0.0.1", "port": snmpsim.port,
                 "snmp": {"community": "unifi_nanohd"}, "metrics_from": "mqtt", "mqtt_id": "u1"},
                {"id": "routeros", "site": "s", "host": "127.0.0.1", "port": snmpsim.port,
                 "snmp": {"community": "routeros"}}],
    })
    coll = SnmpCollector(cfg)
    first, second = run(coll, None, None)
    assert {s.measurement for s in second["unifi_nanohd"].samples} == {"ap_status"}
    assert second["unifi_nanohd"].samples[0].fields["up"] == 1
    assert "ap_traffic" in {s.measurement for s in second["routeros"].samples}
    assert {k[0] for k in coll.counters.keys()} == {"routeros"}
