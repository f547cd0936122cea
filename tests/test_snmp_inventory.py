"""Inventory sharding and uptime handling (no SNMP agent needed)."""
from __future__ import annotations

import pytest


def test_shards_split_the_inventory_without_overlap():
    from collectors.snmp import SnmpCollector
    from hotspot_monitor.config.models import Config

    def cfg(shard=None):
        return Config.model_validate({
            "collector": {"shard": shard} if shard else {},
            "sites": [{"id": "s", "name": "S", "lat": 0, "lon": 0}],
            "aps": [{"id": f"ap-{i}", "site": "s", "host": "127.0.0.1"} for i in range(50)]
            + [{"id": "via-ctrl", "site": "s", "controller": "c1"}],
            "controllers": [{"id": "c1", "host": "127.0.0.1"}],
        })
    everyone = set(SnmpCollector(cfg()).devices)
    assert "via-ctrl" not in everyone and len(everyone) == 51  # no host: reported by c1
    parts = [set(SnmpCollector(cfg(f"{i}/3")).devices) for i in range(3)]
    assert set().union(*parts) == everyone and sum(map(len, parts)) == len(everyone)
    assert all(parts)
    with pytest.raises(ValueError, match="unknown SNMP profile"):
        SnmpCollector(Config.model_validate({
            "sites": [{"id": "s", "name": "S", "lat": 0, "lon": 0}],
            "aps": [{"id": "a", "site": "s", "host": "h", "profile": "nonesuch"}]}))


def test_sysuptime_wrap_is_not_a_reboot():
    from collectors.counters import CounterTracker
    from collectors.snmp.inventory import build_devices
    from collectors.snmp.samples import UPTIME_WRAP_S, SampleBuilder
    from hotspot_monitor.config.models import Config

    cfg = Config.model_validate({
        "sites": [{"id": "s", "name": "S", "lat": 0, "lon": 0}],
        "aps": [{"id": "a", "site": "s", "host": "127.0.0.1"}]})
    dev = build_devices(cfg)["a"]
    b = SampleBuilder(cfg, CounterTracker(), {})
    assert b._uptime_for_counters(dev, UPTIME_WRAP_S - 30, 1000.0) == UPTIME_WRAP_S - 30
    # 60 s later the 32-bit tick counter has wrapped to 30 s: not a reboot
    assert b._uptime_for_counters(dev, 30, 1060.0) is None
    # a real reboot: uptime far from the wrap point goes back
    assert b._uptime_for_counters(dev, 5000, 2000.0) == 5000
    assert b._uptime_for_counters(dev, 20, 2060.0) == 20
