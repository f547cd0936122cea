"""What the inventory says about an AP's metrics, decided before any counter moves.

* **One metrics source per AP** (``aps[].metrics_from``): an AP polled over
  SNMP that also publishes MQTT telemetry must not have its bytes counted
  twice. Each collector asks :meth:`MetricsPolicy.counts_metrics` *before*
  feeding a counter tracker, so the other source's baselines never move and
  its readings cost nothing; status (``ap_status``) comes from every source.
* **What a link can carry** bounds counter wraps (``collectors.counters``):
  the interface's own speed, else the site's ``backhaul_mbps``, else the
  tracker's default.
"""
from __future__ import annotations

from typing import Optional

from hotspot_monitor.config.models import Config

from .counters import link_bps


class MetricsPolicy:
    def __init__(self, config: Config):
        self._source = {a.id: a.metrics_source for a in config.aps}
        self._backhaul = {s.id: s.backhaul_mbps for s in config.sites}
        self._site_of = {a.id: a.site for a in config.aps}

    def counts_metrics(self, ap: str, source: str) -> bool:
        """Whether ``source`` (``snmp``/``mqtt``) supplies ``ap``'s traffic, clients and
        system metrics. APs outside the inventory (a controller's unlisted APs) count."""
        return self._source.get(ap, source) == source

    def link_bps(self, site: Optional[str], iface_bps: Optional[float], default_bps: float) -> float:
        return link_bps(iface_bps, self._backhaul.get(site or ""), default_bps)
