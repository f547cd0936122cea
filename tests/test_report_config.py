"""Partners' report settings: defaults, and check-config errors naming FILE:LINE: path."""
from __future__ import annotations

import pytest

from hotspot_monitor.config import ConfigError, parse_config
from hotspot_monitor.reports.period import Month
from hotspot_monitor.reports.rules import rules_for, scope_for

BASE = """\
timezone: Asia/Jakarta
web: {sla_target_pct: 97.5}
alerts:
  channels:
    - {id: noc-mail, type: email, smtp_host: 127.0.0.1, from: noc@x.example, to: [noc@x.example]}
    - {id: hook, type: webhook, url: "http://127.0.0.1:9/"}
sites:
  - {id: a, name: A, lat: -7.5, lon: 110.8}
partners:
"""


def test_defaults_and_the_dashboards_sla_target() -> None:
    cfg = parse_config(BASE + "  - {id: p, name: P, sites: [a]}\n", "c.yaml")
    r = cfg.partners[0].report
    assert (r.min_outage_s, r.exclude, r.language, r.formats, r.channel, r.smtp, r.schedule.at) == (
        300.0, ["maintenance", "outside_service_hours"], "id", ["pdf", "xlsx"], None, None, "06:00")
    rules = rules_for(cfg, scope_for(cfg, "p"))
    assert (rules.sla_target_pct, rules.exclude_power_cuts, rules.exclude_maintenance) == (97.5, False, True)
    with pytest.raises(KeyError):
        scope_for(cfg, "nobody")


def test_errors_name_the_line_and_field() -> None:
    text = BASE + """\
  - id: p1
    name: P1
    contacts: [x@y.example]
    report: {channel: missing}
  - id: p2
    name: P2
    contacts: [x@y.example]
    report: {channel: hook}
  - id: p3
    name: P3
    report: {channel: noc-mail}
  - id: p4
    name: P4
    contacts: [x@y.example]
    report: {channel: noc-mail, smtp: {smtp_host: h, from: a@b.example}, exclude: [power_cuts]}
  - id: p5
    name: P5
    report: {schedule: {at: "25:00"}}
"""
    with pytest.raises(ConfigError) as e:
        parse_config(text, "c.yaml")
    assert [str(i) for i in e.value.issues] == [
        "c.yaml:13: partners[0].report.channel: unknown channel 'missing' (alerts.channels)",
        "c.yaml:17: partners[1].report.channel: channel 'hook' is not an email channel",
        "c.yaml:18: partners[2].contacts: the monthly report is e-mailed to the contacts: give at least one address",
        "c.yaml:24: partners[3].report.exclude[0]: input should be 'maintenance', 'outside_service_hours' or "
        "'power_cut'",
        "c.yaml:24: partners[3].report.smtp: give either channel or smtp, not both",
        "c.yaml:27: partners[4].report.schedule.at: string should match pattern '^([01]\\d|2[0-3]):[0-5]\\d$'",
    ]


def test_month_boundaries_in_the_configured_zone() -> None:
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    jkt = ZoneInfo("Asia/Jakarta")
    assert Month(2026, 10).bounds(jkt) == (datetime(2026, 9, 30, 17, tzinfo=timezone.utc),
                                           datetime(2026, 10, 31, 17, tzinfo=timezone.utc))
    assert Month(2026, 12).next() == Month(2027, 1) and Month(2027, 1).previous() == Month(2026, 12)
    # a DST month elsewhere is an hour short: Europe/Berlin, March 2026
    s, e = Month(2026, 3).bounds(ZoneInfo("Europe/Berlin"))
    assert (e - s).total_seconds() == 31 * 86400 - 3600
    for bad in ("2026-13", "2026-1", "26-10", "abc", "2026-00"):
        with pytest.raises(ValueError):
            Month.parse(bad)
