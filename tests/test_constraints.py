"""constraints.txt pins the runtime dependencies exactly, as this venv has them
(scripts/constraints.py; scripts/setup installs with it)."""
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            out[canonicalize_name(name)] = version
    return out


def test_every_runtime_dependency_is_pinned_and_no_test_only_one():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(r).name): Requirement(r) for r in project["dependencies"]}
    pinned = pins()
    for name, req in runtime.items():
        assert name in pinned, f"{name} is not in constraints.txt"
        assert req.specifier.contains(pinned[name]), f"{name}=={pinned[name]} outside {req.specifier}"
    for r in project["optional-dependencies"]["test"]:
        name = canonicalize_name(Requirement(r).name)
        assert name not in pinned, f"test-only {name} pinned for the service install"
    setup = (ROOT / "scripts" / "setup").read_text()
    assert "-c constraints.txt" in setup and '"${constraints[@]}" -e .' in setup


def test_constraints_match_this_venv():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "constraints.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
