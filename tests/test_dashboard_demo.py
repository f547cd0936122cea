"""The README's main job shows the dashboard: `demo` prints its URL and a login, and
the overview shows the whole simulated fleet within two minutes."""
import http.cookiejar
import json
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_demo_prints_dashboard_url_and_login_and_shows_the_fleet(tmp_path):
    inv = yaml.safe_load((ROOT / "deploy" / "examples" / "surakarta.yaml").read_text())
    for site in inv["sites"]:
        site.pop("service_hours", None)  # the test may run at night
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(yaml.safe_dump(inv, allow_unicode=True))
    n_aps = len(inv["aps"])
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-m", "hotspot_monitor", "demo", "--inventory", str(inventory),
                          "--dir", str(tmp_path / "demo"), "--broker", "amqtt", "--interval", "3",
                          "--backfill", "1h", "--outage-for", "0", "--web-listen", "127.0.0.1:0",
                          "--duration", "110"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        url = password = None
        for line in p.stdout:
            m = re.search(r"dashboard\s+(http://127\.0\.0\.1:\d+/)\s+login: admin / (\S+)", line)
            if m:
                url, password = m.group(1), m.group(2)
                break
        assert url and password, "demo printed no dashboard line"
        jar = http.cookiejar.CookieJar()
        web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        html = web.open(url + "login", timeout=10).read().decode()
        assert "Masuk" in html  # the Surakarta example speaks Indonesian
        token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "username": "admin", "password": password})
        web.open(url + "login", data=form.encode(), timeout=10).read()
        kpis = None
        while time.monotonic() - t0 < 120:
            kpis = json.loads(web.open(url + "api/v1/kpis", timeout=10).read())
            if kpis["aps"]["up"] + kpis["aps"]["down"] == n_aps:
                break
            time.sleep(1)
        assert kpis is not None and kpis["aps"]["up"] + kpis["aps"]["down"] == n_aps, kpis
        page = web.open(url, timeout=10).read().decode()
        assert "Ringkasan" in page
        shown = {k: int(re.search(rf'data-kpi="aps\.{k}">(\d+)<', page).group(1)) for k in ("up", "down", "unknown")}
        assert shown["unknown"] == 0 and shown["up"] + shown["down"] == n_aps, shown
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(60)
    assert p.returncode == 0
