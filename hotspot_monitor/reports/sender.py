"""Generate and e-mail partners' monthly reports: on schedule (``run``) or by hand.

On the 1st of each month at ``partners[].report.schedule.at`` (local time)
the previous month's report of every partner that has a way to send (an
e-mail channel of ``alerts.channels`` or SMTP settings of its own) falls due.
Each pass creates the due rows, claims what is claimable
(:mod:`.deliveries`), generates the formats the partner wants (PDF + XLSX by
default), keeps them (:mod:`.files`) and mails them to the partner's contacts.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Callable, Optional

from ..alerts.config import EmailChannel, SmtpServer
from ..alerts.notifiers.base import DeliveryError, PermanentError, redact, secret_values
from ..alerts.notifiers.email import Attachment, EmailNotifier, attach
from ..config.models import Config, Partner
from ..status.statestore import StateStore
from ..stores.base import MetricStore
from .build import build_report
from .deliveries import Deliveries, Delivery
from .files import ReportFiles, StoredFile
from .model import Report, fixed3, seconds
from .period import Month, month_label
from .render import MIME, render
from .texts import data_size, decimal_text, duration, texts

log = logging.getLogger(__name__)
MAX_SLEEP_S = 600.0


@dataclass(frozen=True, slots=True)
class Outcome:
    partner: str
    month: str
    result: str  # ok | temporary | permanent | busy (claimed by another worker)
    error: Optional[str] = None
    files: tuple[StoredFile, ...] = ()


def sends(p: Partner) -> bool:
    """The partner's report is e-mailed on schedule."""
    r = p.report
    return r.schedule.enabled and bool(p.contacts) and (r.channel is not None or r.smtp is not None)


def channel_for(cfg: Config, p: Partner) -> EmailChannel:
    """The e-mail channel that carries ``p``'s report, addressed to its contacts."""
    r = p.report
    if r.channel is not None:
        ch = cfg.alerts.channel(r.channel)
        if not isinstance(ch, EmailChannel):
            raise PermanentError(f"channel {r.channel!r} is not an email channel")
        return ch.model_copy(update={"to": list(p.contacts)})
    if r.smtp is None:
        raise PermanentError(f"partner {p.id!r} has no report channel nor smtp settings")
    server = r.smtp.model_dump(include=set(SmtpServer.model_fields))
    return EmailChannel.model_validate({
        "id": f"report-{p.id}", "type": "email", "language": r.language,
        "timeout_s": min(r.smtp.timeout_s, 120), "to": list(p.contacts), **server})


def due_at(cfg: Config, p: Partner, month: Month) -> datetime:
    """When ``month``'s report falls due: the next month's 1st at the scheduled local time."""
    h, m = (int(x) for x in p.report.schedule.at.split(":"))
    nxt = month.next()
    return datetime(nxt.year, nxt.month, 1, h, m, tzinfo=cfg.tz).astimezone(timezone.utc)


class ReportSender:
    def __init__(self, cfg: Config, states: StateStore, store: MetricStore, state_dir: Path,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.cfg = cfg
        self.states = states
        self.store = store
        self.deliveries = Deliveries(states.engine)
        self.files = ReportFiles(state_dir)
        self.clock = clock
        self.token = uuid.uuid4().hex  # this worker

    def partners(self) -> list[Partner]:
        return [p for p in self.cfg.partners if sends(p)]

    # -- generating ------------------------------------------------------------------
    def generate(self, partner: Optional[str], month: Month, formats: list[str], language: str,
                 progress: Optional[Callable[[str], None]] = None) -> tuple[Report, list[StoredFile]]:
        """Build the report, render ``formats`` and keep the files (replacing older ones)."""
        report = build_report(self.cfg, self.states, self.store, month, partner, now=self.clock(),
                              progress=progress)
        kept = []
        for fmt in formats:
            if progress:
                progress(fmt)
            kept.append(self.files.save(report.scope.key, month, fmt, language, render(report, fmt, language)))
        return report, kept

    # -- the schedule --------------------------------------------------------------------
    def run_once(self, now: Optional[datetime] = None) -> list[Outcome]:
        """Create the rows that fell due, then claim and send every claimable one."""
        now = now or self.clock()
        active = {p.id: p for p in self.partners()}
        for p in active.values():
            month = Month.of(now, self.cfg.tz).previous()
            when = due_at(self.cfg, p, month)
            if now >= when:
                self.deliveries.ensure(p.id, str(month), when, now)
        out = []
        for d in self.deliveries.claimable(now):
            p = active.get(d.partner)
            if p is None:
                continue  # a partner removed (or no longer sending) keeps its history
            if d.attempts >= p.report.schedule.max_attempts:
                continue
            mine = self.deliveries.claim(d.id, now, p.report.schedule.claim_timeout_s, self.token)
            if mine is None:
                out.append(Outcome(d.partner, d.month, "busy"))
                continue
            out.append(self._deliver(p, mine, "schedule"))
        return out

    def seconds_to_next(self, now: datetime) -> float:
        """How long ``run`` may sleep: until a row of a sending partner falls due or its
        claim expires, or the next month's reports fall due (at most ``MAX_SLEEP_S``)."""
        active = {p.id: p for p in self.partners()}
        this = Month.of(now, self.cfg.tz)
        times = []
        for p in active.values():  # this month's 1st if still ahead, else the next month's
            first = due_at(self.cfg, p, this.previous())
            times.append(first if first > now else due_at(self.cfg, p, this))
        for d in self.deliveries.open_rows():
            p = active.get(d.partner)
            if p is None or d.attempts >= p.report.schedule.max_attempts:
                continue  # nothing run_once would do with it
            when = d.claim_until if d.state == "claimed" else d.due_at
            if when is not None:
                times.append(when)
        if not times:
            return MAX_SLEEP_S
        return max(0.5, min(MAX_SLEEP_S, min((t - now).total_seconds() for t in times) + 0.5))

    # -- by hand -------------------------------------------------------------------------
    def resend(self, partner_id: str, month: Month, *, trigger: str = "resend",
               by: Optional[str] = None) -> Outcome:
        """Send ``month``'s report again now (an operator's "resend", ``report --send``)."""
        p = next((x for x in self.cfg.partners if x.id == partner_id), None)
        if p is None:
            raise KeyError(partner_id)
        now = self.clock()
        d = self.deliveries.ensure(p.id, str(month), now, now)
        mine = self.deliveries.claim(d.id, now, p.report.schedule.claim_timeout_s, self.token, force=True)
        if mine is None:
            return Outcome(p.id, str(month), "busy", "another worker is sending it right now")
        return self._deliver(p, mine, trigger, by)

    # -- one delivery --------------------------------------------------------------------
    def _deliver(self, p: Partner, d: Delivery, trigger: str, by: Optional[str] = None) -> Outcome:
        t0 = time.monotonic()
        month = Month.parse(d.month)
        settings = p.report
        kept: list[StoredFile] = []
        recipients = list(p.contacts)
        try:
            ch = channel_for(self.cfg, p)
            report, kept = self.generate(p.id, month, list(settings.formats), settings.language)
            mail = self.mail(ch, p, report, kept)
            EmailNotifier(ch, self.cfg).deliver(mail)
            result, error = "ok", None
        except DeliveryError as e:
            result, error = ("permanent" if e.permanent else "temporary"), e.message
        except Exception as e:  # a store down, a rendering bug: try again later, say what
            result, error = "temporary", f"{type(e).__name__}: {e}"
            log.exception("report %s %s could not be generated", p.id, d.month)
        now = self.clock()
        if error is not None:
            error = redact(error, secret_values(p.report.smtp) if p.report.smtp else
                           secret_values(self.cfg.alerts))
        retry_at = None
        if result == "temporary" and d.attempts < settings.schedule.max_attempts:
            retry_at = now + timedelta(seconds=settings.schedule.retry_after_s * 2 ** max(0, d.attempts - 1))
        self.deliveries.finish(d, self.token, now, ok=result == "ok", error=error, retry_at=retry_at)
        self.deliveries.record(d, at=now, trigger=trigger, by=by, result=result, error=error,
                               recipients=recipients, files=[f.describe() for f in kept],
                               duration_ms=round((time.monotonic() - t0) * 1000, 1))
        if result == "ok":
            log.info("report %s %s sent to %s", p.id, d.month, ", ".join(recipients))
        else:
            log.warning("report %s %s not sent (%s): %s", p.id, d.month, result, error)
        return Outcome(p.id, d.month, result, error, tuple(kept))

    def mail(self, ch: EmailChannel, p: Partner, report: Report, kept: list[StoredFile]) -> EmailMessage:
        lang = p.report.language
        t = texts(lang)
        c = report.total
        label = month_label(report.month, lang)
        mail = EmailMessage()
        mail["Subject"] = f"{t['title']} {label}" + (f" – {self.cfg.city}" if self.cfg.city else "") + \
            f" – {p.name}"
        mail["From"] = ch.from_
        mail["To"] = ", ".join(p.contacts)
        mail["Date"] = formatdate(report.generated_at.timestamp(), localtime=False)
        domain = ch.from_.rpartition("@")[2] or "hotspot-monitor"
        mail["Message-ID"] = make_msgid("report", domain=domain)
        mail["X-Hotspot-Report"] = f"{p.id} {report.month}"
        met = c.sla_met
        lines = [f"{t['title']} – {label}", f"{t['partner']}: {p.name}", "",
                 f"{t['availability']}: {decimal_text(c.availability_pct, lang)} % "
                 f"({t['sla']} {decimal_text(fixed3(report.rules.target), lang)} %: "
                 f"{t['none'] if met is None else (t['sla_met'] if met else t['sla_missed'])})",
                 f"{t['down']}: {duration(seconds(c.down_us), lang)}; {t['outages']}: {c.outages}",
                 f"{t['unmonitored']}: {duration(seconds(c.unmonitored_us), lang)}",
                 f"{t['rx']}: {data_size(c.rx, lang)}; {t['tx']}: {data_size(c.tx, lang)}", ""]
        lines += [f"- {f.name} ({data_size(f.size, lang)}, sha256 {f.sha256})" for f in kept]
        mail.set_content("\n".join(lines) + "\n")
        fmt_of = {f.name: f.name.rsplit(".", 1)[-1] for f in kept}
        attach(mail, [Attachment(f.name, f.path.read_bytes(), MIME[fmt_of[f.name]].split(";")[0])
                      for f in kept])
        return mail
