"""What the partner receives when operators forward a ticket: the monitor's evidence.

Site, the APs of the site with their state (the ones down are the affected
ones), the outage (start, duration so far), availability over the last days
from the outage log, and the citizens' reports (what, when, their words; never
their contact). One record, rendered as JSON (webhook, stored with the
forward) and as a text/HTML mail in the channel's language.
"""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Iterable, Optional

from ..config.models import Config
from ..sample import utc
from ..status.availability import availability
from ..status.engine import ApRow
from ..status.statestore import Outage, StateStore
from .desk import Ticket

AVAILABILITY_DAYS = 7


@dataclass(frozen=True, slots=True)
class ApEvidence:
    ap: str
    state: str
    since: Optional[str]
    reason: Optional[str]


@dataclass(frozen=True, slots=True)
class ReportEvidence:
    problem: str
    noticed_at: str
    received_at: str
    text: str


@dataclass(frozen=True, slots=True)
class Evidence:
    ticket: int
    site: str
    site_name: str
    district: Optional[str]
    lat: float
    lon: float
    generated_at: str
    aps: list[ApEvidence]
    affected_aps: list[str]
    outage_id: Optional[int]
    outage_start: Optional[str]
    outage_open: Optional[bool]
    outage_duration_s: Optional[int]  # so far, while open
    availability_days: int
    availability_pct: Optional[float]
    downtime_s: Optional[float]
    reports: list[ReportEvidence]

    def to_dict(self) -> dict:
        return asdict(self)


def _iso(t: Optional[datetime]) -> Optional[str]:
    return utc(t).isoformat() if t is not None else None


def build_evidence(cfg: Config, states: StateStore, ticket: Ticket, rows: Iterable[ApRow],
                   outage: Optional[Outage], now: datetime) -> Evidence:
    """``rows``: the status engine's AP rows (any; the site's are kept)."""
    site = cfg.site(ticket.site)
    aps = [ApEvidence(r.ap, r.state, _iso(r.since), r.reason) for r in rows if r.site == site.id]
    aps.sort(key=lambda a: a.ap)
    a = availability(states, cfg, start=now - timedelta(days=AVAILABILITY_DAYS), end=now, site=site.id)
    dur = None
    if outage is not None:
        dur = round(outage.duration_s if outage.duration_s is not None else (now - outage.start).total_seconds())
    return Evidence(
        ticket=ticket.id, site=site.id, site_name=site.name, district=site.district, lat=site.lat, lon=site.lon,
        generated_at=utc(now).isoformat(), aps=aps, affected_aps=[x.ap for x in aps if x.state == "down"],
        outage_id=outage.id if outage else None, outage_start=_iso(outage.start) if outage else None,
        outage_open=(outage.end is None) if outage else None, outage_duration_s=dur,
        availability_days=AVAILABILITY_DAYS,
        availability_pct=None if a.availability_pct is None else round(a.availability_pct, 3),
        downtime_s=round(a.downtime_s, 3) if a.monitored_s else None,
        reports=[ReportEvidence(r.problem, utc(r.noticed_at).isoformat(), utc(r.created_at).isoformat(), r.text)
                 for r in ticket.reports])


WORDS = {
    "en": {"subject": "Citizens report a Wi-Fi problem at {site} (ticket #{ticket})",
           "intro": "Citizens reported a problem with the free public Wi-Fi. The monitor's evidence:",
           "site": "Site", "district": "Kecamatan", "aps": "Access points", "affected": "Affected APs (down)",
           "none": "none", "outage": "Outage", "started": "started", "so_far": "duration so far",
           "lasted": "lasted", "no_outage": "no outage in the monitor's log for this ticket",
           "avail": "Availability, last {days} days", "reports": "Citizens' reports",
           "noticed": "noticed", "received": "received", "generated": "Generated",
           "problems": {"no_signal": "no signal", "cannot_connect": "cannot connect", "slow": "slow",
                        "login_page": "login page", "other": "other"}},
    "id": {"subject": "Warga melaporkan gangguan Wi-Fi di {site} (tiket #{ticket})",
           "intro": "Warga melaporkan gangguan Wi-Fi publik gratis. Bukti dari sistem pemantauan:",
           "site": "Lokasi", "district": "Kecamatan", "aps": "Access point", "affected": "AP terdampak (mati)",
           "none": "tidak ada", "outage": "Gangguan", "started": "mulai", "so_far": "durasi sejauh ini",
           "lasted": "berlangsung", "no_outage": "tidak ada gangguan di log pemantauan untuk tiket ini",
           "avail": "Ketersediaan, {days} hari terakhir", "reports": "Laporan warga",
           "noticed": "dialami", "received": "diterima", "generated": "Dibuat",
           "problems": {"no_signal": "tidak ada sinyal", "cannot_connect": "tidak bisa tersambung",
                        "slow": "lambat", "login_page": "halaman login", "other": "lainnya"}},
}


def _local(iso: Optional[str], cfg: Config) -> str:
    if iso is None:
        return "–"
    return datetime.fromisoformat(iso).astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M %Z")


def _dur(s: int) -> str:
    h, rest = divmod(int(s), 3600)
    m, sec = divmod(rest, 60)
    return f"{h}h {m:02d}m {sec:02d}s" if h else f"{m}m {sec:02d}s"


def subject(ev: Evidence, language: str) -> str:
    return WORDS[language]["subject"].format(site=ev.site_name, ticket=ev.ticket)


def text(ev: Evidence, cfg: Config, language: str) -> str:
    """The plain-text mail body."""
    w = WORDS[language]
    lines = [w["intro"], "",
             f"{w['site']}: {ev.site_name} ({ev.site}), {ev.lat:.5f}, {ev.lon:.5f}",
             f"{w['district']}: {ev.district or '–'}",
             f"{w['aps']}: " + ", ".join(f"{a.ap} ({a.state})" for a in ev.aps),
             f"{w['affected']}: " + (", ".join(ev.affected_aps) or w["none"])]
    if ev.outage_start is None:
        lines.append(f"{w['outage']}: {w['no_outage']}")
    else:
        how = w["so_far"] if ev.outage_open else w["lasted"]
        lines.append(f"{w['outage']} #{ev.outage_id}: {w['started']} {_local(ev.outage_start, cfg)}, "
                     f"{how} {_dur(ev.outage_duration_s or 0)}")
    pct = "–" if ev.availability_pct is None else f"{ev.availability_pct:.3f} %"
    lines += [f"{w['avail'].format(days=ev.availability_days)}: {pct}", "", f"{w['reports']} ({len(ev.reports)}):"]
    for r in ev.reports:
        words = f": {r.text}" if r.text else ""
        lines.append(f"- {w['problems'].get(r.problem, r.problem)}, {w['noticed']} {_local(r.noticed_at, cfg)}, "
                     f"{w['received']} {_local(r.received_at, cfg)}{words}")
    lines += ["", f"{w['generated']}: {_local(ev.generated_at, cfg)}"]
    return "\n".join(lines)


def html_body(ev: Evidence, cfg: Config, language: str) -> str:
    """The HTML alternative: the same lines, escaped."""
    return "<pre style=\"font-family:sans-serif;white-space:pre-wrap\">" + html.escape(text(ev, cfg, language)) + "</pre>"
