"""Build the monthly report: read the stores once, account for every AP, sum up every level."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Callable, Optional

from .. import catalogue as cat
from ..alerts.silences import SilenceStore
from ..citizens.monthly import report_stats
from ..config.models import Config
from ..sample import from_us
from ..status.statestore import StateStore
from ..stores.base import MetricStore
from .accounting import Accounting, account
from .clients import ClientData, add_hours, client_data, client_sums, heat_map, interval_ms, peak_of
from .load import saturation, site_hours
from .model import Figures, Report
from .period import Month
from .rules import AccountingRules, ReportScope, rules_for, scope_for
from .usage import ApUsage, usage_by_ap, usage_by_iface

Progress = Callable[[str], None]


def build_report(cfg: Config, states: StateStore, store: MetricStore, month: Month,
                 partner: Optional[str] = None, *, now: Optional[datetime] = None,
                 progress: Optional[Progress] = None, compare: bool = True) -> Report:
    """The report of ``month`` for ``partner`` (None: every site, default rules).

    KeyError for an unknown partner. ``progress`` is told each step (the CLI shows it).
    """
    say = progress or (lambda _step: None)
    scope = scope_for(cfg, partner)
    rules = rules_for(cfg, scope)
    start, end = month.bounds(cfg.tz)
    p_start, p_end = month.previous().bounds(cfg.tz)
    # independent reads side by side: the state store, the metric store's usage and
    # clients, the month before (InfluxDB answers requests on all its cores; SQLite
    # releases the GIL while it reads)
    with ThreadPoolExecutor(4, thread_name_prefix="report") as pool:
        say("availability")
        f_acc = pool.submit(_account, cfg, states, scope, rules, start, end)
        f_usage = pool.submit(usage_by_iface, store, start, end)
        f_clients = pool.submit(client_data, store, start, end)
        f_prev = pool.submit(_previous, cfg, states, store, scope, rules, p_start, p_end) if compare else None
        acc = f_acc.result()
        say("usage")
        per_iface, counted = f_usage.result()
        usage = _uplink(per_iface, counted)
        # hourly uplink bytes need only the APs with traffic: read them while clients are read
        f_hours = pool.submit(site_hours, store, start, end, set(scope.sites), counted,
                              _ap_sites(acc, usage, {}, scope))
        say("clients")
        clients = f_clients.result()
        ap_site = _ap_sites(acc, usage, clients.sites, scope)
        say("load")
        hours = f_hours.result()
        city_hours: dict[int, int] = {}
        rows = _rows(cfg, scope, rules, acc, usage, clients.sums, ap_site, clients, city_hours)
        _add_load(cfg, rows, hours)
        previous: dict[tuple[str, str], Figures] = {}
        if f_prev is not None:
            say("previous month")
            previous = f_prev.result()
    daily = _daily(hours, cfg)
    names = {s.id: s.name for s in cfg.sites}
    return Report(month, scope, rules, cfg.city or "", cfg.tz, start, end,
                  now or datetime.now(timezone.utc), rows, acc.lines, previous,
                  heat_map(city_hours, cfg.tz), daily, names,
                  sum(u.crossing for ap, u in usage.items() if ap in ap_site),
                  [s for s in report_stats(states, start, end, sorted(scope.sites)) if s.reports or s.tickets])


def _previous(cfg: Config, states: StateStore, store: MetricStore, scope: ReportScope,
              rules: AccountingRules, start: datetime, end: datetime) -> dict[tuple[str, str], Figures]:
    """The month before under the same rules, without the hourly figures (the comparison)."""
    acc = _account(cfg, states, scope, rules, start, end)
    usage = usage_by_ap(store, start, end)
    sums = client_sums(store, start, end)
    ap_site = _ap_sites(acc, usage, {}, scope)
    return {r.key(): r for r in _rows(cfg, scope, rules, acc, usage, sums, ap_site, None)}


def _account(cfg: Config, states: StateStore, scope: ReportScope, rules: AccountingRules,
             start: datetime, end: datetime) -> Accounting:
    windows = SilenceStore(states.engine, cfg, cfg.alerts).maintenance_windows(start, end)
    return account(states, cfg, scope, rules, start=start, end=end, maintenance=windows)


def _uplink(per_iface: dict, counted: dict[str, set[str]]) -> dict[str, ApUsage]:
    out: dict[str, ApUsage] = {}
    for (site, ap, iface), u in sorted(per_iface.items()):
        if iface in counted.get(ap, ()):
            out.setdefault(ap, ApUsage(site)).add(u)
    return out


def _ap_sites(acc: Accounting, usage: dict[str, ApUsage], client_sites: dict[str, str],
              scope: ReportScope) -> dict[str, str]:
    """AP -> site: the accounting's (inventory, then state store), then metric tags
    for APs known only from their metrics."""
    out = {ap: a.site for ap, a in acc.aps.items()}
    for ap, u in usage.items():
        if ap not in out and u.site in scope.sites:
            out[ap] = u.site
    for ap, site in client_sites.items():
        if ap not in out and site in scope.sites:
            out[ap] = site
    return out


def _rows(cfg: Config, scope: ReportScope, rules: AccountingRules, acc: Accounting,
          usage: dict[str, ApUsage], sums: dict[str, int], ap_site: dict[str, str],
          clients: Optional[ClientData], city_hours: Optional[dict[int, int]] = None) -> list[Figures]:
    """Every row; with ``clients``, the peaks too (``city_hours`` receives the city's
    hourly concurrent clients, for the heat map)."""
    sites = {s.id: s for s in cfg.sites}
    target = rules.target

    def district_of(site_id: str) -> str:
        s = sites.get(site_id)
        return (s.district or "") if s is not None else ""

    polled = {a.id: a for a in cfg.aps}
    ap_rows: list[Figures] = []
    for ap, site_id in ap_site.items():
        a = acc.aps.get(ap)
        u = usage.get(ap, ApUsage(site_id))
        r = Figures("ap", district_of(site_id), site_id, ap, ap, 1, sla_target=target,
                    rx=u.rx, tx=u.tx, rx_apportioned=u.rx_apportioned, tx_apportioned=u.tx_apportioned,
                    client_ms=sums.get(ap, 0) * interval_ms(cfg, polled.get(ap)))
        if a is not None:
            counted = a.counted
            r.month_us, r.service_us, r.maintenance_us = a.month_us, a.service_us, a.maintenance_us
            r.monitored_us, r.down_us, r.short_us, r.power_cut_us = (a.monitored_us, a.down_us,
                                                                     a.short_us, a.power_cut_us)
            r.outages = len(counted)
            r.longest_us = max((o.counted_us for o in counted), default=0)
        if clients is not None:
            p = clients.peak([ap])
            if p is not None:
                r.peak_clients, r.peak_at_us = p.clients, p.at_us
        ap_rows.append(r)
    order = {s.id: i for i, s in enumerate(cfg.sites)}
    ap_rows.sort(key=lambda r: (r.district == "", r.district, order.get(r.site, len(order)), r.site, r.ap))
    site_rows: dict[str, Figures] = {}
    for site_id in sorted(set(ap_site.values()) | set(scope.sites),
                          key=lambda s: (district_of(s) == "", district_of(s), order.get(s, len(order)), s)):
        st = sites.get(site_id)
        site_rows[site_id] = Figures("site", district_of(site_id), site_id, "", st.name if st else site_id,
                                     sla_target=target, site_down_us=acc.site_down_us.get(site_id, 0))
    for r in ap_rows:
        site_rows[r.site].add(r)
    district_rows: dict[str, Figures] = {}
    for s in site_rows.values():
        d = district_rows.setdefault(s.district, Figures("district", s.district, name=s.district,
                                                         sla_target=target, site_down_us=0))
        d.add(s)
    city = Figures("city", name=cfg.city or "", sla_target=target, site_down_us=0)
    for s in site_rows.values():
        city.add(s)
    if clients is not None:  # hourly sums once per site; districts and the city add sites
        site_hours_: dict[str, dict[int, int]] = {}
        for r in ap_rows:
            site_hours_.setdefault(r.site, {})
        for site_id in site_hours_:
            site_hours_[site_id] = clients.group_hours(r.ap for r in ap_rows if r.site == site_id)
        for s in site_rows.values():
            _peak(s, site_hours_.get(s.site, {}))
        for d in district_rows.values():
            _peak(d, add_hours(h for site_id, h in site_hours_.items() if site_rows[site_id].district == d.district))
        everywhere = add_hours(site_hours_.values())
        _peak(city, everywhere)
        if city_hours is not None:
            city_hours.update(everywhere)
    ds = sorted(district_rows.values(), key=lambda d: (d.district == "", d.district))
    return [city, *ds, *site_rows.values(), *ap_rows]


def _peak(row: Figures, hours: dict[int, int]) -> None:
    p = peak_of(hours)
    if p is not None:
        row.peak_clients, row.peak_at_us = p.clients, p.at_us


def saturation_threshold(cfg: Config) -> float:
    rule = cfg.alerts.rules.get("saturation")
    if rule is not None and rule.threshold is not None:
        return float(rule.threshold)
    th = cat.UPLINK_UTILISATION.threshold
    return th.limit if th is not None else 80.0


def _add_load(cfg: Config, rows: list[Figures], hours: dict[str, dict[int, tuple[int, int]]]) -> None:
    sites = {s.id: s for s in cfg.sites}
    limit = saturation_threshold(cfg)
    by_site = {r.site: r for r in rows if r.level == "site"}
    for site_id, r in by_site.items():
        st = sites.get(site_id)
        if st is None or not st.backhaul_mbps:
            continue
        load = saturation(hours.get(site_id, {}), st.backhaul_mbps, limit)
        r.saturated_hours, r.busiest_pct, r.busiest_at_us = (load.saturated_hours, load.busiest_pct,
                                                             load.busiest_at_us)
    for agg in (r for r in rows if r.level in ("district", "city")):
        members = [s for s in by_site.values() if agg.level == "city" or s.district == agg.district]
        counts = [s.saturated_hours for s in members if s.saturated_hours is not None]
        agg.saturated_hours = sum(counts) if counts else None


def _daily(hours: dict[str, dict[int, tuple[int, int]]], cfg: Config) -> list[tuple[datetime, int, int]]:
    """Uplink bytes per local day over every site of the report (a chart, by interval end)."""
    days: dict[datetime, list[int]] = {}
    for per in hours.values():
        for h, (rx, tx) in per.items():
            local = from_us(h).astimezone(cfg.tz)
            day = local.replace(hour=0, minute=0, second=0, microsecond=0)
            acc = days.setdefault(day, [0, 0])
            acc[0] += rx
            acc[1] += tx
    return [(d, v[0], v[1]) for d, v in sorted(days.items())]



