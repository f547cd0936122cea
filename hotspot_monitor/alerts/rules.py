"""Alert rules: defaults as data, per-fleet settings, and the evaluators.

Each rule looks at what the monitor already knows (the status engine's AP
and controller states, a metrics snapshot, the service's own health) and
returns the *conditions* that hold now, plus the subjects it could judge
(``checked``). The alert manager turns conditions into alerts; an alert
whose subject was not judged this time (no data yet after a restart, an AP
behind an unreachable controller) keeps its state: silence is no recovery.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from .. import catalogue as cat
from ..config.models import Config
from ..status.engine import DOWN, UP, ApTrack, ControllerTrack
from ..status.service_hours import service_intervals
from ..sample import to_us
from .config import AlertsSettings, RuleOverride, RuleSettings

POWER_CUT_WINDOW_S = 120.0  # every AP of a site down within this: the site lost power


@dataclass(frozen=True)
class RuleDefault:
    severity: str
    for_s: float
    scope: str  # ap | site | controller | monitor
    threshold: Optional[float] = None
    unit: str = ""
    days: Optional[float] = None
    only_in_service_hours: bool = False


def _from_catalogue(f: cat.FieldSpec, severity: str, scope: str) -> RuleDefault:
    """A threshold rule whose default limit, hold time and unit are the catalogue's."""
    assert f.threshold is not None
    return RuleDefault(severity, f.threshold.for_s, scope, threshold=f.threshold.limit, unit=f.unit)


DEFAULTS: dict[str, RuleDefault] = {
    "ap_down": RuleDefault("warning", 300, "ap", only_in_service_hours=True),
    "site_down": RuleDefault("critical", 300, "site", only_in_service_hours=True),
    "controller_down": RuleDefault("critical", 300, "controller"),
    "flapping": RuleDefault("warning", 0, "ap"),
    "stale": RuleDefault("warning", 0, "ap"),  # the collector already waited heartbeat_timeout_s
    "missing_device": RuleDefault("critical", 0, "ap", days=3.0),
    "saturation": _from_catalogue(cat.UPLINK_UTILISATION, "warning", "site"),
    "silent_ap": RuleDefault("info", 1800, "ap", threshold=1.0, unit="clients",
                             only_in_service_hours=True),
    "high_cpu": _from_catalogue(cat.spec(cat.AP_SYSTEM, "cpu_pct"), "warning", "ap"),
    "high_mem": _from_catalogue(cat.spec(cat.AP_SYSTEM, "mem_pct"), "warning", "ap"),
    "high_temp": _from_catalogue(cat.spec(cat.AP_SYSTEM, "temp_c"), "warning", "ap"),
    "monitor_unhealthy": RuleDefault("critical", 60, "monitor"),
}
IDENTITY = ("rule", "ap", "site", "controller", "reason", "channel", "shard")  # what makes two alerts one


@dataclass(frozen=True)
class Effective:
    """One rule's settings for one subject, after config and overrides."""

    enabled: bool
    severity: str
    for_s: float
    threshold: Optional[float]
    days: Optional[float]
    only_in_service_hours: bool


class RuleBook:
    """Rule settings per subject: defaults < ``alerts.rules`` < overrides (district < site < ap)."""

    def __init__(self, settings: AlertsSettings):
        self._cfg = settings.rules

    def get(self, rule: str, labels: dict[str, str]) -> Effective:
        d = DEFAULTS[rule]
        rs = self._cfg.get(rule, RuleSettings())
        eff = Effective(True if rs.enabled is None else rs.enabled, rs.severity or d.severity,
                        d.for_s if rs.for_ is None else rs.for_,
                        d.threshold if rs.threshold is None else rs.threshold,
                        d.days if rs.days is None else rs.days,
                        d.only_in_service_hours if rs.only_in_service_hours is None
                        else rs.only_in_service_hours)
        for o in sorted((o for o in rs.overrides if _applies(o, labels)), key=_specificity):
            eff = replace(eff, **{k: v for k, v in (
                ("enabled", o.enabled), ("severity", o.severity), ("for_s", o.for_),
                ("threshold", o.threshold), ("days", o.days)) if v is not None})
        return eff


def _applies(o: RuleOverride, labels: dict[str, str]) -> bool:
    given = [(k, v) for k, v in (("ap", o.ap), ("site", o.site), ("district", o.district)) if v]
    return bool(given) and all(labels.get(k) == v for k, v in given)


def _specificity(o: RuleOverride) -> int:
    return 3 if o.ap else 2 if o.site else 1


@dataclass(frozen=True)
class Condition:
    """A rule that holds now for one subject."""

    rule: str
    labels: dict[str, str]
    since: datetime
    value: Optional[float] = None
    details: dict[str, Any] = field(default_factory=dict)
    closed: bool = False  # outside the site's service hours: may not start firing

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.labels)


def fingerprint(rule: str, labels: dict[str, str]) -> str:
    ident = {"rule": rule, **{k: labels[k] for k in IDENTITY if k in labels and k != "rule"}}
    return "|".join(f"{k}={ident[k]}" for k in IDENTITY if k in ident)


@dataclass(frozen=True)
class SiteLoad:
    """A site's uplink use over the saturation window (bits/s, the busier direction)."""

    bps: float
    window_s: float


@dataclass
class MetricsView:
    """What the metric rules need, refreshed from the metric store now and then."""

    at: Optional[datetime] = None
    system: dict[str, dict[str, tuple[float, datetime]]] = field(default_factory=dict)  # ap -> field
    clients: dict[str, tuple[int, datetime]] = field(default_factory=dict)  # ap -> latest "all"
    clients_max_recent: dict[str, int] = field(default_factory=dict)  # ap -> max over silent window
    expected_clients: dict[str, float] = field(default_factory=dict)  # ap -> hour-of-week baseline now
    site_load: dict[str, SiteLoad] = field(default_factory=dict)


@dataclass
class MonitorHealth:
    """The service's own state (monitor_unhealthy)."""

    snmp_expected: bool = False
    snmp_last_round: Optional[datetime] = None
    snmp_interval_s: float = 60.0
    started_at: Optional[datetime] = None
    store_ok: bool = True
    store_failing_since: Optional[datetime] = None
    spool_pending: list[int] = field(default_factory=list)  # recent backlog sizes, oldest first
    flagged_channels: dict[str, str] = field(default_factory=dict)  # channel -> reason
    # sharded runs (docs/scaling.md): every shard "i/n", and those down -> since their last heartbeat
    shards: list[str] = field(default_factory=list)
    shards_down: dict[str, datetime] = field(default_factory=dict)
    # sharded runs: each live shard's own health (from its heartbeat), judged with a ``shard``
    # label instead of the fields above; None for one process
    shard_health: Optional[dict[str, "MonitorHealth"]] = None
    # shards of another shard count (``i/m``, m != n) -> since they started (None: not running)
    shards_foreign: dict[str, Optional[datetime]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The process-level part, for a shard's heartbeat row."""
        iso = lambda t: t.isoformat() if t else None  # noqa: E731
        return {"snmp_expected": self.snmp_expected, "snmp_last_round": iso(self.snmp_last_round),
                "snmp_interval_s": self.snmp_interval_s, "started_at": iso(self.started_at),
                "store_ok": self.store_ok, "store_failing_since": iso(self.store_failing_since),
                "spool_pending": list(self.spool_pending)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "MonitorHealth":
        t = lambda k: datetime.fromisoformat(d[k]) if d.get(k) else None  # noqa: E731
        return cls(snmp_expected=bool(d.get("snmp_expected")), snmp_last_round=t("snmp_last_round"),
                   snmp_interval_s=float(d.get("snmp_interval_s") or 60.0), started_at=t("started_at"),
                   store_ok=bool(d.get("store_ok", True)), store_failing_since=t("store_failing_since"),
                   spool_pending=[int(x) for x in d.get("spool_pending") or []])


@dataclass
class AlertInputs:
    now: datetime
    aps: list[ApTrack]
    controllers: dict[str, ControllerTrack]
    metrics: MetricsView = field(default_factory=MetricsView)
    health: MonitorHealth = field(default_factory=MonitorHealth)


@dataclass
class Evaluation:
    conditions: list[Condition] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)  # fingerprints judged (holding or not)

    def judge(self, rule: str, labels: dict[str, str], cond: Optional[Condition]) -> None:
        self.checked.add(fingerprint(rule, labels))
        if cond is not None:
            self.conditions.append(cond)


class RuleEvaluator:
    """All rules over one :class:`AlertInputs`."""

    def __init__(self, cfg: Config, settings: AlertsSettings):
        self.cfg = cfg
        self.book = RuleBook(settings)
        self._sites = {s.id: s for s in cfg.sites}
        self._ap_cfg = {a.id: a for a in cfg.aps}
        self._channel_ids = [c.id for c in settings.channels]
        self._rules: list[tuple[str, Callable[[AlertInputs, Evaluation], None]]] = [
            ("ap_down", self._ap_down), ("missing_device", self._missing_device),
            ("site_down", self._site_down), ("controller_down", self._controller_down),
            ("flapping", self._flapping), ("stale", self._stale),
            ("high_cpu", self._system("high_cpu", "cpu_pct")),
            ("high_mem", self._system("high_mem", "mem_pct")),
            ("high_temp", self._system("high_temp", "temp_c")),
            ("saturation", self._saturation), ("silent_ap", self._silent_ap),
            ("monitor_unhealthy", self._monitor_unhealthy),
        ]

    def evaluate(self, inp: AlertInputs) -> Evaluation:
        ev = Evaluation()
        for _, fn in self._rules:
            fn(inp, ev)
        return ev

    # -- labels and settings -------------------------------------------------------
    def site_labels(self, site_id: str) -> dict[str, str]:
        s = self._sites.get(site_id)
        out = {"site": site_id, "site_name": s.name if s else site_id}
        if s is not None and s.district:
            out["district"] = s.district
        return out

    def ap_labels(self, tr: ApTrack) -> dict[str, str]:
        out = {"ap": tr.ap, **self.site_labels(tr.site)}
        a = self._ap_cfg.get(tr.ap)
        if a is not None and a.name:
            out["ap_name"] = a.name
        if a is not None and a.controller:
            out["controller"] = a.controller
        return out

    def _site_details(self, site_id: str) -> dict[str, Any]:
        s = self._sites.get(site_id)
        return {"lat": s.lat, "lon": s.lon} if s else {}

    def in_service(self, site_id: str, now: datetime) -> bool:
        s = self._sites.get(site_id)
        hours = s.service_hours if s else None
        if hours is None:
            return True
        iv = service_intervals(hours, self.cfg.tz, now - timedelta(seconds=1), now + timedelta(seconds=1))
        return any(a <= to_us(now) < b for a, b in iv)

    def _on(self, rule: str, labels: dict[str, str]) -> Optional[Effective]:
        eff = self.book.get(rule, labels)
        return eff if eff.enabled else None

    # -- AP state rules ---------------------------------------------------------------
    @staticmethod
    def _judged(tr: ApTrack) -> bool:
        """Known state (not behind an unreachable controller, seen at least once)."""
        return tr.blind is None and tr.state in (UP, DOWN)

    def _ap_down(self, inp: AlertInputs, ev: Evaluation) -> None:
        for tr in inp.aps:
            labels = self.ap_labels(tr)
            eff = self._on("ap_down", labels)
            if eff is None or not self._judged(tr):
                continue
            cond = None
            if tr.state == DOWN and tr.since is not None:
                closed = eff.only_in_service_hours and not self.in_service(tr.site, inp.now)
                cond = Condition("ap_down", labels, tr.since,
                                 details={"reason": tr.reason or "", **self._site_details(tr.site)},
                                 closed=closed)
            ev.judge("ap_down", labels, cond)

    def _missing_device(self, inp: AlertInputs, ev: Evaluation) -> None:
        for tr in inp.aps:
            labels = {**self.ap_labels(tr), "partner": "yes"}
            eff = self._on("missing_device", labels)
            if eff is None or not self._judged(tr):
                continue
            cond = None
            limit = timedelta(days=eff.days or 3.0)
            if tr.state == DOWN and tr.since is not None and inp.now - tr.since >= limit:
                cond = Condition("missing_device", labels, tr.since + limit,
                                 details={"down_s": int((inp.now - tr.since).total_seconds()),
                                          **self._site_details(tr.site)})
            ev.judge("missing_device", labels, cond)

    def _site_down(self, inp: AlertInputs, ev: Evaluation) -> None:
        by_site: dict[str, list[ApTrack]] = {}
        for tr in inp.aps:
            by_site.setdefault(tr.site, []).append(tr)
        for site_id, trs in sorted(by_site.items()):
            labels = self.site_labels(site_id)
            eff = self._on("site_down", labels)
            known = [t for t in trs if self._judged(t)]
            if eff is None or not known:
                continue
            cond = None
            if all(t.state == DOWN for t in known) and len(known) == len(trs):
                starts = sorted(t.since for t in known if t.since is not None)
                if starts:
                    power_cut = len(trs) > 1 and (starts[-1] - starts[0]).total_seconds() \
                        <= POWER_CUT_WINDOW_S
                    closed = eff.only_in_service_hours and not self.in_service(site_id, inp.now)
                    cond = Condition("site_down", labels, starts[-1],
                                     details={"aps_down": len(known), "aps_total": len(trs),
                                              "cause": "power_cut" if power_cut else "",
                                              **self._site_details(site_id)}, closed=closed)
            ev.judge("site_down", labels, cond)

    def _controller_down(self, inp: AlertInputs, ev: Evaluation) -> None:
        for c in self.cfg.controllers:
            labels = {"controller": c.id, **(self.site_labels(c.site) if c.site else {})}
            eff = self._on("controller_down", labels)
            st = inp.controllers.get(c.id)
            if eff is None or st is None or st.up is None:
                continue
            behind = sum(1 for a in self.cfg.aps if a.controller == c.id)
            cond = Condition("controller_down", labels, st.since, details={"aps_total": behind}) \
                if st.up is False and st.since is not None else None
            ev.judge("controller_down", labels, cond)

    def _flapping(self, inp: AlertInputs, ev: Evaluation) -> None:
        for tr in inp.aps:
            labels = self.ap_labels(tr)
            if self._on("flapping", labels) is None or tr.state not in (UP, DOWN):
                continue
            since = tr.flap_times[0] if tr.flap_times else inp.now
            ev.judge("flapping", labels, Condition("flapping", labels, since, value=len(tr.flap_times),
                                                   details=self._site_details(tr.site))
                     if tr.flapping else None)

    def _stale(self, inp: AlertInputs, ev: Evaluation) -> None:
        for tr in inp.aps:
            src = tr.sources.get("mqtt")
            labels = self.ap_labels(tr)
            if src is None or self._on("stale", labels) is None:
                continue
            stale = src.down and src.reason == "stale"
            ev.judge("stale", labels, Condition("stale", labels, src.bad_since or src.last_seen,
                                                details=self._site_details(tr.site))
                     if stale else None)

    # -- metric rules ----------------------------------------------------------------------
    def _system(self, rule: str, fld: str) -> Callable[[AlertInputs, Evaluation], None]:
        def check(inp: AlertInputs, ev: Evaluation) -> None:
            for tr in inp.aps:
                got = inp.metrics.system.get(tr.ap, {}).get(fld)
                labels = self.ap_labels(tr)
                eff = self._on(rule, labels)
                if eff is None or got is None or tr.state != UP:
                    continue
                value, at = got
                hot = eff.threshold is not None and value >= eff.threshold
                ev.judge(rule, labels, Condition(rule, labels, at, value=value,
                                                 details={"threshold": eff.threshold})
                         if hot else None)
        return check

    def _saturation(self, inp: AlertInputs, ev: Evaluation) -> None:
        for site_id, load in sorted(inp.metrics.site_load.items()):
            s = self._sites.get(site_id)
            labels = self.site_labels(site_id)
            eff = self._on("saturation", labels)
            if eff is None or s is None or not s.backhaul_mbps:
                continue
            pct = 100.0 * load.bps / (s.backhaul_mbps * 1e6)
            hot = eff.threshold is not None and pct >= eff.threshold
            at = inp.metrics.at or inp.now
            ev.judge("saturation", labels, Condition(
                "saturation", labels, at - timedelta(seconds=load.window_s), value=round(pct, 1),
                details={"backhaul_mbps": s.backhaul_mbps, "threshold": eff.threshold,
                         **self._site_details(site_id)}) if hot else None)

    def _silent_ap(self, inp: AlertInputs, ev: Evaluation) -> None:
        for tr in inp.aps:
            labels = self.ap_labels(tr)
            eff = self._on("silent_ap", labels)
            expected = inp.metrics.expected_clients.get(tr.ap)
            recent = inp.metrics.clients_max_recent.get(tr.ap)
            if eff is None or expected is None or recent is None or tr.state != UP:
                continue
            if eff.only_in_service_hours and not self.in_service(tr.site, inp.now):
                ev.judge("silent_ap", labels, None)
                continue
            silent = recent == 0 and eff.threshold is not None and expected >= eff.threshold
            at = inp.metrics.at or inp.now
            ev.judge("silent_ap", labels, Condition(
                "silent_ap", labels, at, value=0.0,
                details={"expected": round(expected, 1), **self._site_details(tr.site)})
                if silent else None)

    # -- the monitor itself --------------------------------------------------------------
    def _monitor_unhealthy(self, inp: AlertInputs, ev: Evaluation) -> None:
        h = inp.health
        now = inp.now

        def judge(reason: str, since: Optional[datetime], extra: Optional[dict] = None) -> None:
            labels = {"reason": reason, **(extra or {})}
            if self._on("monitor_unhealthy", labels) is None:
                return
            ev.judge("monitor_unhealthy", labels,
                     Condition("monitor_unhealthy", labels, since, details={"reason": reason, **(extra or {})})
                     if since is not None else None)

        def process(p: MonitorHealth, extra: dict[str, str]) -> None:
            if p.snmp_expected and p.started_at is not None:
                late_after = timedelta(seconds=3 * p.snmp_interval_s + 60)
                last = p.snmp_last_round or p.started_at
                judge("snmp_round_late", last + late_after if now - last > late_after else None, extra)
            judge("store_unwritable", p.store_failing_since if not p.store_ok else None, extra)
            growing = len(p.spool_pending) >= 4 and p.spool_pending[-1] > 0 and all(
                b > a for a, b in zip(p.spool_pending, p.spool_pending[1:]))
            judge("spool_growing", now if growing else None, extra)

        if h.shard_health is None:
            process(h, {})
        else:  # a down shard's last word is not judged (its alerts keep their state)
            for shard, p in sorted(h.shard_health.items()):
                process(p, {"shard": shard})
        seen = set()
        for channel, why in sorted(h.flagged_channels.items()):
            seen.add(channel)
            judge("channel_failing", now, {"channel": channel, "error": why[:200]})
        for ch in self._channel_ids:
            if ch not in seen:
                judge("channel_failing", None, {"channel": ch})
        for shard in h.shards:
            judge("shard_down", h.shards_down.get(shard), {"shard": shard})
        for shard, since in sorted(h.shards_foreign.items()):
            judge("shard_count_mismatch", since, {"shard": shard})
