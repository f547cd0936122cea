"""`hotspot-monitor notify-test FILE CHANNEL` end to end: a subprocess, a YAML config with
${ENV} secrets, local stand-in servers, the state store's delivery log."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from hotspot_monitor.alerts.outbox import Outbox
from hotspot_monitor.status.statestore import StateStore
from services.receivers import HttpRecorder, Reply

TG_TOKEN = "987654:CLI-t3st-t0ken-ab12"
HOOK_SECRET = "cli-h00k-s3cret-77"

CONFIG = """\
timezone: Asia/Jakarta
state: {{url: "sqlite:///state.sqlite", dir: var}}
collector: {{snmp: {{community: c0mm-test}}}}
sites:
  - {{id: balekambang, name: Taman Balekambang, district: Laweyan, lat: -7.5544, lon: 110.8046}}
aps:
  - {{id: bk-1, site: balekambang, host: 127.0.0.1}}
  - {{id: bk-2, site: balekambang, host: 127.0.0.1}}
alerts:
  dashboard_url: https://wifi.example.go.id
  channels:
    - {{id: noc-tg, type: telegram, bot_token: "${{TG_TOKEN}}", chat_id: "-1001", base_url: "{tg}"}}
    - {{id: hook, type: webhook, url: "{hook}/alerts", secret: "${{HOOK_SECRET}}", language: en}}
  routes:
    - {{match: {{}}, channels: [noc-tg, hook]}}
"""


@pytest.fixture
def servers() -> Iterator[tuple[HttpRecorder, HttpRecorder]]:
    tg = HttpRecorder([Reply.json(200, {"ok": True, "result": {}})]).start()
    hook = HttpRecorder([Reply(400, b'{"error": "unknown tenant"}')]).start()
    try:
        yield tg, hook
    finally:
        tg.stop()
        hook.stop()


@pytest.fixture
def config_file(tmp_path: Path, servers) -> Path:
    tg, hook = servers
    p = tmp_path / "hotspot.yaml"
    p.write_text(CONFIG.format(tg=tg.url, hook=hook.url))
    return p


def notify_test(config: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TG_TOKEN": TG_TOKEN, "HOOK_SECRET": HOOK_SECRET}
    return subprocess.run([sys.executable, "-m", "hotspot_monitor", "notify-test", str(config), *args,
                           "--base-dir", str(config.parent)],
                          capture_output=True, text=True, timeout=60, env=env, cwd=config.parent)


def test_sends_a_test_message_and_records_the_attempt(config_file, servers):
    tg, _ = servers
    r = notify_test(config_file, "noc-tg", "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("noc-tg (telegram): ok in ")
    [req] = tg.requests
    assert req.path == f"/bot{TG_TOKEN}/sendMessage"
    text = req.json()["text"].splitlines()
    assert text[0] == "[TEST] [WARNING] AP down · Taman Balekambang (AP bk-1)"
    assert "Site: Taman Balekambang, Laweyan district, AP bk-1" in text
    assert "Map: https://wifi.example.go.id/sites/balekambang" in text
    assert text[-1] == "This is a test message from hotspot-monitor, not a real outage."
    store = StateStore(f"sqlite:///{config_file.parent / 'state.sqlite'}")
    try:
        box = Outbox(store.engine)
        [a] = box.attempts()
        assert (a.channel, a.attempt, a.result) == ("noc-tg", 1, "ok")
        [row] = box.messages()
        assert (row["state"], row["kind"]) == ("sent", "test")
        assert box.channel_states()["noc-tg"].flagged is False
    finally:
        store.close()
    assert TG_TOKEN not in r.stdout + r.stderr


def test_a_refused_message_exits_1_with_the_error_and_flags_the_channel(config_file, servers):
    _, hook = servers
    r = notify_test(config_file, "hook")
    assert r.returncode == 1
    assert r.stderr.startswith("hook (webhook): permanent in ")
    assert r.stderr.rstrip().endswith(f"http://127.0.0.1:{hook.port}: HTTP 400: {{\"error\": \"unknown tenant\"}}")
    assert len(hook.requests) == 1
    assert HOOK_SECRET not in r.stdout + r.stderr
    store = StateStore(f"sqlite:///{config_file.parent / 'state.sqlite'}")
    try:
        assert Outbox(store.engine).channel_states()["hook"].flagged
    finally:
        store.close()


def test_unknown_channel_or_bad_config_exit_2(config_file, servers):
    r = notify_test(config_file, "nope")
    assert r.returncode == 2
    assert "unknown channel 'nope' (configured: noc-tg, hook)" in r.stderr
    bad = config_file.parent / "bad.yaml"
    bad.write_text(config_file.read_text().replace("chat_id: \"-1001\", ", ""))
    r = notify_test(bad, "noc-tg")
    assert r.returncode == 2
    assert f"{bad}:12:" in r.stderr and "chat_id" in r.stderr
    assert servers[0].requests == [] and servers[1].requests == []
