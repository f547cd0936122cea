"""The alert lifecycle and the noise control around it (Alertmanager's model).

Every evaluation (:meth:`AlertManager.process`) takes the rules' verdicts
and, in one transaction of the state store:

1. **Lifecycle.** A new condition opens an alert ``pending``; it turns
   ``firing`` once the condition held for the rule's ``for`` (measured from
   when the condition began, e.g. the outage start), unless the site is
   outside its service hours. A condition judged gone resolves a firing
   alert (a pending one is dropped). An alert whose subject was not judged
   keeps its state: no data is no recovery.
2. **Suppression** of firing alerts: silences, maintenance windows,
   inhibition (a site down or power cut mutes its APs' alerts, a controller
   down mutes its APs'), and outside service hours.
3. **Notification** per route and group (``group_by``, default the site):
   the first after ``group_wait``, changes at most every
   ``group_interval``, unchanged unacknowledged firing groups again after
   ``repeat_interval``; resolved alerts go out once. Messages go to the
   outbox in the same transaction that records them as sent, so a restart
   neither repeats nor loses one.
4. **Escalation**: firing, unacknowledged for ``escalate_after``: once to the
   route's ``escalate_to`` channels.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from ..config.models import WEEKDAYS, Config
from ..sample import utc
from .config import AlertsSettings, Route, TimeWindow
from .notification import AlertView, Notification
from .outbox import enqueue
from .rules import DEFAULTS, Condition, Evaluation, RuleBook
from .silences import Silence, SilenceStore, Weekly
from .tables import AlertRow, GroupRow, create_tables

AP_RULES = frozenset({"ap_down", "missing_device", "flapping", "stale", "silent_ap",
                      "high_cpu", "high_mem", "high_temp"})
CLOSED_MUTES = frozenset({"ap_down", "site_down"})


@dataclass
class Alert:
    id: int
    fingerprint: str
    rule: str
    severity: str
    labels: dict[str, str]
    details: dict[str, Any]
    value: Optional[float]
    state: str
    starts_at: datetime
    fired_at: Optional[datetime] = None
    ends_at: Optional[datetime] = None
    suppressed: Optional[str] = None
    acked_at: Optional[datetime] = None
    acked_by: Optional[str] = None
    ack_comment: Optional[str] = None
    escalated_at: Optional[datetime] = None

    @classmethod
    def from_row(cls, r: Any) -> "Alert":
        d = dict(r)
        d["labels"] = json.loads(d["labels"])
        d["details"] = json.loads(d["details"] or "{}")
        return cls(**d)

    def view(self, status: Optional[str] = None) -> AlertView:
        return AlertView(self.fingerprint, self.rule, self.severity,
                         status or ("firing" if self.state == "firing" else "resolved"),
                         self.starts_at, self.ends_at, dict(self.labels), self.value,
                         dict(self.details), self.acked_by)


@dataclass
class ProcessResult:
    opened: int = 0
    fired: int = 0
    resolved: int = 0
    notifications: int = 0
    escalations: int = 0
    firing: list[Alert] = field(default_factory=list)


class AlertManager:
    def __init__(self, cfg: Config, settings: AlertsSettings, engine: Engine,
                 silences: Optional[SilenceStore] = None):
        self.cfg = cfg
        self.settings = settings
        self.engine = engine
        create_tables(engine)
        self.book = RuleBook(settings)
        self.silences = silences or SilenceStore(engine, cfg, settings)
        self.routes = _routes(settings)
        self._ap_ids = {a.id for a in cfg.aps}
        self._site_ids = {s.id for s in cfg.sites}
        self._controller_ids = {c.id for c in cfg.controllers}
        self._channel_cfg = {c.id: c for c in settings.channels}

    # -- evaluation -------------------------------------------------------------------
    def process(self, now: datetime, ev: Evaluation) -> ProcessResult:
        now = utc(now)
        res = ProcessResult()
        conds = {c.fingerprint: c for c in ev.conditions}
        silences = self.silences.active(now)
        with self.engine.begin() as c:
            active = {a.fingerprint: a for a in self._load(c, ("pending", "firing"))}
            self._lifecycle(c, now, conds, ev.checked, active, res)
            firing = [a for a in active.values() if a.state == "firing"]
            self._suppress(c, now, firing, conds, silences)
            res.firing = firing
            res.notifications += self._notify(c, now, firing)
            res.escalations += self._escalate(c, now, firing)
        return res

    def _lifecycle(self, c: Connection, now: datetime, conds: dict[str, Condition],
                   checked: set[str], active: dict[str, Alert], res: ProcessResult) -> None:
        t = AlertRow.__table__
        for fp, cond in conds.items():
            eff = self.book.get(cond.rule, cond.labels)
            a = active.get(fp)
            if a is None:
                a = Alert(0, fp, cond.rule, eff.severity, dict(cond.labels), dict(cond.details),
                          cond.value, "pending", utc(cond.since))
                a.id = int(c.execute(insert(t).values(
                    fingerprint=fp, rule=a.rule, severity=a.severity, labels=_j(a.labels),
                    details=_j(a.details), value=a.value, state="pending",
                    starts_at=a.starts_at)).inserted_primary_key[0])
                active[fp] = a
                res.opened += 1
            a.labels, a.details, a.value, a.severity = dict(cond.labels), dict(cond.details), \
                cond.value, eff.severity
            if a.state == "pending" and not cond.closed and now - a.starts_at >= timedelta(seconds=eff.for_s):
                a.state, a.fired_at = "firing", now
                res.fired += 1
            c.execute(update(t).where(t.c.id == a.id).values(
                labels=_j(a.labels), details=_j(a.details), value=a.value, severity=a.severity,
                state=a.state, fired_at=a.fired_at))
        for fp, a in list(active.items()):
            if fp in conds:
                continue
            if fp not in checked and self._subject_exists(a):
                continue  # not judged this time: keep the alert as it is
            if a.state == "pending":
                c.execute(delete(t).where(t.c.id == a.id))
            else:
                a.state, a.ends_at = "resolved", now
                c.execute(update(t).where(t.c.id == a.id).values(state="resolved", ends_at=now))
                res.resolved += 1
            del active[fp]

    def _subject_exists(self, a: Alert) -> bool:
        """An alert about an AP, site or controller no longer in the inventory (or a
        rule now disabled for it) resolves instead of waiting for a verdict forever."""
        if a.rule not in DEFAULTS or not self.book.get(a.rule, a.labels).enabled:
            return False
        ap, site, ctrl = a.labels.get("ap"), a.labels.get("site"), a.labels.get("controller")
        if ap is not None:
            return ap in self._ap_ids
        if a.rule == "controller_down":
            return ctrl in self._controller_ids
        if site is not None:
            return site in self._site_ids
        return True

    def _suppress(self, c: Connection, now: datetime, firing: list[Alert], conds: dict[str, Condition],
                  silences: list[Silence]) -> None:
        down_sites = {x.labels["site"] for x in conds.values() if x.rule == "site_down"}
        down_ctrls = {x.labels["controller"] for x in conds.values() if x.rule == "controller_down"}
        t = AlertRow.__table__
        for a in firing:
            why = None
            cond = conds.get(a.fingerprint)
            for s in silences:
                if s.matches(a.rule, a.labels):
                    why = f"{s.kind}:{s.id}"
                    break
            if why is None and a.rule in AP_RULES and a.labels.get("site") in down_sites:
                why = "inhibited:site_down"
            if why is None and a.rule in AP_RULES and a.labels.get("controller") in down_ctrls:
                why = "inhibited:controller_down"
            if why is None and cond is not None and cond.closed and a.rule in CLOSED_MUTES:
                why = "outside_service_hours"
            if why != a.suppressed:
                a.suppressed = why
                c.execute(update(t).where(t.c.id == a.id).values(suppressed=why))

    # -- routing and grouping -------------------------------------------------------------
    def _routes_for(self, a: Alert, now: datetime) -> list[tuple[str, Route]]:
        out = []
        for rid, r in self.routes:
            if _route_matches(r, a) and (r.when is None or Weekly.from_window(r.when).active(now, self.cfg.tz)):
                out.append((rid, r))
                if not r.continue_:
                    break
        return out

    def _notify(self, c: Connection, now: datetime, firing: list[Alert]) -> int:
        gt = GroupRow.__table__
        groups: dict[tuple[str, str], tuple[Route, dict[str, str], list[Alert]]] = {}
        for a in firing:
            if a.suppressed:
                continue
            for rid, r in self._routes_for(a, now):
                labels = {k: a.labels.get(k, "") for k in r.group_by}
                key = (rid, _group_key(rid, labels))
                groups.setdefault(key, (r, labels, []))[2].append(a)
        rows = {(g.route, g.group_key): g for g in c.execute(select(gt)).all()}
        route_cfg = dict(self.routes)
        sent = 0
        for rid, gkey in sorted(set(groups) | set(rows)):
            row = rows.get((rid, gkey))
            r = route_cfg.get(rid)
            if r is None:  # the route is gone from the config
                c.execute(delete(gt).where(gt.c.id == row.id))
                continue
            if (rid, gkey) in groups:
                _, labels, members = groups[(rid, gkey)]
            else:
                labels, members = json.loads(row.labels), []
            fire = {a.fingerprint: a for a in members}
            if row is None:
                gid = int(c.execute(insert(gt).values(route=rid, group_key=gkey, labels=_j(labels),
                                                      first_seen=now, last_sent=None,
                                                      sent_firing="[]")).inserted_primary_key[0])
                first_seen, last_sent, before = now, None, set()
            else:
                gid, first_seen, last_sent = row.id, row.first_seen, row.last_sent
                before = set(json.loads(row.sent_firing))
            gone = before - set(fire)
            resolved = self._resolved(c, gone) if gone else {}
            muted = gone - set(resolved)  # still active but muted, or pending again: no message
            new = set(fire) - before
            if last_sent is None:
                due = bool(fire) and now >= first_seen + timedelta(seconds=r.group_wait)
            elif new or resolved:
                due = now >= last_sent + timedelta(seconds=r.group_interval)
            else:
                due = any(a.acked_at is None for a in fire.values()) and \
                    now >= last_sent + timedelta(seconds=r.repeat_interval)
            after = before - muted
            if due:
                views = [a.view("firing") for a in sorted(fire.values(), key=_order)] + \
                        [a.view("resolved") for a in sorted(resolved.values(), key=_order)]
                sent += self._send(c, now, r.channels, gkey, labels, views, "alert")
                after, last_sent = set(fire), now
            if not fire and not after:
                c.execute(delete(gt).where(gt.c.id == gid))  # idle: the next episode waits again
            elif after != before or due:
                c.execute(update(gt).where(gt.c.id == gid).values(last_sent=last_sent,
                                                                  sent_firing=_j(sorted(after))))
        return sent

    def _resolved(self, c: Connection, fps: Iterable[str]) -> dict[str, Alert]:
        """The latest episode of each fingerprint, if it is resolved."""
        t = AlertRow.__table__
        out: dict[str, Alert] = {}
        for r in c.execute(select(t).where(t.c.fingerprint.in_(list(fps)))
                           .order_by(t.c.starts_at, t.c.id)).mappings():
            a = Alert.from_row(r)
            out[a.fingerprint] = a
        return {fp: a for fp, a in out.items() if a.state == "resolved"}

    def _send(self, c: Connection, now: datetime, channels: list[str], gkey: str,
              labels: dict[str, str], views: list[AlertView], kind: str) -> int:
        n = 0
        for ch in channels:
            cfg = self._channel_cfg.get(ch)
            mine = [v for v in views if not (v.rule == "monitor_unhealthy"
                                             and v.labels.get("channel") == ch)]
            # an MQTT channel always gets the resolution: it clears the retained alert
            if not mine or (cfg is not None and not cfg.send_resolved and cfg.type != "mqtt"
                            and all(v.status == "resolved" for v in mine)):
                continue
            status = "firing" if any(v.status == "firing" for v in mine) else "resolved"
            enqueue(c, Notification(ch, gkey, status, mine, now, kind=kind,
                                    dashboard_url=self.settings.dashboard_url, group_labels=labels))
            n += 1
        return n

    def _escalate(self, c: Connection, now: datetime, firing: list[Alert]) -> int:
        t = AlertRow.__table__
        n = 0
        for a in firing:
            if a.suppressed or a.acked_at is not None or a.escalated_at is not None or a.fired_at is None:
                continue
            for rid, r in self._routes_for(a, now):
                if r.escalate_after is None or not r.escalate_to:
                    continue
                if now - a.fired_at >= timedelta(seconds=r.escalate_after):
                    labels = {k: a.labels.get(k, "") for k in r.group_by}
                    n += self._send(c, now, r.escalate_to, _group_key(rid, labels) + "|escalation",
                                    labels, [a.view("firing")], "escalation")
                    a.escalated_at = now
                    c.execute(update(t).where(t.c.id == a.id).values(escalated_at=now))
                    break
        return n

    # -- queries and operator actions ------------------------------------------------------
    def _load(self, c: Connection, states: tuple[str, ...]) -> list[Alert]:
        t = AlertRow.__table__
        return [Alert.from_row(r) for r in
                c.execute(select(t).where(t.c.state.in_(states)).order_by(t.c.starts_at, t.c.id)).mappings()]

    def alerts(self, *, states: tuple[str, ...] = ("pending", "firing"), since: Optional[datetime] = None,
               limit: int = 500) -> list[Alert]:
        """Alerts in ``states`` (resolved ones ended after ``since``), newest first."""
        t = AlertRow.__table__
        q = select(t).where(t.c.state.in_(states))
        if since is not None:
            q = q.where((t.c.ends_at.is_(None)) | (t.c.ends_at >= since))
        q = q.order_by(t.c.starts_at.desc(), t.c.id.desc()).limit(limit)
        with self.engine.connect() as c:
            return [Alert.from_row(r) for r in c.execute(q).mappings()]

    def ack(self, alert_id: int, *, by: str, comment: str, now: datetime) -> bool:
        """Acknowledge a firing alert: no repeats, no escalation. False if not firing."""
        if not by.strip():
            raise ValueError("an acknowledgement needs a name")
        t = AlertRow.__table__
        with self.engine.begin() as c:
            return c.execute(update(t).where(and_(t.c.id == alert_id, t.c.state == "firing",
                                                  t.c.acked_at.is_(None)))
                             .values(acked_at=utc(now), acked_by=by, ack_comment=comment)).rowcount == 1


def _routes(settings: AlertsSettings) -> list[tuple[str, Route]]:
    routes = list(settings.routes)
    if not routes and settings.channels:  # channels but no routes: everything to every channel
        routes = [Route(channels=[c.id for c in settings.channels])]
    return [(r.id or f"route{i}", r) for i, r in enumerate(routes)]


def _route_matches(r: Route, a: Alert) -> bool:
    m = r.match
    return ((m.rule is None or a.rule in m.rule)
            and (m.severity is None or a.severity in m.severity)
            and (m.district is None or a.labels.get("district") in m.district)
            and (m.site is None or a.labels.get("site") in m.site))


def _group_key(route_id: str, labels: dict[str, str]) -> str:
    return route_id + "|" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _order(a: Alert) -> tuple:
    return ({"critical": 0, "warning": 1, "info": 2}.get(a.severity, 3), a.starts_at, a.fingerprint)


def _j(x: Any) -> str:
    return json.dumps(x, sort_keys=True, default=str)


__all__ = ["Alert", "AlertManager", "ProcessResult", "TimeWindow", "WEEKDAYS"]
