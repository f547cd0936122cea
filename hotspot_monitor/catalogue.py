"""The measurement catalogue: every measurement and field of the schema, described once.

In the style of OpenWISP Monitoring's metric configuration (STYLE.md #1): the
dashboard's charts, the API document and (next) the alert rules read units,
labels, chart types, colours and default thresholds from here instead of
spelling them out again. The table below is data; the small classes only give
it names. DESIGN.md's schema table is the contract this mirrors: a test checks
that both list the same measurements, tags and fields.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Optional

Unit = Literal["bool", "ms", "s", "count", "bytes", "bit/s", "%", "°C", "text"]
Chart = Literal["step", "line", "stacked", "bar", "none"]
FieldType = Literal["integer", "float", "string"]

AP_STATUS = "ap_status"
AP_CLIENTS = "ap_clients"
AP_TRAFFIC = "ap_traffic"
AP_SYSTEM = "ap_system"
AP_EVENT = "ap_event"
CONTROLLER_APS = "controller_aps"


@dataclass(frozen=True, slots=True)
class Label:
    """A text in each language the dashboard speaks."""

    id: str
    en: str

    def get(self, locale: str) -> str:
        return self.id if str(locale).startswith("id") else self.en


@dataclass(frozen=True, slots=True)
class Threshold:
    """Default alert rule: ``value op limit`` held for ``for_s`` seconds."""

    op: Literal[">", "<"]
    limit: float
    for_s: float = 300.0

    def crossed(self, value: float) -> bool:
        return value > self.limit if self.op == ">" else value < self.limit


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: FieldType
    unit: Unit
    label: Label
    chart: Chart = "line"
    colour: str = "#1f77b4"
    threshold: Optional[Threshold] = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class MeasurementSpec:
    name: str
    label: Label
    tags: tuple[str, ...]
    fields: dict[str, FieldSpec] = field(default_factory=dict)

    def field(self, name: str) -> FieldSpec:
        return self.fields[name]


def _m(name: str, label: Label, tags: tuple[str, ...], *fields: FieldSpec) -> MeasurementSpec:
    return MeasurementSpec(name, label, tags, {f.name: f for f in fields})


CATALOGUE: dict[str, MeasurementSpec] = {m.name: m for m in (
    _m(AP_STATUS, Label("Status AP", "AP status"), ("site", "ap", "source"),
       FieldSpec("up", "integer", "bool", Label("Hidup", "Up"), "step", "#2ca02c",
                 Threshold("<", 1, 0), "1 when the poll or message succeeded, else 0"),
       FieldSpec("response_ms", "float", "ms", Label("Waktu respons", "Response time"), "line",
                 "#9467bd", Threshold(">", 500, 600), "SNMP round trip"),
       FieldSpec("uptime_s", "integer", "s", Label("Lama hidup", "Uptime"), "line", "#8c564b",
                 None, "seconds since the device booted; a drop is a reboot"),
       FieldSpec("reason", "string", "text", Label("Sebab", "Reason"), "none", "#7f7f7f",
                 None, "why a poll failed (snmp_timeout, snmp_auth, lwt_offline, stale...)")),
    _m(AP_CLIENTS, Label("Klien", "Clients"), ("site", "ap", "radio"),
       FieldSpec("clients", "integer", "count", Label("Klien", "Clients"), "stacked", "#1f77b4",
                 None, "associated stations per radio, and `all`")),
    _m(AP_TRAFFIC, Label("Lalu lintas", "Traffic"), ("site", "ap", "iface"),
       FieldSpec("rx_bytes", "integer", "bytes", Label("Diterima", "Received"), "bar", "#1f77b4",
                 None, "bytes received in the interval ending at this point"),
       FieldSpec("tx_bytes", "integer", "bytes", Label("Dikirim", "Sent"), "bar", "#ff7f0e",
                 None, "bytes sent in the interval ending at this point"),
       FieldSpec("rx_bps", "float", "bit/s", Label("Laju terima", "Receive rate"), "line",
                 "#1f77b4", None, "bits/s over the interval"),
       FieldSpec("tx_bps", "float", "bit/s", Label("Laju kirim", "Send rate"), "line", "#ff7f0e",
                 None, "bits/s over the interval"),
       FieldSpec("interval_s", "float", "s", Label("Interval", "Interval"), "none", "#7f7f7f",
                 None, "length of the interval the bytes belong to")),
    _m(AP_SYSTEM, Label("Sistem", "System"), ("site", "ap"),
       FieldSpec("cpu_pct", "float", "%", Label("CPU", "CPU"), "line", "#d62728",
                 Threshold(">", 90, 600)),
       FieldSpec("mem_pct", "float", "%", Label("Memori", "Memory"), "line", "#9467bd",
                 Threshold(">", 90, 600)),
       FieldSpec("temp_c", "float", "°C", Label("Suhu", "Temperature"), "line", "#e377c2",
                 Threshold(">", 75, 600))),
    _m(AP_EVENT, Label("Kejadian", "Events"), ("site", "ap"),
       FieldSpec("state", "string", "text", Label("Keadaan", "State"), "none", "#7f7f7f"),
       FieldSpec("reason", "string", "text", Label("Sebab", "Reason"), "none", "#7f7f7f"),
       FieldSpec("down_s", "integer", "s", Label("Lama mati", "Down for"), "none", "#d62728")),
    _m(CONTROLLER_APS, Label("AP di kontroler", "Controller APs"), ("site", "ap"),
       FieldSpec("aps_total", "integer", "count", Label("AP total", "APs total"), "line", "#7f7f7f"),
       FieldSpec("aps_up", "integer", "count", Label("AP hidup", "APs up"), "line", "#2ca02c"),
       FieldSpec("aps_down", "integer", "count", Label("AP mati", "APs down"), "line", "#d62728",
                 Threshold(">", 0, 300))),
)}

# Derived quantities the dashboard shows that are not stored fields.
UPLINK_UTILISATION = FieldSpec(
    "uplink_utilisation_pct", "float", "%", Label("Pemakaian backhaul", "Backhaul utilisation"),
    "line", "#17becf", Threshold(">", 80, 900),
    "uplink interfaces' bits/s over the site's backhaul_mbps")
AVAILABILITY = FieldSpec(
    "availability_pct", "float", "%", Label("Ketersediaan", "Availability"), "bar", "#2ca02c",
    None, "from the outage log, within service hours (docs/status.md)")

# States, with a colour and a symbol so that state is never told by colour alone.
STATE_STYLE: dict[str, dict[str, str]] = {
    "up": {"colour": "#1a9850", "symbol": "✔"},
    "degraded": {"colour": "#fdae61", "symbol": "◐"},
    "down": {"colour": "#d73027", "symbol": "✖"},
    "unknown": {"colour": "#969696", "symbol": "?"},
    "closed": {"colour": "#4575b4", "symbol": "☾"},
}

# Interface names that carry an AP's traffic to the backhaul (vendor naming:
# eth0, ether1, wan, sfp1, ge0...). Usage and utilisation count these only,
# since the radios and bridges carry the same bytes again; an AP with no
# interface matching counts all of its interfaces.
UPLINK_IFACE = re.compile(r"^(eth|ether|wan|sfp|ge|gi|en|uplink|port)[-_.]?\d*$", re.IGNORECASE)


def usage_ifaces(ifaces: set[str]) -> set[str]:
    """The interfaces of one AP whose bytes count as its usage."""
    up = {i for i in ifaces if UPLINK_IFACE.match(i)}
    return up or set(ifaces)


def spec(measurement: str, field_name: str) -> FieldSpec:
    return CATALOGUE[measurement].fields[field_name]


def as_document(locale: str = "en") -> dict:
    """The catalogue as plain JSON (served at /api/v1/catalogue)."""
    def fld(f: FieldSpec) -> dict:
        d = {"name": f.name, "type": f.type, "unit": f.unit, "label": f.label.get(locale),
             "labels": {"id": f.label.id, "en": f.label.en}, "chart": f.chart, "colour": f.colour,
             "description": f.description, "threshold": None}
        if f.threshold is not None:
            d["threshold"] = {"op": f.threshold.op, "limit": f.threshold.limit,
                              "for_s": f.threshold.for_s}
        return d

    return {"measurements": [
        {"name": m.name, "label": m.label.get(locale), "tags": list(m.tags),
         "fields": [fld(f) for f in m.fields.values()]} for m in CATALOGUE.values()],
        "derived": [fld(UPLINK_UTILISATION), fld(AVAILABILITY)]}
