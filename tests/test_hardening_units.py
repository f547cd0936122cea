"""The systemd units for `run` and `web` (deploy/systemd/): checked by systemd itself
(`systemd-analyze verify` and its offline security score), and their hardening directives."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
HOTSPOT = Path(sys.executable).with_name("hotspot-monitor")  # the venv's console script
NAMES = ["hotspot-monitor.service", "hotspot-monitor-web.service"]


def directives(path: Path) -> dict[str, list[str]]:
    """[Service] key -> values (systemd allows a key more than once)."""
    out: dict[str, list[str]] = {}
    section = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


@pytest.fixture()
def installed(tmp_path) -> Path:
    """The units as they would be installed, ExecStart pointing at this venv's binary."""
    assert shutil.which("systemd-analyze"), "systemd-analyze missing: scripts/setup --test installs systemd"
    assert HOTSPOT.exists(), HOTSPOT
    for name in NAMES:
        text = (UNITS / name).read_text().replace("/opt/hotspot-monitor/.venv/bin/hotspot-monitor",
                                                   str(HOTSPOT))
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("name", NAMES)
def test_systemd_verifies_the_unit_without_a_warning(installed, name):
    r = subprocess.run(["systemd-analyze", "verify", str(installed / name)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout + r.stderr == ""  # an unknown or misspelt directive would be reported here


@pytest.mark.parametrize("name", NAMES)
def test_systemd_rates_the_unit_well_hardened(installed, name):
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                        "--threshold=20", str(installed / name)],
                       capture_output=True, text=True, timeout=60)
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout)
    assert level, r.stdout + r.stderr
    assert float(level.group(1)) <= 2.0, r.stdout  # 10 = unprotected, 0 = fully locked down
    assert r.returncode == 0


@pytest.mark.parametrize("name,command", [(NAMES[0], " run "), (NAMES[1], " web ")])
def test_units_run_as_their_own_user_with_the_hardening_the_docs_promise(name, command):
    d = directives(UNITS / name)
    assert command in d["ExecStart"][0] and "/etc/hotspot-monitor/config.yaml" in d["ExecStart"][0]
    assert d["User"] == ["hotspot"] and d["Group"] == ["hotspot"]
    assert d["UMask"] == ["0027"]
    for key, want in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                      "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
                      "AmbientCapabilities": "", "ReadWritePaths": "/var/lib/hotspot-monitor",
                      "StateDirectory": "hotspot-monitor", "StateDirectoryMode": "0750",
                      "WorkingDirectory": "/var/lib/hotspot-monitor",
                      "EnvironmentFile": "-/etc/hotspot-monitor/env"}.items():
        assert d[key] == [want], key
    if command == " web ":
        assert "--listen 127.0.0.1:" in d["ExecStart"][0]  # only the reverse proxy reaches it
