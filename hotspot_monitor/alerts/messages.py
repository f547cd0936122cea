"""What a notification says, in Indonesian or English, short enough for a phone.

Every word lives in :data:`TEXTS` (one dict per language) and every rule's
title in its ``rules`` table, so adding a language or a rule is adding data,
not branches. :func:`render` builds one neutral :class:`_Body` (headline,
labelled facts, a list of alerts, a note) and writes it out twice: plain text
(chat apps, the e-mail's text part) and HTML (the e-mail's HTML part).

Times are local (the config's time zone, with its abbreviation, e.g. WIB);
"how long" is measured against the notification's ``created_at`` so the text
of a message does not depend on when it happens to be retried.
"""
from __future__ import annotations

import html
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, Optional
from urllib.parse import quote

from .notification import AlertView, Notification

MAX_LISTED = 10  # alerts listed one per line in a grouped message; the rest are counted

# Dashboard pages a message links to (paths under ``alerts.dashboard_url``).
DASHBOARD_PATHS = {
    "site": "/sites/{site}",
    "alerts": "/alerts",
}
OSM_URL = "https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=17/{lat:.5f}/{lon:.5f}"

# Rules whose resolution means "was down for ...", and the unit of each rule's value.
DOWN_RULES = frozenset({"ap_down", "site_down", "controller_down", "missing_device"})
RULE_UNITS = {"saturation": "%", "high_cpu": "%", "high_mem": "%", "high_temp": "°C"}
SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}

TEXTS: dict[str, dict[str, Any]] = {
    "id": {
        "severity": {"critical": "KRITIS", "warning": "PERINGATAN", "info": "INFO"},
        "resolved_tag": "PULIH",
        "kind_tag": {"test": "UJI", "escalation": "ESKALASI", "report": "LAPORAN"},
        "rules": {
            "ap_down": "AP mati",
            "site_down": "Lokasi mati",
            "site_down/power_cut": "Listrik padam",
            "controller_down": "Controller mati",
            "flapping": "AP putus-sambung",
            "stale": "Data MQTT terhenti",
            "missing_device": "Perangkat hilang?",
            "saturation": "Uplink padat {value}",
            "silent_ap": "AP tanpa pengguna",
            "high_cpu": "CPU tinggi {value}",
            "high_mem": "Memori tinggi {value}",
            "high_temp": "Suhu tinggi {value}",
            "monitor_unhealthy": "Monitor bermasalah: {reason}",
        },
        "unknown_rule": "Peringatan {rule}",
        # a detail line per rule, shown when every field it names is known
        "extras": {
            "flapping": "{value} kali naik-turun",
            "silent_ap": "biasanya ±{expected} pengguna pada jam ini",
            "saturation": "ambang {threshold}% dari {backhaul_mbps} Mbps",
            "high_cpu": "ambang {threshold}%",
            "high_mem": "ambang {threshold}%",
            "high_temp": "ambang {threshold} °C",
            "monitor_unhealthy": "{error}",
        },
        "details": "Keterangan",
        "reasons": {
            "snmp_round_late": "putaran SNMP terlambat",
            "store_unwritable": "penyimpanan data tidak bisa ditulis",
            "spool_growing": "antrean spool terus bertambah",
            "channel_failing": "kanal {channel} gagal mengirim",
            "shard_down": "shard {shard} mati: AP-nya tidak terpantau",
            "shard_count_mismatch": "shard {shard} berjalan dengan jumlah shard lain",
        },
        "count_firing": "{n} aktif",
        "count_resolved": "{n} pulih",
        "place": "Lokasi",
        "district": "Kec. {district}",
        "ap": "AP {ap}",
        "controller": "Controller {controller}",
        "sites": "{n} lokasi",
        "monitor": "hotspot-monitor",
        "since": "Sejak",
        "since_ago": "{time} ({ago} lalu)",
        "resolved": "Pulih",
        "down_for": "mati {duration}",
        "lasted": "berlangsung {duration}",
        "aps_down": "AP mati",
        "aps_down_value": "{down} dari {total}",
        "unseen_for": "Tidak terlihat",
        "acked": "Ditangani",
        "map": "Peta",
        "dashboard": "Dasbor",
        "line_since": "sejak {time}",
        "line_resolved": "pulih {time}, {how}",
        "more": "… dan {n} lainnya",
        "note": {
            "test": "Ini pesan uji dari hotspot-monitor, bukan gangguan nyata.",
            "escalation": "Belum ditanggapi: diteruskan ke jalur berikutnya.",
        },
        "units": {"d": "hari", "h": "jam", "m": "menit", "s": "detik"},
        "months": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
        "decimal": ",",
    },
    "en": {
        "severity": {"critical": "CRITICAL", "warning": "WARNING", "info": "INFO"},
        "resolved_tag": "RESOLVED",
        "kind_tag": {"test": "TEST", "escalation": "ESCALATED", "report": "REPORT"},
        "rules": {
            "ap_down": "AP down",
            "site_down": "Site down",
            "site_down/power_cut": "Power cut",
            "controller_down": "Controller down",
            "flapping": "AP flapping",
            "stale": "MQTT data stopped",
            "missing_device": "Device missing?",
            "saturation": "Uplink saturated {value}",
            "silent_ap": "AP without clients",
            "high_cpu": "High CPU {value}",
            "high_mem": "High memory {value}",
            "high_temp": "High temperature {value}",
            "monitor_unhealthy": "Monitor unhealthy: {reason}",
        },
        "unknown_rule": "Alert {rule}",
        "extras": {
            "flapping": "{value} state changes",
            "silent_ap": "usually ~{expected} clients at this hour",
            "saturation": "threshold {threshold}% of {backhaul_mbps} Mbps",
            "high_cpu": "threshold {threshold}%",
            "high_mem": "threshold {threshold}%",
            "high_temp": "threshold {threshold} °C",
            "monitor_unhealthy": "{error}",
        },
        "details": "Details",
        "reasons": {
            "snmp_round_late": "SNMP round late",
            "store_unwritable": "data store not writable",
            "spool_growing": "spool keeps growing",
            "channel_failing": "channel {channel} failing",
            "shard_down": "shard {shard} down: its APs are unmonitored",
            "shard_count_mismatch": "shard {shard} runs with another shard count",
        },
        "count_firing": "{n} firing",
        "count_resolved": "{n} resolved",
        "place": "Site",
        "district": "{district} district",
        "ap": "AP {ap}",
        "controller": "controller {controller}",
        "sites": "{n} sites",
        "monitor": "hotspot-monitor",
        "since": "Since",
        "since_ago": "{time} ({ago} ago)",
        "resolved": "Resolved",
        "down_for": "down {duration}",
        "lasted": "lasted {duration}",
        "aps_down": "APs down",
        "aps_down_value": "{down} of {total}",
        "unseen_for": "Not seen for",
        "acked": "Acknowledged by",
        "map": "Map",
        "dashboard": "Dashboard",
        "line_since": "since {time}",
        "line_resolved": "resolved {time}, {how}",
        "more": "… and {n} more",
        "note": {
            "test": "This is a test message from hotspot-monitor, not a real outage.",
            "escalation": "Not acknowledged: escalated to the next route.",
        },
        "units": {"d": "d", "h": "h", "m": "min", "s": "s"},
        "months": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        "decimal": ".",
    },
}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # plain text; its first line is the subject (chat apps show only this)
    html: str


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    url: Optional[str] = None


@dataclass
class _Body:
    subject: str
    facts: list[Fact] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    note: Optional[str] = None


class _Blank(dict):
    """``format_map`` source that leaves a missing field empty instead of raising."""

    def __missing__(self, key: str) -> str:
        return ""


def texts(language: str) -> dict[str, Any]:
    """The word table of ``language`` (unknown languages fall back to Indonesian)."""
    return TEXTS.get(language, TEXTS["id"])


def render(notification: Notification, language: str = "id", tz: tzinfo = timezone.utc) -> Message:
    """The message for ``notification`` in ``language`` with local times in ``tz``."""
    t = texts(language)
    body = _single(notification, t, tz) if len(notification.alerts) == 1 else _group(notification, t, tz)
    note = t["note"].get(notification.kind)
    if note:
        body.note = note
    return Message(subject=body.subject, text=_as_text(body), html=_as_html(body))


def alert_title(alert: AlertView, language: str = "id") -> str:
    """``AP mati``, ``CPU tinggi 93%``, ``Listrik padam``: what happened, in a few words."""
    return _title(alert, texts(language))


def _title(alert: AlertView, t: dict[str, Any]) -> str:
    rules = t["rules"]
    cause = alert.details.get("cause")
    template = rules.get(f"{alert.rule}/{cause}") or rules.get(alert.rule)
    ctx = _Blank(value=_value(alert, t), rule=alert.rule.replace("_", " "),
                 channel=str(alert.details.get("channel") or alert.labels.get("channel") or ""),
                 shard=str(alert.labels.get("shard") or ""))
    reason = alert.details.get("reason") or alert.labels.get("reason")
    if reason is not None:
        ctx["reason"] = t["reasons"].get(str(reason), str(reason).replace("_", " ")).format_map(ctx)
    if template is None:
        template = t["unknown_rule"] + (" {value}" if alert.value is not None else "")
    return " ".join(template.format_map(ctx).split()).rstrip(":")


def alert_line(alert: AlertView, language: str = "id", tz: tzinfo = timezone.utc,
               now: Optional[datetime] = None) -> str:
    """One line for an alert: title, where, since when (or how it ended)."""
    t = texts(language)
    now = now or datetime.now(timezone.utc)
    return _line(alert, t, tz, now, with_site=True)


# -- building the body ------------------------------------------------------------

def _single(n: Notification, t: dict[str, Any], tz: tzinfo) -> _Body:
    a = n.alerts[0]
    where = _where(a, t)
    subject = f"{_tags(n, t, [a])} {_title(a, t)} · {where}"
    body = _Body(subject=subject)
    place = _place(a, t)
    if place:
        body.facts.append(Fact(t["place"], place))
    if a.status == "resolved":
        end = a.ends_at or n.created_at
        body.facts.append(Fact(t["resolved"], f"{_time(end, n.created_at, t, tz)}, {_how_long(a, end, t)}"))
    else:
        ago = _duration((n.created_at - a.starts_at).total_seconds(), t)
        body.facts.append(Fact(t["since"], t["since_ago"].format(
            time=_time(a.starts_at, n.created_at, t, tz), ago=ago)))
        if a.rule == "missing_device" and a.details.get("down_s") is not None:
            body.facts.append(Fact(t["unseen_for"], _duration(float(a.details["down_s"]), t)))
    down, total = a.details.get("aps_down"), a.details.get("aps_total")
    if down is not None and total is not None:
        body.facts.append(Fact(t["aps_down"], t["aps_down_value"].format(down=down, total=total)))
    extra = _extra(a, t)
    if extra:
        body.facts.append(Fact(t["details"], extra))
    if a.acked_by:
        body.facts.append(Fact(t["acked"], a.acked_by))
    body.facts.extend(_links(n, [a], t))
    return body


def _extra(a: AlertView, t: dict[str, Any]) -> str:
    """The rule's detail line, if every field it names is known."""
    template = t["extras"].get(a.rule)
    if not template:
        return ""
    known: dict[str, Any] = {**a.details, "value": a.value}
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    if any(known.get(f) in (None, "") for f in names):
        return ""
    return template.format(**{f: _num(known[f], t) for f in names})


def _group(n: Notification, t: dict[str, Any], tz: tzinfo) -> _Body:
    firing, resolved = n.firing, n.resolved
    counts = []
    if firing:
        counts.append(t["count_firing"].format(n=len(firing)))
    if resolved:
        counts.append(t["count_resolved"].format(n=len(resolved)))
    sites = {a.labels.get("site") for a in n.alerts}
    where = _where(n.alerts[0], t, site_only=True) if len(sites) == 1 else t["sites"].format(n=len(sites))
    subject = f"{_tags(n, t, n.alerts)} {', '.join(counts)} · {where}"
    body = _Body(subject=subject)
    if len(sites) == 1:
        place = _place(n.alerts[0], t, site_only=True)
        if place:
            body.facts.append(Fact(t["place"], place))
    ordered = sorted(firing, key=lambda a: (-SEVERITY_ORDER.get(a.severity, 0), a.starts_at)) + \
        sorted(resolved, key=lambda a: a.ends_at or a.starts_at)
    for a in ordered[:MAX_LISTED]:
        body.items.append(_line(a, t, tz, n.created_at, with_site=len(sites) > 1))
    if len(ordered) > MAX_LISTED:
        body.items.append(t["more"].format(n=len(ordered) - MAX_LISTED))
    body.facts.extend(_links(n, n.alerts if len(sites) == 1 else [], t))
    return body


def _line(a: AlertView, t: dict[str, Any], tz: tzinfo, now: datetime, *, with_site: bool) -> str:
    parts = [_title(a, t)]
    detail = _where(a, t) if with_site else _device(a, t)
    if detail:
        parts.append(detail)
    if a.status == "resolved":
        end = a.ends_at or now
        when = t["line_resolved"].format(time=_time(end, now, t, tz), how=_how_long(a, end, t))
        return "✓ " + " · ".join(parts + [when])
    return "• " + " · ".join(parts + [t["line_since"].format(time=_time(a.starts_at, now, t, tz))])


def _tags(n: Notification, t: dict[str, Any], alerts: list[AlertView]) -> str:
    tags = []
    kind = t["kind_tag"].get(n.kind)
    if kind:
        tags.append(f"[{kind}]")
    if all(a.status == "resolved" for a in alerts):
        tags.append(f"[{t['resolved_tag']}]")
    else:
        worst = max((a for a in alerts if a.status == "firing"),
                    key=lambda a: SEVERITY_ORDER.get(a.severity, 0))
        tags.append(f"[{t['severity'].get(worst.severity, worst.severity.upper())}]")
    return " ".join(tags)


def _where(a: AlertView, t: dict[str, Any], site_only: bool = False) -> str:
    """Short place for a subject: site name, plus the AP or controller."""
    site = a.labels.get("site_name") or a.labels.get("site")
    device = None if site_only else _device(a, t)
    if site and device:
        return f"{site} ({device})"
    return site or device or (t["district"].format(district=a.labels["district"])
                              if a.labels.get("district") else t["monitor"])


def _device(a: AlertView, t: dict[str, Any]) -> str:
    if a.labels.get("ap"):
        return t["ap"].format(ap=a.labels["ap"])
    if a.labels.get("controller"):
        return t["controller"].format(controller=a.labels["controller"])
    return ""


def _place(a: AlertView, t: dict[str, Any], site_only: bool = False) -> str:
    """Longer place for the body: site name, district, AP."""
    parts = []
    site = a.labels.get("site_name") or a.labels.get("site")
    if site:
        parts.append(site)
    if a.labels.get("district"):
        parts.append(t["district"].format(district=a.labels["district"]))
    if not site_only:
        device = _device(a, t)
        if device:
            parts.append(device)
    return ", ".join(parts)


def _links(n: Notification, alerts: list[AlertView], t: dict[str, Any]) -> list[Fact]:
    out = []
    base = (n.dashboard_url or "").rstrip("/")
    site = alerts[0].labels.get("site") if alerts else None
    if base and site:
        out.append(Fact(t["map"], "", base + DASHBOARD_PATHS["site"].format(site=quote(site, safe=""))))
    elif alerts:
        lat, lon = alerts[0].details.get("lat"), alerts[0].details.get("lon")
        if lat is not None and lon is not None:
            out.append(Fact(t["map"], "", OSM_URL.format(lat=float(lat), lon=float(lon))))
    if base:
        out.append(Fact(t["dashboard"], "", base + DASHBOARD_PATHS["alerts"]))
    return out


# -- numbers, times, durations ---------------------------------------------------------

def _num(v: Any, t: dict[str, Any]) -> str:
    """A number with at most one decimal, in the language's notation (85,5 / 85.5)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return " ".join(str(v).split())
    return f"{float(v):.1f}".rstrip("0").rstrip(".").replace(".", t["decimal"])


def _value(a: AlertView, t: dict[str, Any]) -> str:
    if a.value is None:
        return ""
    unit = str(a.details.get("unit") or RULE_UNITS.get(a.rule, ""))
    v = _num(a.value, t)
    if not unit:
        return v
    return f"{v}{unit}" if unit == "%" else f"{v} {unit}"


def _time(at: datetime, now: datetime, t: dict[str, Any], tz: tzinfo) -> str:
    """``14:05 WIB`` on the day of ``now``, else ``25 Nov 14:05 WIB`` (local)."""
    local, today = at.astimezone(tz), now.astimezone(tz)
    hm = f"{local:%H:%M} {local.tzname()}"
    if local.date() == today.date():
        return hm
    return f"{local.day} {t['months'][local.month - 1]} {hm}"


def _duration(seconds: float, t: dict[str, Any]) -> str:
    """The two largest units: ``2 hari 3 jam``, ``1 h 20 min``, ``45 s``."""
    s = max(0, int(round(seconds)))
    u = t["units"]
    parts = []
    for key, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            parts.append(f"{s // size} {u[key]}")
            s %= size
        elif parts:
            break
        if len(parts) == 2:
            break
    if not parts:
        parts.append(f"{s} {u['s']}")
    return " ".join(parts[:2])


def _how_long(a: AlertView, end: datetime, t: dict[str, Any]) -> str:
    down_s = a.details.get("down_s")
    seconds = float(down_s) if down_s is not None else (end - a.starts_at).total_seconds()
    key = "down_for" if a.rule in DOWN_RULES else "lasted"
    return t[key].format(duration=_duration(seconds, t))


# -- writing it out --------------------------------------------------------------------------

def _as_text(b: _Body) -> str:
    lines = [b.subject]
    lines += [f"{f.label}: {f.value}" for f in b.facts if not f.url]
    lines += b.items
    lines += [f"{f.label}: {f.url}" for f in b.facts if f.url]
    if b.note:
        lines.append(b.note)
    return "\n".join(lines)


def _as_html(b: _Body) -> str:
    e = html.escape
    rows = "".join(f"<tr><th align=\"left\">{e(f.label)}</th><td>{e(f.value)}</td></tr>"
                   for f in b.facts if not f.url)
    items = "".join(f"<li>{e(i.removeprefix('• '))}</li>" for i in b.items)
    links = " · ".join(f"<a href=\"{e(f.url, quote=True)}\">{e(f.label)}</a>" for f in b.facts if f.url)
    parts = [f"<p><strong>{e(b.subject)}</strong></p>"]
    if rows:
        parts.append(f"<table cellpadding=\"2\">{rows}</table>")
    if items:
        parts.append(f"<ul>{items}</ul>")
    if links:
        parts.append(f"<p>{links}</p>")
    if b.note:
        parts.append(f"<p><em>{e(b.note)}</em></p>")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>"
            "<body style=\"font-family:sans-serif\">" + "".join(parts) + "</body></html>")
