"""Which devices this process polls, with their effective settings."""
from __future__ import annotations

from dataclasses import dataclass

from hotspot_monitor.cluster.ownership import ShardId, shard_of
from hotspot_monitor.config.models import AccessPoint, Config, Controller

UNASSIGNED = "unassigned"


@dataclass
class Device:
    """One thing we poll: an AP with a host, or a controller."""

    id: str
    kind: str  # "ap" | "controller"
    model: AccessPoint | Controller
    site: str
    interval_s: float
    timeout_s: float
    retries: int

    @property
    def label(self) -> str:
        return f"{self.kind} {self.id} ({self.model.host}:{self.model.port})"


def build_devices(cfg: Config) -> dict[str, Device]:
    """APs with a host and all controllers, filtered by ``collector.shard``
    (the stable hash of hotspot_monitor/cluster/ownership.py)."""
    c = cfg.collector
    shard = ShardId.parse(c.shard)
    out: dict[str, Device] = {}
    for kind, items in (("ap", cfg.aps), ("controller", cfg.controllers)):
        for d in items:
            if not d.host:
                continue  # reported through its controller (or MQTT)
            if shard.sharded and shard_of(d.id, shard.count) != shard.index:
                continue
            site = d.site if kind == "ap" else (d.site or UNASSIGNED)
            out[d.id] = Device(d.id, kind, d, site,
                               d.interval_s or c.interval_s, d.timeout_s or c.timeout_s,
                               d.retries if d.retries is not None else c.retries)
    return out

