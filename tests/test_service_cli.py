"""`run` refuses to start with a clear message; `status` on a fresh install."""
import json
import subprocess
import sys

from services.ports import free_port

SECRET = "Infl-Pass-5521"


def run_cli(*args, cwd, timeout=60):
    return subprocess.run([sys.executable, "-m", "hotspot_monitor", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


SITE = "sites:\n  - {id: s, name: S, lat: -7.5, lon: 110.8}\n"


def test_run_with_invalid_config_exits_2_with_error_lines(tmp_path):
    p = write(tmp_path, SITE + "aps:\n  - {id: a, site: nowhere}\n")
    r = run_cli("run", str(p), cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"{p}:4: aps[0].site: unknown site 'nowhere'"]


def test_run_refuses_to_start_when_influxdb_is_unreachable(tmp_path, monkeypatch):
    port = free_port()  # nothing listens here
    p = write(tmp_path, SITE + f"store:\n  kind: influxdb\n  influxdb:\n    url: http://127.0.0.1:{port}\n"
              f"    username: hm\n    password: ${{HM_PW}}\n    timeout_s: 2\n")
    monkeypatch.setenv("HM_PW", SECRET)
    r = run_cli("run", str(p), cwd=tmp_path)
    assert r.returncode == 1
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("hotspot-monitor run: cannot start: metric store unreachable:")
    assert f"http://127.0.0.1:{port}" in line
    assert SECRET not in r.stderr + r.stdout


def test_run_refuses_wrong_influx_password_without_printing_it(tmp_path, influxd_auth):
    p = write(tmp_path, SITE + f"store:\n  kind: influxdb\n  influxdb:\n    url: {influxd_auth.url}\n"
              f"    username: admin\n    password: {SECRET}\n")
    r = run_cli("run", str(p), cwd=tmp_path)
    assert r.returncode == 1
    assert "cannot start: metric store unreachable:" in r.stderr
    assert "401" in r.stderr or "auth" in r.stderr.lower()
    assert SECRET not in r.stderr + r.stdout


def test_status_on_a_fresh_install_lists_inventory_as_unknown(tmp_path):
    p = write(tmp_path, SITE + "collector: {snmp: {community: c}}\n"
              "aps:\n  - {id: a, site: s, host: 127.0.0.1}\n  - {id: b, site: s}\n")
    r = run_cli("status", str(p), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert [(a["ap"], a["state"]) for a in d["aps"]] == [("a", "unknown"), ("b", "unknown")]
    assert d["sites"] == [{"site": "s", "name": "S", "state": "unknown", "aps": 2, "up": 0,
                           "down": 0, "unknown": 2, "availability_month_pct": None}]
    assert d["service"] is None
    r = run_cli("status", str(p), cwd=tmp_path)
    assert r.returncode == 0 and "not started here" in r.stdout
