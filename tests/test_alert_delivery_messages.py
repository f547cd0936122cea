"""Message texts: what, where, since when, how long, links; Indonesian and English.

Expected texts are written out by hand (14:05 WIB is 07:05 UTC, Asia/Jakarta
is UTC+7 without daylight saving).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hotspot_monitor.alerts.messages import MAX_LISTED, render
from hotspot_monitor.alerts.notification import AlertView
from services.receivers import SITE_LABELS, T0, ap_down, notification_of

WIB = ZoneInfo("Asia/Jakarta")
OSM = "https://www.openstreetmap.org/?mlat=-7.55440&mlon=110.80460#map=17/-7.55440/110.80460"


def test_one_ap_down_in_both_languages_with_local_time_and_osm_link():
    n = notification_of("noc", [ap_down()], at=T0 + timedelta(minutes=12))
    m = render(n, "id", WIB)
    assert m.subject == "[PERINGATAN] AP mati · Taman Balekambang (AP bk-1)"
    assert m.text == "\n".join([
        "[PERINGATAN] AP mati · Taman Balekambang (AP bk-1)",
        "Lokasi: Taman Balekambang, Kec. Laweyan, AP bk-1",
        "Sejak: 14:05 WIB (12 menit lalu)",
        f"Peta: {OSM}",
    ])
    m = render(n, "en", WIB)
    assert m.subject == "[WARNING] AP down · Taman Balekambang (AP bk-1)"
    assert m.text == "\n".join([
        "[WARNING] AP down · Taman Balekambang (AP bk-1)",
        "Site: Taman Balekambang, Laweyan district, AP bk-1",
        "Since: 14:05 WIB (12 min ago)",
        f"Map: {OSM}",
    ])


def test_resolved_says_how_long_and_links_to_the_dashboard():
    a = ap_down("resolved", down_s=5700)  # 1 h 35 min: ended 15:40 WIB
    n = notification_of("noc", [a], at=T0 + timedelta(minutes=96),
                        dashboard_url="https://wifi.example.go.id/")
    assert render(n, "id", WIB).text == "\n".join([
        "[PULIH] AP mati · Taman Balekambang (AP bk-1)",
        "Lokasi: Taman Balekambang, Kec. Laweyan, AP bk-1",
        "Pulih: 15:40 WIB, mati 1 jam 35 menit",
        "Peta: https://wifi.example.go.id/sites/balekambang",
        "Dasbor: https://wifi.example.go.id/alerts",
    ])
    assert render(n, "en", WIB).text == "\n".join([
        "[RESOLVED] AP down · Taman Balekambang (AP bk-1)",
        "Site: Taman Balekambang, Laweyan district, AP bk-1",
        "Resolved: 15:40 WIB, down 1 h 35 min",
        "Map: https://wifi.example.go.id/sites/balekambang",
        "Dashboard: https://wifi.example.go.id/alerts",
    ])


def test_grouped_notification_lists_alerts_compactly_worst_first():
    alerts = [ap_down(ap="bk-1"), ap_down(ap="bk-2", minutes=1, severity="critical"),
              ap_down("resolved", ap="bk-3", minutes=-20, down_s=600)]  # 13:45 -> 13:55
    n = notification_of("noc", alerts, at=T0 + timedelta(minutes=5))
    assert render(n, "id", WIB).text == "\n".join([
        "[KRITIS] 2 aktif, 1 pulih · Taman Balekambang",
        "Lokasi: Taman Balekambang, Kec. Laweyan",
        "• AP mati · AP bk-2 · sejak 14:06 WIB",
        "• AP mati · AP bk-1 · sejak 14:05 WIB",
        "✓ AP mati · AP bk-3 · pulih 13:55 WIB, mati 10 menit",
        f"Peta: {OSM}",
    ])
    assert render(n, "en", WIB).subject == "[CRITICAL] 2 firing, 1 resolved · Taman Balekambang"


def test_a_long_group_is_cut_to_fit_a_phone():
    alerts = [ap_down(ap=f"bk-{i}", minutes=i) for i in range(MAX_LISTED + 3)]
    n = notification_of("noc", alerts, at=T0 + timedelta(hours=1))
    lines = render(n, "id", WIB).text.splitlines()
    assert sum(1 for line in lines if line.startswith("• ")) == MAX_LISTED
    assert "… dan 3 lainnya" in lines
    assert "… and 3 more" in render(n, "en", WIB).text.splitlines()


def test_other_days_show_the_date_with_local_month_names():
    a = AlertView("fp", "ap_down", "warning", "firing", datetime(2026, 8, 17, 1, 0, tzinfo=timezone.utc),
                  labels=dict(SITE_LABELS, ap="bk-1"))
    n = notification_of("noc", [a], at=datetime(2026, 8, 19, 4, 30, tzinfo=timezone.utc))
    assert "Sejak: 17 Agu 08:00 WIB (2 hari 3 jam lalu)" in render(n, "id", WIB).text
    assert "Since: 17 Aug 08:00 WIB (2 d 3 h ago)" in render(n, "en", WIB).text
    # units are adjacent: 2 d 0 h 30 min reads "2 d", not "2 d 30 min"
    n = notification_of("noc", [a], at=datetime(2026, 8, 19, 1, 30, tzinfo=timezone.utc))
    assert "Since: 17 Aug 08:00 WIB (2 d ago)" in render(n, "en", WIB).text


def test_rule_titles_values_units_and_causes():
    def subject(rule: str, lang: str, **kw) -> str:
        a = AlertView("fp", rule, kw.pop("severity", "warning"), "firing", T0, **kw)
        return render(notification_of("c", [a], at=T0), lang, WIB).subject

    site = {"labels": dict(SITE_LABELS)}
    assert subject("site_down", "id", severity="critical", details={"cause": "power_cut"}, **site) == \
        "[KRITIS] Listrik padam · Taman Balekambang"
    assert subject("site_down", "en", severity="critical", details={"cause": ""}, **site) == \
        "[CRITICAL] Site down · Taman Balekambang"
    assert subject("high_temp", "id", value=71.5, labels=dict(SITE_LABELS, ap="bk-1")) == \
        "[PERINGATAN] Suhu tinggi 71,5 °C · Taman Balekambang (AP bk-1)"
    assert subject("high_temp", "en", value=71.5, labels=dict(SITE_LABELS, ap="bk-1")) == \
        "[WARNING] High temperature 71.5 °C · Taman Balekambang (AP bk-1)"
    assert subject("saturation", "en", value=93.26, **site) == \
        "[WARNING] Uplink saturated 93.3% · Taman Balekambang"
    assert subject("monitor_unhealthy", "id", severity="critical",
                   labels={"reason": "channel_failing", "channel": "noc-wa"},
                   details={"reason": "channel_failing", "channel": "noc-wa"}) == \
        "[KRITIS] Monitor bermasalah: kanal noc-wa gagal mengirim · hotspot-monitor"
    assert subject("monitor_unhealthy", "en", severity="critical", details={"reason": "store_unwritable"}) == \
        "[CRITICAL] Monitor unhealthy: data store not writable · hotspot-monitor"
    # a rule this version does not know still reads sensibly
    assert subject("fan_failure", "en", value=3, severity="info", labels={"controller": "wlc-1"}) == \
        "[INFO] Alert fan failure 3 · controller wlc-1"


def test_rule_details_line_and_aps_down_count():
    a = AlertView("fp", "saturation", "warning", "firing", T0, labels=dict(SITE_LABELS), value=95.0,
                  details={"backhaul_mbps": 100, "threshold": 90.0, "aps_down": 0, "aps_total": 4})
    text = render(notification_of("c", [a], at=T0), "id", WIB).text.splitlines()
    assert "AP mati: 0 dari 4" in text
    assert "Keterangan: ambang 90% dari 100 Mbps" in text
    a = AlertView("fp", "silent_ap", "info", "firing", T0, labels=dict(SITE_LABELS, ap="bk-1"), value=0.0,
                  details={"expected": 12.4})
    assert "Details: usually ~12.4 clients at this hour" in \
        render(notification_of("c", [a], at=T0), "en", WIB).text.splitlines()


def test_test_and_escalation_messages_say_so():
    n = notification_of("noc", [ap_down()], at=T0, kind="test")
    m = render(n, "id", WIB)
    assert m.subject.startswith("[UJI] [PERINGATAN] AP mati")
    assert m.text.splitlines()[-1] == "Ini pesan uji dari hotspot-monitor, bukan gangguan nyata."
    m = render(notification_of("noc", [ap_down()], at=T0, kind="escalation"), "en", WIB)
    assert m.subject.startswith("[ESCALATED] [WARNING] AP down")
    assert m.text.splitlines()[-1] == "Not acknowledged: escalated to the next route."


def test_long_outages_use_the_two_largest_units():
    a = ap_down("resolved", down_s=90061)  # 1 d 1 h 1 min 1 s
    n = notification_of("noc", [a], at=T0 + timedelta(days=2))
    assert "mati 1 hari 1 jam" in render(n, "id", WIB).text
    assert "down 1 d 1 h" in render(n, "en", WIB).text


def test_html_part_escapes_names_and_carries_the_links():
    a = AlertView("fp", "ap_down", "warning", "firing", T0,
                  labels={"site": "x", "site_name": "Taman <b>&Co", "ap": "bk-1"})
    m = render(notification_of("noc", [a], at=T0, dashboard_url="https://wifi.example/"), "en", WIB)
    assert "Taman <b>&Co" in m.text
    assert "Taman &lt;b&gt;&amp;Co" in m.html and "<b>&Co" not in m.html
    assert '<a href="https://wifi.example/sites/x">Map</a>' in m.html
    assert '<a href="https://wifi.example/alerts">Dashboard</a>' in m.html
