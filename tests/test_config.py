"""check-config: exact error lines, every error at once, never a secret."""
import subprocess
import sys
from pathlib import Path

import pytest

from hotspot_monitor.config import ConfigError, load_config, parse_config
from hotspot_monitor.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "deploy" / "examples").glob("*.yaml"))

SECRET_COMMUNITY = "c0mmunity-Sekret-77"
SECRET_AUTH = "aUthKey-Sekret-88"
SHORT_PRIV = "pr1v-7"  # under 8 characters: an error, yet never printed

BROKEN = f"""\
timezone: Asia/Jakarta
store:
  kind: sqlite
  colour: blue
collector:
  interval_s: soon
  snmp:
    version: 2c
    community: {SECRET_COMMUNITY}
sites:
  - id: balekambang
    name: "Taman Balekambang, Utara"
    kind: park
    lat: -97.5
    lon: 110.8
  - id: balekambang
    name: Pasar Gedhé
    lat: -7.56
    lon: 190.0
  - name: no id here
    lat: 0
    lon: 0
aps:
  - id: ap-1
    site: nowhere
    host: 127.0.0.1
  - id: ap-2
    site: balekambang
    host: 127.0.0.1
    snmp:
      version: 3
      user: monitor
      auth_protocol: SHA
      priv_protocol: AES
      priv_key: {SHORT_PRIV}
  - id: ap-3
    site: balekambang
    host: 127.0.0.1
    snmp:
      version: 3
      user: monitor
      auth_protocol: SHA256
      auth_key: {SECRET_AUTH}
      priv_protocol: AES
      priv_key: ${{HM_TEST_UNSET_PRIV}}
"""

EXPECTED = [
    "4: store.colour: unknown key",
    "6: collector.interval_s: input should be a valid number, unable to parse string as a number",
    "14: sites[0].lat: input should be greater than or equal to -90",
    "16: sites[1].id: duplicate id 'balekambang'",
    "19: sites[1].lon: input should be less than or equal to 180",
    "20: sites[2].id: required field is missing",
    "25: aps[0].site: unknown site 'nowhere'",
    "30: aps[1].snmp.auth_key: auth_protocol SHA needs auth_key",
    "35: aps[1].snmp.priv_key: priv_key must be at least 8 characters (SNMPv3 USM)",
    "45: aps[2].snmp.priv_key: environment variable HM_TEST_UNSET_PRIV is not set",
]


@pytest.fixture
def broken(tmp_path, monkeypatch):
    monkeypatch.delenv("HM_TEST_UNSET_PRIV", raising=False)
    p = tmp_path / "broken.yaml"
    p.write_text(BROKEN, encoding="utf-8")
    return p


def test_every_error_reported_with_file_line_and_path(broken):
    with pytest.raises(ConfigError) as e:
        load_config(broken)
    lines = [str(i) for i in e.value.issues]
    assert lines == [f"{broken}:{x}" for x in EXPECTED]


def test_check_config_exit_2_prints_errors_and_no_secret(broken, capsys):
    assert main(["check-config", str(broken)]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.splitlines() == [f"{broken}:{x}" for x in EXPECTED]
    for secret in (SECRET_COMMUNITY, SECRET_AUTH, SHORT_PRIV):
        assert secret not in out.err


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_pass(example, capsys):
    assert main(["check-config", str(example)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{example}: OK: ") and out.count("\n") == 1


def test_console_script_runs_check_config():
    r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "check-config",
                        str(ROOT / "deploy/examples/small.yaml")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "3 APs" in r.stdout


def test_yaml_syntax_error_names_the_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(f"sites:\n  - id: a\n    name: [unclosed, {SECRET_COMMUNITY}\ncollector: 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    (issue,) = e.value.issues
    assert issue.line == 4 and issue.message.startswith("YAML syntax error")
    assert SECRET_COMMUNITY not in str(e.value)


def test_env_substitution_and_defaults(monkeypatch):
    monkeypatch.setenv("HM_COMMUNITY", SECRET_COMMUNITY)
    cfg = parse_config(
        "collector:\n  snmp:\n    community: ${HM_COMMUNITY}\n"
        "mqtt:\n  host: ${HM_TEST_UNSET_HOST:-broker.local}\n"
    )
    assert cfg.collector.snmp.community.get_secret_value() == SECRET_COMMUNITY
    assert cfg.mqtt.host == "broker.local"
    # the secret hides itself when the model is printed or dumped
    assert SECRET_COMMUNITY not in repr(cfg) and SECRET_COMMUNITY not in cfg.model_dump_json()


def test_wrong_type_and_missing_fields():
    text = "sites:\n  - id: s\n    name: S\n    lat: 1\n    lon: 2\naps:\n  - id: a\n    port: [1]\n"
    with pytest.raises(ConfigError) as e:
        parse_config(text, "x.yaml")
    assert [str(i) for i in e.value.issues] == [
        "x.yaml:7: aps[0].site: required field is missing",
        "x.yaml:8: aps[0].port: input should be a valid integer",
    ]


def test_service_hours_and_timezone():
    cfg = parse_config(
        "timezone: Asia/Jakarta\nsites:\n  - id: s\n    name: S\n    lat: 1\n    lon: 2\n"
        "    service_hours: '06:00-22:00'\n"
    )
    s = cfg.sites[0]
    assert str(cfg.tz) == "Asia/Jakarta"
    assert [str(t) for t in s.service_hours.window(6)] == ["06:00:00", "22:00:00"]
    with pytest.raises(ConfigError) as e:
        parse_config("sites:\n  - id: s\n    name: S\n    lat: 1\n    lon: 2\n"
                     "    service_hours: {mon: '25:00-22:00', funday: '01:00-02:00'}\n", "h.yaml")
    assert [str(i) for i in e.value.issues] == [
        "h.yaml:6: sites[0].service_hours.mon: service hours must look like 06:00-22:00",
        "h.yaml:6: sites[0].service_hours.funday: unknown key",
        "h.yaml:6: sites[0].service_hours: no hours for tue, wed, thu, fri, sat, sun: give "
        "HH:MM-HH:MM or closed for every weekday (or one HH:MM-HH:MM for all days)",
    ]


def test_v2c_without_any_community_is_an_error():
    text = "sites:\n  - id: s\n    name: S\n    lat: 1\n    lon: 2\naps:\n  - id: a\n    site: s\n    host: 10.0.0.1\n"
    with pytest.raises(ConfigError) as e:
        parse_config(text, "y.yaml")
    assert [str(i) for i in e.value.issues] == [
        "y.yaml:9: aps[0].host: no SNMP community here nor in collector.snmp"]


def test_wrong_shapes_are_errors_not_crashes():
    text = ("collector: {shard: 3/2}\nsites:\n  - {id: [a], name: S, lat: 1, lon: 2}\n"
            "aps:\n  - {id: x, site: [a]}\n")
    with pytest.raises(ConfigError) as e:
        parse_config(text, "w.yaml")
    assert [str(i) for i in e.value.issues] == [
        "w.yaml:1: collector.shard: shard must be i/n with n >= 1 and 0 <= i < n",
        "w.yaml:3: sites[0].id: input should be a valid string",
        "w.yaml:5: aps[0].site: input should be a valid string",
    ]
