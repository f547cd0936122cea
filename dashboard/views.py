"""Small helpers the templates share: state words and symbols, safe redirects."""
from __future__ import annotations

from typing import Optional

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotspot_monitor.catalogue import STATE_STYLE

STATE_LABELS = {
    "up": _l("up"), "down": _l("down"), "degraded": _l("degraded"),
    "unknown": _l("unknown"), "closed": _l("closed"),
}
PROBLEM_LABELS = {
    "no_runtime": _l("The monitoring service has never written its status here: it is not running."),
    "service_stopped": _l("The monitoring service is stopped."),
    "service_silent": _l("The monitoring service has not reported for a while: it may be stuck or stopped."),
    "store_down": _l("The metric store is not answering: samples are being buffered."),
    "spool_full": _l("The spool is over its cap: the oldest buffered samples are being dropped."),
    "no_observations": _l("No AP has been heard from recently: the collectors may be blind."),
}
REASON_LABELS = {
    "snmp_timeout": _l("SNMP timeout"), "snmp_error": _l("SNMP error"),
    "snmp_auth": _l("SNMP credentials refused"), "lwt_offline": _l("MQTT agent offline"),
    "stale": _l("MQTT telemetry stopped"), "controller_reports_down": _l("controller reports down"),
    "recovered": _l("recovered"),
}


def state_symbol(state: str) -> str:
    return STATE_STYLE.get(state, STATE_STYLE["unknown"])["symbol"]


def safe_next(target: Optional[str], default: str = "/") -> str:
    """Only same-site paths: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def js_texts() -> dict:
    """Every word the JavaScript shows, in the page's language."""
    return {
        "states": {k: str(v) for k, v in STATE_LABELS.items()},
        "problems": {**{k: str(v) for k, v in PROBLEM_LABELS.items()},
                     "fetch_failed": _("The dashboard could not reach its server.")},
        "reasons": {k: str(v) for k, v in REASON_LABELS.items()},
        "clients": _("clients"), "aps_up": _("APs up"), "sites_up": _("sites up"),
        "share_up": _("Share of sites up"), "availability_month": _("availability this month"),
        "no_open": _("No open outages."), "no_events": _("No events in the last 24 hours."),
        "down_for": _("down for"), "open_site": _("Open the site page"), "loading": _("Loading…"),
        "no_data": _("No data in this range."), "reboots": _("Reboots detected at"),
        "no_reboots": _("No reboots in this range."), "kecamatan": _("Kecamatan"),
        "site": _("Site"), "ap": _("AP"), "state": _("State"), "error": _("Could not load data."),
        "no_sites": _("no sites"),
    }
