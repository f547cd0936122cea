"""`hotspot-monitor user ...`, `web` and `run` with `web.enabled`, as an operator runs them."""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from dashboard_seed import COMMUNITY, config_text

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, stdin=None, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "hotspot_monitor", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})}, cwd=cwd)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_http(url, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise AssertionError(f"{url} not answering after {timeout}s")


def test_user_commands(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config_text(tmp_path))
    r = cli("user", "add", str(cfg), "ana", "--role", "operator", "--password-stdin", stdin="long-enough-pw\n")
    assert r.returncode == 0, r.stderr
    assert "long-enough-pw" not in r.stdout + r.stderr
    r = cli("user", "add", str(cfg), "ana", "--role", "viewer", env={"HOTSPOT_PASSWORD": "another-long-pw"})
    assert r.returncode == 1 and "exists already" in r.stderr
    r = cli("user", "add", str(cfg), "bob", "--role", "partner", "--partner", "nope", "--password-stdin",
            stdin="long-enough-pw\n")
    assert r.returncode == 1 and "unknown partner 'nope'" in r.stderr
    r = cli("user", "add", str(cfg), "tel", "--role", "partner", "--partner", "telco", "--password-stdin",
            stdin="long-enough-pw\n")
    assert r.returncode == 0, r.stderr
    r = cli("user", "add", str(cfg), "short", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert r.returncode == 1 and "at least 10" in r.stderr
    r = cli("user", "token", str(cfg), "tel", "--name", "billing")
    assert r.returncode == 0 and re.fullmatch(r"hm_[A-Za-z0-9_-]{40,}\n", r.stdout), r.stdout
    r = cli("user", "list", str(cfg))
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["USER", "ROLE", "PARTNER", "LAST", "LOGIN"]
    assert lines[1].split()[:2] == ["ana", "operator"] and lines[2].split()[:3] == ["tel", "partner", "telco"]
    assert "token 1: tel 'billing' role partner" in r.stdout
    r = cli("user", "passwd", str(cfg), "ana", "--password-stdin", stdin="brand-new-password\n")
    assert r.returncode == 0, r.stderr
    from dashboard.accounts import Accounts
    from hotspot_monitor.config import load_config
    from hotspot_monitor.status.statestore import StateStore
    st = StateStore.from_config(load_config(cfg), tmp_path)
    try:
        acc = Accounts(st.engine)
        assert acc.login("ana", "brand-new-password").user is not None
        assert acc.login("ana", "long-enough-pw").user is None
    finally:
        st.close()
    assert cli("user", "remove", str(cfg), "ana").returncode == 0
    assert "ana" not in cli("user", "list", str(cfg)).stdout
    assert cli("user", "remove", str(cfg), "ana").returncode == 1


def test_web_command_serves_the_dashboard(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config_text(tmp_path))
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "hotspot_monitor", "web", str(cfg), "--listen", f"127.0.0.1:{port}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        code, body = wait_http(f"http://127.0.0.1:{port}/healthz", p)
        assert (code, body) == (200, "ok\n")
        code, body = get(f"http://127.0.0.1:{port}/login")
        assert code == 200 and "Masuk" in body  # web.locale id
        assert get(f"http://127.0.0.1:{port}/api/v1/kpis")[0] == 401
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as r:
            assert r.headers["Server"] == "hotspot-monitor"  # waitress, not a development server
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert f"dashboard on http://127.0.0.1:{port}/" in out and "no users yet" in out
    assert COMMUNITY not in out + err


def test_run_serves_the_dashboard_when_enabled(tmp_path):
    port = free_port()
    text = config_text(tmp_path).replace("web: {locale: id,", f"web: {{enabled: true, listen: '127.0.0.1:{port}', locale: en,")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    p = subprocess.Popen([sys.executable, "-m", "hotspot_monitor", "run", str(cfg), "--base-dir", str(tmp_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        code, body = wait_http(f"http://127.0.0.1:{port}/healthz", p)
        assert code == 200
        code, body = get(f"http://127.0.0.1:{port}/login")
        assert code == 200 and "Log in" in body
        # a busy port stops a second service with a clear message
        r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "run", str(cfg), "--base-dir",
                            str(tmp_path / "second")], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and f"dashboard cannot listen on 127.0.0.1:{port}" in r.stderr
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err[-2000:]
    assert "dashboard on http://127.0.0.1:" in err
