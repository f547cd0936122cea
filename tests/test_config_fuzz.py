"""Fuzzing the config loader and `check-config` (hypothesis, bounded and derandomized):
every input is either a config or errors of the form FILE:LINE: path: message, never a
traceback. Random YAML-ish text, mutations of deploy/examples/*.yaml, and a few hostile
files through the real command."""
import contextlib
import copy
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotspot_monitor.cli import main as cli_main
from hotspot_monitor.config.loader import ConfigError, parse_config
from hotspot_monitor.config.models import Config

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "deploy" / "examples").glob("*.yaml"))
ISSUE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<path>\S.*?): (?P<msg>.+)$")
ENV = {"SNMP_COMMUNITY": "fuzz-community", "SET": "x"}
# bounded for CI (~15 s together); HOTSPOT_FUZZ_EXAMPLES=2000 explores more, randomly
_MORE = os.environ.get("HOTSPOT_FUZZ_EXAMPLES")


def fuzz(examples: int) -> settings:
    return settings(max_examples=int(_MORE or examples), derandomize=not _MORE, database=None,
                    deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(text: str, file: str = "fuzz.yaml") -> Config | list[str]:
    """The config, or its error lines after checking each has FILE:LINE: path: message."""
    try:
        return parse_config(text, file, ENV)
    except ConfigError as e:
        lines = [str(i) for i in e.issues]
        assert lines, "a ConfigError without issues"
        for line in lines:
            m = ISSUE.match(line)
            assert m and m["file"] == file and int(m["line"]) >= 1, line
        return lines


TOKENS = ["sites:", "aps:", "store:", "kind: sqlite", "kind: influxdb", "influxdb:", "retention:",
          "raw_days: 1", "rollup_days: 0", "collector:", "snmp:", "version: 3", "community:",
          "auth_key: short", "id: a", "site: s", "host: 127.0.0.1", "port: 70000", "mqtt:",
          "alerts:", "channels:", "routes:", "partners:", "web:", "listen:", "timezone: ",
          "Asia/Jakarta", "service_hours:", "06:00-22:00", "lat: 91", "lon: -7.5",
          "- ", "\n", "\n  ", "\n    ", "\t", ": ", ", ", "{", "}", "[", "]", "'", '"', "#",
          "&a ", "*a", "*b", "<<: ", "? ", "!!binary ", "!!python/object:os.system ", "!x ",
          "${SET}", "${UNSET}", "${UNSET:-d}", "${", "null", "~", "true", "1e999", "-1", ".nan",
          "0x1F", "2026-11-27", "|", ">", "%YAML 1.1\n", "---\n", "...\n", "\\", "\x00", "é",
          "\ufeff", "version: 1", "version: 7"]


@fuzz(400)
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=40).map("".join))
def test_random_yamlish_text_gives_a_config_or_file_line_errors(text):
    outcome(text)


# ---------------------------------------------------------------- mutations
BASES = [yaml.safe_load(p.read_text()) for p in EXAMPLES]

values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
              st.sampled_from(["", "Asia", "../../etc/passwd", "a" * 300, "06:00-22:00",
                               "${UNSET}", "auto", "3", "closed", "sqlite", "snmp"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def containers(doc, path=()):
    """Every mapping/list in ``doc`` with its path."""
    yield path, doc
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        if isinstance(v, (dict, list)):
            yield from containers(v, path + (k,))


def mutate(doc, data) -> None:
    _path, node = data.draw(st.sampled_from(list(containers(doc))))
    keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
    op = data.draw(st.sampled_from(["replace", "delete", "add", "rename", "duplicate"]))
    if op in ("replace", "delete", "rename", "duplicate") and not keys:
        op = "add"
    if op == "add":
        if isinstance(node, dict):
            node[data.draw(st.one_of(st.text(max_size=10), st.sampled_from(
                ["id", "site", "host", "snmp", "retention", "password", "version"])))] = \
                data.draw(values)
        else:
            node.append(data.draw(values))
        return
    key = data.draw(st.sampled_from(keys))
    if op == "replace":
        node[key] = data.draw(values)
    elif op == "delete":
        del node[key]
    elif op == "rename" and isinstance(node, dict):
        node[str(key) + data.draw(st.sampled_from(["_", "s", "X"]))] = node.pop(key)
    elif op == "duplicate" and isinstance(node, list):
        node.append(copy.deepcopy(node[key]))


@fuzz(100)
@given(st.data())
def test_mutated_example_configs_through_the_loader_and_check_config(data):
    doc = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    for _ in range(data.draw(st.integers(1, 4))):
        mutate(doc, data)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    result = outcome(text)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "c.yaml")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as f:
            f.write(text)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli_main(["check-config", path])
    if isinstance(result, Config):
        assert rc == 0 and out.getvalue().startswith(f"{path}: OK:"), err.getvalue()
    else:
        assert rc == 2
        lines = err.getvalue().splitlines()
        assert [ISSUE.match(x)["path"] for x in lines] == [ISSUE.match(x)["path"] for x in result]
        assert all(x.startswith(path + ":") for x in lines)


def test_the_examples_themselves_are_valid():
    for p in EXAMPLES:
        assert isinstance(outcome(p.read_text(), str(p)), Config), p


# ------------------------------------------------------------ real command
HOSTILE = {
    "bomb.yaml": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                 "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                 "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                 "g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
    "recursive.yaml": "sites: &s [*s]\n",
    "deep.yaml": "sites: " + "[" * 3000 + "]" * 3000 + "\n",
    "tag.yaml": "city: !!python/object/apply:os.system ['echo owned']\n",
    "timezone.yaml": "timezone: " + "x" * 4000 + "\n",
    "shapes.yaml": "sites: [{id: {a: 1}, name: n, lat: 1, lon: 1}]\naps: [{id: a, site: [s]}]\n"
                   "alerts: {channels: [{id: [1]}], routes: 3}\n",
}


def check_config_in_process(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_main(["check-config", str(path)])
    return rc, out.getvalue(), err.getvalue()


def check_config_process(path: Path) -> tuple[int, str, str]:
    r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "check-config", str(path)],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def test_hostile_files_through_check_config_give_file_line_errors(tmp_path):
    files = {name: tmp_path / name for name in HOSTILE}
    for name, p in files.items():
        p.write_text(HOSTILE[name])
    files["binary.yaml"] = tmp_path / "binary.yaml"
    files["binary.yaml"].write_bytes(b"\xff\xfe\x00garbage\x80\x81")
    files["nul.yaml"] = tmp_path / "nul.yaml"
    files["nul.yaml"].write_text("city: x\x00y\n")
    files["a-directory"] = tmp_path
    as_process = {"bomb.yaml", "tag.yaml", "binary.yaml"}  # the real command, a few times
    for name, p in files.items():
        rc, out, err = (check_config_process if name in as_process else check_config_in_process)(p)
        assert rc == 2, (name, out, err)
        assert "Traceback" not in err, (name, err)
        lines = err.splitlines()
        assert lines and all(ISSUE.match(x) and x.startswith(f"{p}:") for x in lines), (name, lines)
        assert "owned" not in out + err
