"""The measurement catalogue describes exactly DESIGN.md's schema, once."""
import re
from pathlib import Path

from hotspot_monitor import catalogue as cat

DESIGN = Path(__file__).resolve().parents[1].parent / "shared" / "DESIGN.md"


def design_schema():
    assert DESIGN.exists(), f"missing {DESIGN}: tests need ../shared beside the checkout"
    text = DESIGN.read_text(encoding="utf-8")
    lines = text.split("### InfluxDB schema", 1)[1].splitlines()[1:]
    table = []
    for line in lines:
        if not line.startswith("|"):
            if table:
                break
            continue
        table.append(line)
    out = {}
    for line in table[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3:
            continue
        name = re.findall(r"`([^`]+)`", cells[0])[0]
        # a tag's values in parentheses are not tags (`source` (`snmp`/`mqtt`))
        tags = re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cells[1]))
        fields = re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", cells[2]))
        out[name] = (tags, fields)
    return out


def test_catalogue_matches_the_design_schema():
    schema = design_schema()
    assert len(schema) == 6
    assert set(schema) == set(cat.CATALOGUE)
    for name, (tags, fields) in schema.items():
        m = cat.CATALOGUE[name]
        assert list(m.tags) == tags, name
        assert list(m.fields) == fields, name


def test_every_field_is_described_in_both_languages():
    for m in cat.CATALOGUE.values():
        assert m.label.id and m.label.en
        for f in m.fields.values():
            assert f.label.id and f.label.en and f.unit and f.chart
            assert re.fullmatch(r"#[0-9a-f]{6}", f.colour)
    assert cat.spec("ap_system", "cpu_pct").threshold.crossed(91.0)
    assert not cat.spec("ap_system", "cpu_pct").threshold.crossed(90.0)
    assert cat.spec("ap_status", "up").threshold.crossed(0)
    doc = cat.as_document("id")
    clients = next(m for m in doc["measurements"] if m["name"] == "ap_clients")
    assert clients["fields"][0]["label"] == "Klien" and clients["fields"][0]["labels"]["en"] == "Clients"


def test_usage_counts_the_uplink_not_the_radios():
    assert cat.usage_ifaces({"eth0", "ra0", "rai0"}) == {"eth0"}          # UniFi
    assert cat.usage_ifaces({"wlan1", "wlan2", "ether1"}) == {"ether1"}   # MikroTik
    assert cat.usage_ifaces({"wlan0", "wlan1"}) == {"wlan0", "wlan1"}     # no uplink known: all
