"""The metric rules' view of the metric store, refreshed now and then.

Rules must not query the time-series store on every evaluation (OpenWISP
issues #667, #670), so a refresher reads what they need about once a minute:
latest system values and client counts, each site's uplink use over the
last minutes, and once an hour each AP's client baseline for the current
hour of the week over the last four weeks.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Optional

from .. import catalogue as cat
from ..config.models import Config
from ..sample import utc
from ..stores.base import MetricStore, StoreError
from .rules import MetricsView, SiteLoad

log = logging.getLogger(__name__)

FRESH_S = 900.0  # a value older than this is no current value
LOAD_WINDOW_S = 300.0
BASELINE_WEEKS = 4
BASELINE_EVERY_S = 3600.0


class MetricsRefresher:
    def __init__(self, cfg: Config, store: MetricStore):
        self.cfg = cfg
        self.store = store
        self._baseline: dict[str, dict[int, float]] = {}  # ap -> hour of week -> mean clients
        self._baseline_at: Optional[datetime] = None

    def refresh(self, now: datetime) -> MetricsView:
        """Read everything the rules need; a store error leaves that part empty (not judged)."""
        now = utc(now)
        view = MetricsView(at=now)
        since = now - timedelta(seconds=FRESH_S)
        try:
            for s in self.store.latest("ap_system", since=since):
                ap = s.tags.get("ap", "")
                for f in ("cpu_pct", "mem_pct", "temp_c"):
                    v = s.fields.get(f)
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        view.system.setdefault(ap, {})[f] = (float(v), s.time)
        except StoreError as e:
            log.warning("alert metrics: system values unavailable: %s", e)
        try:
            for s in self.store.latest("ap_clients", tags={"radio": "all"}, since=since):
                v = s.fields.get("clients")
                if isinstance(v, int) and not isinstance(v, bool):
                    view.clients[s.tags.get("ap", "")] = (v, s.time)
                    view.clients_max_recent[s.tags.get("ap", "")] = v
        except StoreError as e:
            log.warning("alert metrics: client counts unavailable: %s", e)
        try:
            view.site_load = self._site_load(now)
        except StoreError as e:
            log.warning("alert metrics: traffic unavailable: %s", e)
        try:
            self._refresh_baseline(now)
            how = _hour_of_week(now, self.cfg)
            view.expected_clients = {ap: b[how] for ap, b in self._baseline.items() if how in b}
        except StoreError as e:
            log.warning("alert metrics: client baseline unavailable: %s", e)
        return view

    def _site_load(self, now: datetime) -> dict[str, SiteLoad]:
        """Per site: bytes through its APs' uplink interfaces over the window
        (``catalogue.usage_ifaces``: radios and bridges carry the same bytes again),
        as bits/s of the busier direction; the dashboard's utilisation chart counts
        the same way."""
        start = now - timedelta(seconds=LOAD_WINDOW_S)
        per_dir: list[dict[str, float]] = []
        for fld in ("rx_bytes", "tx_bytes"):
            got = self.store.totals(cat.AP_TRAFFIC, fld, start=start, end=now,
                                    group_by=["site", "ap", "iface"])
            names: dict[tuple[str, str], set[str]] = defaultdict(set)
            for site, ap, iface in got:
                names[(site, ap)].add(iface)
            keep = {k: cat.usage_ifaces(v) for k, v in names.items()}
            sums: dict[str, float] = defaultdict(float)
            for (site, ap, iface), n in got.items():
                if iface in keep[(site, ap)]:
                    sums[site] += float(n)
            per_dir.append(sums)
        sites = set(per_dir[0]) | set(per_dir[1])
        return {site: SiteLoad(max(per_dir[0].get(site, 0.0), per_dir[1].get(site, 0.0)) * 8 / LOAD_WINDOW_S,
                               LOAD_WINDOW_S) for site in sites}

    def _refresh_baseline(self, now: datetime) -> None:
        if self._baseline_at is not None and (now - self._baseline_at).total_seconds() < BASELINE_EVERY_S:
            return
        start = now - timedelta(weeks=BASELINE_WEEKS)
        sums: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        for series in self.store.aggregate("ap_clients", "clients", start=start, end=now,
                                           every=timedelta(hours=1), agg="mean",
                                           tags={"radio": "all"}, group_by=["ap"]):
            ap = series.tags.get("ap", "")
            for b in series.buckets:
                sums[ap][_hour_of_week(b.start, self.cfg)].append(float(b.value))
        self._baseline = {ap: {h: sum(v) / len(v) for h, v in hours.items()}
                          for ap, hours in sums.items()}
        self._baseline_at = now


def _hour_of_week(t: datetime, cfg: Config) -> int:
    local = t.astimezone(cfg.tz)
    return local.weekday() * 24 + local.hour
