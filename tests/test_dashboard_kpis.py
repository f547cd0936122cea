"""The overview's numbers are the state store's and the metric store's, worked out by hand.

The seeded fleet (tests/dashboard_seed.py) at a fixed clock, 12:00 in Surakarta:
seven APs, four sites, three hours of 5-minute polls.
"""
import re

import pytest

from dashboard import create_app
from dashboard_seed import fixed_now, seed
from hotspot_monitor.status.statestore import StateStore

PW = "correct-horse-battery"


@pytest.fixture()
def app(tmp_path):
    s = seed(tmp_path, fixed_now())
    app = create_app(s.cfg, base_dir=tmp_path, testing=True, clock=fixed_now)
    acc = app.extensions["hotspot"].accounts
    acc.add_user("op", PW, "operator")
    acc.add_user("telco-user", PW, "partner", partner="telco")
    yield app
    app.extensions["hotspot"].close()


def login(app, user):
    c = app.test_client()
    html = c.get("/login").get_data(as_text=True)
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    r = c.post("/login", data={"csrf_token": token, "username": user, "password": PW, "next": "/"})
    assert r.status_code == 302, r.get_data(as_text=True)
    return c


def test_fleet_kpis_equal_the_stores(app, tmp_path):
    c = login(app, "op")
    k = c.get("/api/v1/kpis").get_json()
    # the state store's own rows, counted here
    cfg = app.extensions["hotspot"].cfg
    st = StateStore.from_config(cfg, tmp_path)
    rows = {r["ap"]: r["state"] for r in st.load_ap_states()}
    open_outages = st.outages(open_only=True)
    st.close()
    assert rows.get("nv-1") is None  # never seen: no row, counts as unknown
    assert k["aps"] == {"up": sum(1 for s in rows.values() if s == "up"),
                        "down": sum(1 for s in rows.values() if s == "down"),
                        "unknown": 7 - len(rows) + sum(1 for s in rows.values() if s == "unknown")}
    # by hand: bk-2 down; nv-1 never seen; the other five up
    assert k["aps"] == {"up": 5, "down": 1, "unknown": 1}
    # balekambang degraded (bk-2 down), sriwedari up (nv-1 unknown does not count),
    # pasar-gede up, night-market closed at 12:00 (open 17:00-23:00)
    assert k["sites"] == {"up": 2, "degraded": 1, "down": 0, "closed": 1, "unknown": 0}
    assert k["open_outages"] == len(open_outages) == 1
    # clients of the APs up at their last poll: bk-1 3+4, sw-1 4, pg-1 2+3, pg-2 6, nm-1 1+1
    assert k["clients_now"] == 7 + 4 + 5 + 6 + 2
    # uplink eth0 only: 36 polls each, bk-2 up 30, pg-1 up 32 -> 206 up polls
    assert k["traffic_today"] == {"rx_bytes": 206 * 1_000_000, "tx_bytes": 206 * 250_000}
    # month to date (docs/status.md): an AP is monitored from its first to its last
    # observation (polls 5 min apart, within max_gap_s): 2 h 55 min = 10,500 s for each
    # of five APs (nm-1 is outside its service hours, nv-1 never seen). Down: bk-2 from
    # its first failure (now - 30 min) to its last observation (now - 5 min) = 1,500 s,
    # the stretch after that is not yet confirmed; pg-1 4 polls of 5 min = 1,200 s.
    assert k["month_availability_pct"] == pytest.approx(100 * (5 * 10_500 - 2_700) / (5 * 10_500), abs=1e-9)
    assert k["sla_target_pct"] == 95.0
    assert k["stale"] is False and k["problems"] == []


def test_partner_kpis_cover_its_sites_only(app):
    c = login(app, "telco-user")
    k = c.get("/api/v1/kpis").get_json()
    assert k["aps"] == {"up": 3, "down": 0, "unknown": 0}  # pg-1, pg-2, nm-1
    assert k["sites"] == {"up": 1, "degraded": 0, "down": 0, "closed": 1, "unknown": 0}
    assert k["open_outages"] == 0
    assert k["clients_now"] == 5 + 6 + 2
    assert k["traffic_today"] == {"rx_bytes": (32 + 36 + 36) * 1_000_000, "tx_bytes": (32 + 36 + 36) * 250_000}
    # pg-1 and pg-2 monitored 10,500 s each, pg-1 down 1,200 s
    assert k["month_availability_pct"] == pytest.approx(100 * (21_000 - 1_200) / 21_000, abs=1e-9)


def test_overview_page_shows_the_same_numbers_in_indonesian(app):
    c = login(app, "op")
    html = c.get("/").get_data(as_text=True)

    def kpi(name):
        return re.search(rf'data-kpi="{re.escape(name)}"[^>]*>([^<]+)<', html).group(1)

    assert (kpi("aps.up"), kpi("aps.down"), kpi("aps.unknown")) == ("5", "1", "1")
    assert kpi("sites.degraded") == "1" and kpi("sites.closed") == "1"
    assert kpi("clients_now") == "24"
    assert kpi("traffic_today.rx_bytes") == "206,0 MB"  # Indonesian decimal comma
    assert kpi("month_availability_pct") == "94,857 %"  # 100 x 49,800 / 52,500
    assert "Ringkasan" in html and "Gangguan terbuka" in html
    # the open outage, its start in local time (WIB = UTC+7): 04:30 UTC -> 11:30
    assert "bk-2" in html and "2026-11-15 11:30:00" in html


def test_site_page_and_series_use_the_catalogue_and_rollup_buckets(app):
    c = login(app, "op")
    d = c.get("/api/v1/sites/balekambang/series?range=24h").get_json()
    assert d["every_s"] == 300
    charts = {ch["id"]: ch for ch in d["charts"]}
    assert set(charts) == {"clients", "traffic", "utilisation", "availability", "outages"}
    radios = {t["name"]: t for t in charts["clients"]["traces"]}
    assert set(radios) == {"2.4GHz", "5GHz"}
    # 12:00 WIB bucket: only bk-1 is up then (bk-2 down since 11:30): 3 on 2.4 GHz
    last = radios["2.4GHz"]["x"].index("2026-11-15T11:55")
    assert radios["2.4GHz"]["y"][last] == 3
    first = radios["2.4GHz"]["x"].index("2026-11-15T09:00")
    assert radios["2.4GHz"]["y"][first] == 3 + 5
    # uplink rx per 5-min bucket: 2 APs x 1,000,000 bytes x 8 / 300 s = 0.053 Mbit/s
    rx = charts["traffic"]["traces"][0]
    assert rx["y"][rx["x"].index("2026-11-15T09:00")] == round(2 * 8e6 / 300 / 1e6, 3)
    assert charts["utilisation"]["threshold"] == 80
    av = charts["availability"]["traces"][0]
    assert av["x"] == ["2026-11-14", "2026-11-15"] and av["y"][0] is None
    # balekambang: 2 APs x 10,500 s monitored, bk-2 down 1,500 s (see above)
    assert av["y"][1] == round(100 * (21_000 - 1_500) / 21_000, 3)
    tl = charts["outages"]["traces"][0]
    assert tl["y"] == ["bk-2"] and tl["x"] == [1_800_000]
    # the catalogue's Indonesian labels
    assert [t["name"] for t in charts["traffic"]["traces"]] == ["Laju terima", "Laju kirim"]


def test_health_tells_a_blind_monitor_from_a_working_one(app, tmp_path):
    from dashboard_seed import write_runtime
    from datetime import timedelta

    c = login(app, "op")
    cache = app.extensions["hotspot"].fleet.cache
    h = c.get("/api/v1/health").get_json()
    assert h["freshness"]["stale"] is False and h["service"]["running"] is True
    assert h["snmp_round"] is None  # this runtime.json has no snmp_round yet
    assert h["mqtt"]["rejects_by_reason"] == {"bad_json": 2, "unknown_ap": 1}
    # the service reports its last SNMP round, then goes silent for 20 minutes
    now = app.extensions["hotspot"].fleet.clock()
    write_runtime(app.extensions["hotspot"].cfg, tmp_path, now - timedelta(minutes=20),
                  snmp_round={"devices": 7, "seconds": 1.25, "cpu_s": 0.5,
                              "failures": {"snmp_timeout": 2}, "finished": (now - timedelta(minutes=20)).isoformat()})
    cache.invalidate()
    h = c.get("/api/v1/health").get_json()
    assert h["snmp_round"]["devices"] == 7 and h["snmp_round"]["failures"] == {"snmp_timeout": 2}
    assert h["freshness"]["stale"] is True and h["freshness"]["problems"] == ["service_silent"]
    page = c.get("/health").get_data(as_text=True)
    assert "Pemantau tidak melihat armada" in page and "snmp_timeout" in page
    k = c.get("/api/v1/kpis").get_json()
    assert k["stale"] is True and k["problems"] == ["service_silent"]
    for path in ("/", "/sites"):  # the banner on every page, not hidden
        tag = re.search(r'<div id="stale"[^>]*>', c.get(path).get_data(as_text=True)).group(0)
        assert "hidden" not in tag, path
