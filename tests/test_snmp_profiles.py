"""Profile files: every shipped profile loads; mistakes are clear errors."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from collectors.snmp.profile import PROFILE_DIR, ProfileError, load_profiles
from collectors.snmp.readings import DeviceData, Extractor, band_of
from collectors.snmp.profile import BandSpec

EXPECTED = {"generic", "unifi", "mikrotik", "ruckus_unleashed", "ruckus_zd", "ruckus_smartzone",
            "cisco_wlc", "aruba_instant", "aruba_controller", "openwrt", "zyxel_controller"}


def test_every_builtin_profile_loads_and_extends_generic():
    profiles = load_profiles()
    assert set(profiles) == EXPECTED
    for name, p in profiles.items():
        assert p.interfaces is not None, name  # traffic comes from generic's IF-MIB
        assert "sysUpTime" in p.scalars, name
    assert profiles["generic"].detect.priority == 0


def test_every_oid_in_the_profile_files_is_commented():
    for path in PROFILE_DIR.glob("*.yaml"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\boid:\s*[\d.]+", line) or re.match(r"\s*-\s*1\.3\.6", line):
                assert "#" in line, f"{path.name}:{n}: OID without its MIB object name"


def write(tmp: Path, name: str, text: str) -> None:
    (tmp / f"{name}.yaml").write_text(text)


GENERIC = """
name: generic
scalars:
  sysUpTime: {oid: 1.3.6.1.2.1.1.3.0, type: ticks}
uptime:
  - scalar: sysUpTime
"""


def test_errors_name_the_file_and_the_field(tmp_path):
    write(tmp_path, "generic", GENERIC)
    write(tmp_path, "vendor", """
name: vendor
extends: generic
scalars:
  x: {oid: 1.3.6.1.4.1.x.1, type: number}
""")
    with pytest.raises(ProfileError) as e:
        load_profiles(tmp_path)
    assert "vendor.yaml: scalars.x.oid" in str(e.value) and "numeric OID" in str(e.value)


@pytest.mark.parametrize("body, message", [
    ("clients:\n  - table: nope\n    value: n\n", "unknown table column 'nope.n'"),
    ("cpu:\n  - scalar: missing\n", "unknown scalar 'missing'"),
    ("extends: ghost\n", "unknown profile 'ghost'"),
    ("tables:\n  t:\n    columns:\n      c: {oid: 1.3.6.1.4.1.9.1, type: float}\n", "vendor.yaml: tables.t.columns.c.type"),
    ("surprise: 1\n", "vendor.yaml: surprise"),
    ("cpu:\n  - {scalar: sysUpTime, mean: t.c}\n", "exactly one of"),
    # the width of a counter is its MIB syntax, and engines that see bare integers need it
    ("tables:\n  t:\n    columns:\n      c: {oid: 1.3.6.1.4.1.9.1, type: counter}\n",
     "needs syntax: Counter32 or Counter64"),
    ("scalars:\n  x: {oid: 1.3.6.1.4.1.9.1.0, syntax: Float}\n", "vendor.yaml: scalars.x.syntax"),
])
def test_inconsistent_profiles_are_rejected(tmp_path, body, message):
    write(tmp_path, "generic", GENERIC)
    write(tmp_path, "vendor", "name: vendor\n" + body)
    with pytest.raises(ProfileError) as e:
        load_profiles(tmp_path)
    assert message in str(e.value)


def test_file_name_must_match_profile_name(tmp_path):
    write(tmp_path, "generic", GENERIC)
    write(tmp_path, "other", "name: vendor\n")
    with pytest.raises(ProfileError, match="must equal the file name"):
        load_profiles(tmp_path)


@pytest.mark.parametrize("spec, value, band", [
    (BandSpec(column="c", kind="map", map={"ng": "2.4GHz", "na": "5GHz"}), "na", "5GHz"),
    (BandSpec(column="c", kind="map", map={"1": "2.4GHz"}), 1, "2.4GHz"),
    (BandSpec(column="c", kind="mhz"), 2412, "2.4GHz"),
    (BandSpec(column="c", kind="mhz"), "5805", "5GHz"),
    (BandSpec(column="c", kind="mhz"), 5955, "6GHz"),
    (BandSpec(column="c", kind="mhz"), 0, None),  # RouterOS virtual AP: unknown, counts in "all"
    (BandSpec(column="c", kind="channel"), "116E", "5GHz"),
    (BandSpec(column="c", kind="channel"), "6", "2.4GHz"),
])
def test_band_rules(spec, value, band):
    assert band_of(spec, value) == band


def test_counter32_typed_client_counts_are_levels():
    # MikroTik types mtxrWlApClientCount as Counter32; the profile reads it as a number
    p = load_profiles()["mikrotik"]
    assert p.tables["wlAp"].columns["clients"].type == "number"
    d = DeviceData(tables={"wlAp": {(1,): {"clients": 7, "freq": 2412}, (2,): {"clients": 3, "freq": 5180}}})
    assert Extractor(p).clients(d) == {None: {"all": 10, "2.4GHz": 7, "5GHz": 3}}



@pytest.mark.parametrize("files, message", [
    ({"vendor": "detect: {signature: [1.3.6.1.2.1.2.2]}\n"}, "vendor.yaml: detect.signature"),
    ({"vendor": "detect: {signature: [1.3.6.1.4.1.9]}\n"}, "inside one vendor's enterprise branch"),
    ({"vendor": "detect: {signature: [1.3.6.1.4.1.9.9.1]}\n",
      "other": "detect: {signature: [1.3.6.1.4.1.9.9.1.5]}\n"},
     "vendor.yaml: detect.signature: 1.3.6.1.4.1.9.9.1 overlaps other.yaml's 1.3.6.1.4.1.9.9.1.5"),
])
def test_signatures_are_vendor_subtrees_owned_by_one_profile(tmp_path, files, message):
    write(tmp_path, "generic", GENERIC)
    for name, body in files.items():
        write(tmp_path, name, f"name: {name}\n" + body)
    with pytest.raises(ProfileError) as e:
        load_profiles(tmp_path)
    assert message in str(e.value)


def test_shipped_signatures_and_uptime_fallback():
    profiles = load_profiles()
    assert {n for n, p in profiles.items() if p.detect.signature} == EXPECTED - {"generic", "openwrt"}
    for name, p in profiles.items():
        # sysUpTime first, HOST-RESOURCES-MIB::hrSystemUptime where the agent lacks it
        assert [(vs.scalar, p.scalars[vs.scalar].oid) for vs in p.uptime] == [
            ("sysUpTime", "1.3.6.1.2.1.1.3.0"), ("hrSystemUptime", "1.3.6.1.2.1.25.1.1.0")], name
