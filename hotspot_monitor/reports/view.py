"""The report as words and formatted numbers in one language: what HTML and PDF show."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from ..alerts.rules import POWER_CUT_WINDOW_S
from .accounting import OutageLine
from .model import Figures, Report, fixed3, seconds
from .period import month_label
from .texts import data_size, decimal_text, duration, number, texts

TOP_N = 5
LEDGER_MAX_CELL = 28  # characters; longer names are cut with an ellipsis in the PDF's ledgers
LEDGER_LAST_WIDTH = 40  # the last column wraps at this width instead


@dataclass(frozen=True)
class Cell:
    text: str
    cls: str = ""  # css class: num, ok, bad, muted


class View:
    def __init__(self, report: Report, language: str):
        self.r = report
        self.lang = language
        self.t = texts(language)

    # -- words ----------------------------------------------------------------------
    def time(self, t: Optional[datetime], seconds_too: bool = False) -> str:
        if t is None:
            return self.t["none"]
        return t.astimezone(self.r.tz).strftime("%Y-%m-%d %H:%M:%S" if seconds_too else "%Y-%m-%d %H:%M")

    def us_time(self, us: Optional[int]) -> str:
        return self.time(self.r.local(us))

    def dur(self, us: Optional[int]) -> str:
        return duration(None if us is None else seconds(us), self.lang)

    def hms(self, us: Optional[int]) -> str:
        """Compact for tables: ``1.425:21:05`` (hours:minutes:seconds)."""
        if us is None:
            return self.t["none"]
        h, rest = divmod(seconds(us), 3600)
        return f"{number(h, self.lang)}:{rest // 60:02d}:{rest % 60:02d}"

    def pct(self, r: Figures) -> str:
        return decimal_text(r.availability_pct, self.lang)

    def sla(self, r: Figures) -> Cell:
        met = r.sla_met
        if met is None:
            return Cell(self.t["none"], "muted")
        return Cell(self.t["sla_met"] if met else self.t["sla_missed"], "ok" if met else "bad")

    def num(self, v: Optional[int]) -> str:
        return self.t["none"] if v is None else number(v, self.lang)

    def size(self, n: int) -> str:
        return data_size(n, self.lang)

    def name(self, r: Figures) -> str:
        if r.level == "district":
            return r.district or self.t["no_district"]
        if r.level == "city":
            return self.r.city or self.t["city"]
        return r.name

    @property
    def title(self) -> str:
        return self.t["title"]

    @property
    def subtitle(self) -> str:
        parts = []
        if self.r.city:
            parts.append(self.t["city_of"].format(city=self.r.city))
        parts.append(month_label(self.r.month, self.lang))
        p = self.r.scope.partner
        parts.append(self.t["for_partner"].format(partner=p.name) if p else self.t["whole_city"])
        return " · ".join(parts)

    @property
    def period(self) -> str:
        end = self.r.end.astimezone(self.r.tz)
        return self.t["period_value"].format(start=self.time(self.r.start), end=self.time(end),
                                             tz=self.r.tz.key)

    def rules(self) -> list[tuple[str, str]]:
        rl, t = self.r.rules, self.t
        on = lambda b: t["excluded"] if b else t["counted_in"]  # noqa: E731
        return [(t["rule_target"], decimal_text(fixed3(rl.target), self.lang) + " %"),
                (t["rule_min_outage"], t["rule_min_outage_value"].format(s=number(rl.min_outage_s, self.lang))),
                (t["rule_maintenance"], on(rl.exclude_maintenance)),
                (t["rule_hours"], on(rl.exclude_outside_hours)),
                (t["rule_power"].format(w=number(POWER_CUT_WINDOW_S, self.lang)), on(rl.exclude_power_cuts))]

    def summary(self) -> list[tuple[str, str]]:
        c, t = self.r.total, self.t
        rx_app = self.size(c.rx_apportioned)
        tx_app = self.size(c.tx_apportioned)
        return [
            (t["availability"], self.pct(c) + " %"), (t["sla"], self.sla(c).text),
            (t["down"], self.dur(c.down_us)), (t["outages"], self.num(c.outages)),
            (t["longest"], self.dur(c.longest_us) if c.outages else t["none"]),
            (t["mttr"], self.dur(c.mttr_us)),
            (t["service"], self.dur(c.service_us)), (t["monitored"], self.dur(c.monitored_us)),
            (t["unmonitored"], self.dur(c.unmonitored_us)), (t["maintenance"], self.dur(c.maintenance_us)),
            (t["short_outages"], self.dur(c.short_us)), (t["power_cuts"], self.dur(c.power_cut_us)),
            (t["site_down"], self.dur(c.site_down_us or 0)),
            (t["rx"], f"{self.size(c.rx)} ({number(c.rx, self.lang)} B)"),
            (t["tx"], f"{self.size(c.tx)} ({number(c.tx, self.lang)} B)"),
            ("", t["apportioned"].format(n=number(self.r.crossing, self.lang), rx=rx_app, tx=tx_app)),
            (t["peak"], f"{self.num(c.peak_clients)} ({self.us_time(c.peak_at_us)})"),
            (t["client_hours"], decimal_text(c.client_hours, self.lang)),
            (t["saturated"], self.num(c.saturated_hours)),
        ]

    # -- tables ------------------------------------------------------------------------
    def headers(self, level: str) -> list[str]:
        t = self.t
        first = {"district": [t["district"]], "site": [t["site"], t["district"]],
                 "ap": [t["ap"], t["site"]]}[level]
        extra = [t["site_down"]] if level != "ap" else []
        load = [t["saturated"]] if level != "ap" else []
        return first + [t["aps"], t["availability"] + " %", t["sla"], t["down"], t["outages"], t["longest"],
                        t["mttr"], t["unmonitored"], t["maintenance"], t["excluded_time"], *extra, t["rx"],
                        t["tx"], t["peak"], t["client_hours"], *load]

    def row(self, r: Figures) -> list[Cell]:
        site_name = self.r.site_names.get(r.site, r.site)
        first = {"district": [Cell(self.name(r))],
                 "site": [Cell(self.name(r)), Cell(r.district or self.t["none"])],
                 "ap": [Cell(r.ap), Cell(site_name)]}[r.level]
        extra = [Cell(self.hms(r.site_down_us or 0), "num")] if r.level != "ap" else []
        load = [Cell(self.num(r.saturated_hours), "num")] if r.level != "ap" else []
        peak = self.num(r.peak_clients)
        if r.peak_at_us is not None:
            peak += f" ({self.us_time(r.peak_at_us)})"
        return first + [Cell(self.num(r.aps), "num"), Cell(self.pct(r), "num"), self.sla(r),
                        Cell(self.hms(r.down_us), "num"), Cell(self.num(r.outages), "num"),
                        Cell(self.hms(r.longest_us) if r.outages else self.t["none"], "num"),
                        Cell(self.hms(r.mttr_us), "num"), Cell(self.hms(r.unmonitored_us), "num"),
                        Cell(self.hms(r.maintenance_us), "num"), Cell(self.hms(r.excluded_us), "num"), *extra,
                        Cell(self.size(r.rx), "num"), Cell(self.size(r.tx), "num"), Cell(peak, "num"),
                        Cell(decimal_text(r.client_hours, self.lang), "num"), *load]

    def rows(self, level: str) -> list[list[Cell]]:
        return [self.row(r) for r in self.r.level(level)]

    def change(self) -> list[list[Cell]]:
        """This month against the previous one: the city and each district and site."""
        out = []
        for r in self.r.rows:
            if r.level == "ap":
                continue
            p = self.r.previous.get(r.key())
            a, b = r.availability, (p.availability if p is not None else None)
            diff = self.t["none"] if a is None or b is None else \
                ("+" if a >= b else "−") + decimal_text(fixed3(abs(a - b)), self.lang)
            out.append([Cell(self.name(r)), Cell(self.pct(p) if p else self.t["none"], "num"),
                        Cell(self.pct(r), "num"), Cell(diff, "num"),
                        Cell(self.hms(p.down_us) if p else self.t["none"], "num"), Cell(self.hms(r.down_us), "num"),
                        Cell(self.size(p.rx + p.tx) if p else self.t["none"], "num"),
                        Cell(self.size(r.rx + r.tx), "num"),
                        Cell(decimal_text(p.client_hours, self.lang) if p else self.t["none"], "num"),
                        Cell(decimal_text(r.client_hours, self.lang), "num")])
        return out

    def change_headers(self) -> list[str]:
        t = self.t
        return ["", f"{t['availability']} % ({t['previous']})", f"{t['availability']} % ({t['this_month']})",
                t["difference"], f"{t['down']} ({t['previous']})", f"{t['down']} ({t['this_month']})",
                f"rx+tx ({t['previous']})", f"rx+tx ({t['this_month']})",
                f"{t['client_hours']} ({t['previous']})", f"{t['client_hours']} ({t['this_month']})"]

    def top_bottom(self) -> dict[str, list[list[Cell]]]:
        ranked = self.r.ranked_sites()
        busiest = sorted(self.r.level("site"), key=lambda r: (-(r.rx + r.tx), r.site))[:TOP_N]

        def line(r: Figures) -> list[Cell]:
            return [Cell(self.name(r)), Cell(self.pct(r) + " %", "num"), Cell(self.size(r.rx + r.tx), "num")]
        return {"top_sites": [line(r) for r in ranked[:TOP_N]],
                "bottom_sites": [line(r) for r in list(reversed(ranked))[:TOP_N]],
                "busiest_sites": [line(r) for r in busiest]}

    def heat(self) -> tuple[list[str], list[list[Cell]]]:
        days = self.t["weekdays"].split(",")
        top = max((v for row in self.r.heat for v in row if v is not None), default=0.0) or 1.0
        rows = []
        for d, row in enumerate(self.r.heat):
            cells = [Cell(days[d])]
            for v in row:
                if v is None:
                    cells.append(Cell("", "heat0"))
                else:
                    cells.append(Cell(number(v, self.lang, 0), f"heat{min(5, int(5 * v / top + 0.999))}"))
            rows.append(cells)
        return [f"{h:02d}" for h in range(24)], rows

    def appendix(self) -> list[list[Cell]]:
        out = []
        for ln in self.r.lines:
            o = ln.outage
            status = self.t["status_" + ln.status]
            out.append([Cell(o.ap), Cell(self.r.site_names.get(ln.site, ln.site)),
                        Cell(self.time(o.start, True)),
                        Cell(self.time(o.end, True) if o.end else self.t["open"]),
                        Cell(self.hms(ln.full_us), "num"), Cell(self.hms(ln.in_month_us), "num"),
                        Cell(self.hms(ln.counted_us), "num"),
                        Cell(o.reason + (" / power_cut" if ln.power_cut else "")),
                        Cell(status, "ok" if ln.status != "counted" else "bad"), Cell(self.why(ln))])
        return out

    def citizens_headers(self) -> list[str]:
        t = self.t
        return [t["site"], t["citizen_reports"], t["citizen_tickets"], t["citizen_acked"], t["citizen_ack_time"],
                t["citizen_fixed"], t["citizen_fix_time"]]

    def citizens(self) -> list[list[Cell]]:
        """Citizens' problem reports per site (hotspot_monitor/citizens/monthly.py)."""
        def pair(median: Optional[float], mean: Optional[float]) -> str:
            if median is None or mean is None:
                return self.t["none"]
            return f"{self.hms(round(median * 1e6))} / {self.hms(round(mean * 1e6))}"
        return [[Cell(self.r.site_names.get(s.site, s.site)), Cell(number(s.reports, self.lang), "num"),
                 Cell(number(s.tickets, self.lang), "num"), Cell(number(s.acknowledged, self.lang), "num"),
                 Cell(pair(s.median_ack_s, s.mean_ack_s), "num"), Cell(number(s.fixed, self.lang), "num"),
                 Cell(pair(s.median_fix_s, s.mean_fix_s), "num")] for s in self.r.citizens]

    def appendix_headers(self) -> list[str]:
        t = self.t
        return [t["ap"], t["site"], t["start"], t["end"], t["duration"], t["in_month"], t["counted_s"],
                t["reason"], t["status"], t["why"]]

    def why(self, ln: OutageLine) -> str:
        t, parts = self.t, []
        if ln.status == "short":
            parts.append(t["why_short"].format(s=number(self.r.rules.min_outage_s, self.lang)))
        if ln.status == "power_cut":
            parts.append(t["why_power_cut"])
        other = ln.full_us - ln.in_month_us
        for key, us in (("why_other_month", other), ("why_outside", ln.outside_hours_us),
                        ("why_maintenance", ln.maintenance_us), ("why_unmonitored", ln.unmonitored_us)):
            if us > 0:
                parts.append(t[key].format(t=self.dur(us)))
        return "; ".join(parts)


def ledger(headers: list[str], rows: list[list[Cell]]) -> str:
    """A table as monospaced lines (the PDF's long tables): one text line per row is
    some 30 times faster for WeasyPrint to lay out than a table of cells, so a city of
    1,000 APs prints in seconds. Numbers are right-aligned; headers wrap into columns."""
    def cut(text: str) -> str:
        return text if len(text) <= LEDGER_MAX_CELL else text[:LEDGER_MAX_CELL - 1] + "…"
    # the last column (the appendix's "why") is never cut: it wraps onto continuation lines
    last = len(headers) - 1
    tails = [_wrap(r[last].text.replace("\n", " "), LEDGER_LAST_WIDTH) if r else [] for r in rows]
    body = [[cut(c.text.replace("\n", " ")) for c in r[:last]] + [t[0] if t else ""]
            for r, t in zip(rows, tails)]
    right = [any(r[i].cls == "num" for r in rows) for i in range(len(headers))]
    widths = []
    for i, h in enumerate(headers):
        longest_word = max((len(w) for w in h.split()), default=0)
        widths.append(max([longest_word] + [len(r[i]) for r in body]))
    head_cells = [_wrap(h, w) for h, w in zip(headers, widths)]
    height = max((len(x) for x in head_cells), default=1)
    lines = []
    for k in range(height):
        parts = []
        for i, cell in enumerate(head_cells):
            t = cell[k - (height - len(cell))] if k >= height - len(cell) else ""
            parts.append(t.rjust(widths[i]) if right[i] else t.ljust(widths[i]))
        lines.append("  ".join(parts).rstrip())
    lines.append("  ".join("─" * w for w in widths))
    indent = " " * (sum(widths[:last]) + 2 * last)
    for r, tail in zip(body, tails):
        lines.append("  ".join(t.rjust(widths[i]) if right[i] else t.ljust(widths[i])
                               for i, t in enumerate(r)).rstrip())
        lines.extend(indent + more for more in tail[1:])
    return "\n".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    for word in text.split():
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    return out or [""]
