"""Files the service creates are not for every user; a config with secrets others can
read gets a warning (docs/hardening.md)."""
import os
import signal
import stat
import subprocess
import sys
from datetime import datetime, timezone

from hotspot_monitor.reports.files import ReportFiles
from hotspot_monitor.reports.period import Month
from hotspot_monitor.sample import Sample
from hotspot_monitor.config.loader import parse_config
from hotspot_monitor.stores.factory import open_store
from hotspot_monitor.writer import SampleWriter
from collectors.mqtt.deadletter import DeadLetterLog
from services.ports import wait_for

SECRET = "Lit3ral-Infl-pw-7731"


def mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_run_creates_its_files_0640_and_dirs_0750_under_a_loose_umask(tmp_path):
    """A real `run` started with umask 022 (the usual shell default)."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sites:\n  - {id: s, name: S, lat: -7.5, lon: 110.8}\n"
                   "collector: {interval_s: 1, timeout_s: 0.2, retries: 0, snmp: {community: c}}\n"
                   "aps:\n  - {id: a, site: s, host: 127.0.0.1, port: 9}\n"
                   "state: {dir: var/state, url: 'sqlite:///db/state.sqlite'}\n"
                   "store: {sqlite: {path: db/metrics.sqlite}}\n")
    os.chmod(cfg, 0o640)
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["sh", "-c", f'umask 022; exec "{sys.executable}" -m hotspot_monitor run "{cfg}"'],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        wal = tmp_path / "db" / "metrics.sqlite-wal"
        runtime = tmp_path / "var" / "state" / "runtime.json"
        wait_for(lambda: wal.exists() and runtime.exists(), 60, "run", proc=proc, log=str(log))
        # SQLite's -wal and -shm exist while it runs (removed at a clean close)
        shm = tmp_path / "db" / "metrics.sqlite-shm"
        assert (oct(mode(wal)), oct(mode(shm))) == ("0o640", "0o640")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    files = [tmp_path / "db" / "metrics.sqlite", tmp_path / "db" / "state.sqlite", runtime, tmp_path / "var" / "state" / "counters.json"]
    dirs = [tmp_path / "db", tmp_path / "var" / "state", tmp_path / "var" / "state" / "spool"]
    assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in files} == \
        {str(p.relative_to(tmp_path)): "0o640" for p in files}
    assert {str(p.relative_to(tmp_path)): oct(mode(p)) for p in dirs} == \
        {str(p.relative_to(tmp_path)): "0o750" for p in dirs}
    # nothing in the tree is readable by others
    for root, dnames, fnames in os.walk(tmp_path / "var"):
        for n in dnames + fnames:
            assert not mode(os.path.join(root, n)) & 0o007, os.path.join(root, n)


def test_spool_dead_letters_and_stores_ask_for_private_modes_themselves(tmp_path):
    """Even with umask 000 (a library caller), the files are 0640 and dirs 0750."""
    old = os.umask(0)
    try:
        store = open_store(parse_config("store: {sqlite: {path: m/metrics.sqlite}}\n", "x", {}).store,
                           tmp_path)
        writer = SampleWriter(store, spool_dir=tmp_path / "spool")
        writer._spool_batch([Sample("ap_status", {"site": "s", "ap": "a"}, {"up": 1},
                              datetime(2026, 11, 1, tzinfo=timezone.utc))])
        dead = DeadLetterLog(tmp_path / "dead" / "mqtt-dead-letters.jsonl")
        dead.append(datetime(2026, 11, 1, tzinfo=timezone.utc), "t", "bad_json", "x", b"{")
        kept = ReportFiles(tmp_path / "var").save("telkom", Month(2026, 10), "pdf", "id", b"%PDF-1.7")
        store.close()
    finally:
        os.umask(old)
    spooled = list((tmp_path / "spool").glob("spool-*.jsonl"))
    assert len(spooled) == 1
    assert oct(mode(spooled[0])) == "0o640"
    assert oct(mode(tmp_path / "spool")) == "0o750"
    assert oct(mode(tmp_path / "dead" / "mqtt-dead-letters.jsonl")) == "0o640"
    assert oct(mode(tmp_path / "dead")) == "0o750"
    assert oct(mode(tmp_path / "m" / "metrics.sqlite")) == "0o640"
    assert oct(mode(tmp_path / "m")) == "0o750"
    assert oct(mode(kept.path)) == "0o640" and kept.path.read_bytes() == b"%PDF-1.7"  # a monthly report
    assert oct(mode(kept.path.parent)) == "0o750"


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "hotspot_monitor", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd)


CONFIG_WITH_SECRET = ("sites: []\nstore:\n  influxdb:\n    username: hm\n"
                      f"    password: {SECRET}\nalerts:\n  enabled: false\n")


def test_a_world_readable_config_with_secrets_gets_a_warning_without_the_secret(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(CONFIG_WITH_SECRET)
    os.chmod(p, 0o644)
    r = cli("check-config", str(p), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    warning = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1
    assert warning[0].startswith(f"{p}: warning: the file holds secrets (store.influxdb.password)")
    assert "readable by every user" in warning[0] and "0644" in warning[0]
    assert SECRET not in r.stdout + r.stderr

    os.chmod(p, 0o660)  # group-writable: the group could point the service elsewhere
    r = cli("check-config", str(p), cwd=tmp_path)
    assert "writable by its group" in r.stderr and SECRET not in r.stderr

    os.chmod(p, 0o640)
    r = cli("check-config", str(p), cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""


def test_run_warns_too_and_env_references_are_not_secrets_in_the_file(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    p = tmp_path / "c.yaml"
    p.write_text(CONFIG_WITH_SECRET + f"state: {{dir: {blocker}/var}}\n")
    os.chmod(p, 0o644)
    r = cli("run", str(p), cwd=tmp_path)  # warns, then cannot create its state dir
    assert r.returncode == 1
    assert f"{p}: warning: the file holds secrets (store.influxdb.password)" in r.stderr
    assert SECRET not in r.stderr + r.stdout

    q = tmp_path / "env.yaml"
    q.write_text(CONFIG_WITH_SECRET.replace(SECRET, "${HM_INFLUX_PW}")
                 + "web: {secret_key: '${HM_KEY:-dev-key-1234}'}\n")
    os.chmod(q, 0o644)
    r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "check-config", str(q)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path,
                       env={**os.environ, "HM_INFLUX_PW": SECRET})
    assert r.returncode == 0 and "warning" not in r.stderr

    # an SNMP community and a v3 key in the file count as secrets too
    s = tmp_path / "snmp.yaml"
    s.write_text("collector:\n  snmp: {version: 3, user: mon, auth_protocol: SHA, auth_key: "
                 f"{SECRET}}}\nstate: {{url: 'postgresql+psycopg://u:{SECRET}@db/x'}}\n")
    os.chmod(s, 0o604)
    r = cli("check-config", str(s), cwd=tmp_path)
    assert "(collector.snmp.auth_key, state.url)" in r.stderr
    assert SECRET not in r.stderr + r.stdout
