"""Every text of the dashboard has its Indonesian translation, compiled and up to date."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_translations_are_complete_and_compiled():
    r = subprocess.run([sys.executable, "-m", "dashboard.translations.build", "--check"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
