"""The state database fails under a running status engine: SQLite locked by
another process, PostgreSQL restarted. The engine keeps every transition in its
journal and stores them afterwards, in order, with their own times."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from services.ports import free_port, tcp_open, wait_for
from test_status_engine import at, feed, make_cfg, st
from services.postgres import _as_pg, pg_bin as _pg_bin


def outages(store: StateStore) -> list[tuple]:
    return [(o.ap, o.start, o.end, o.duration_s) for o in store.outages()]


def run_outage_while_broken(eng: StatusEngine) -> None:
    """p1 goes down (3 failed polls) and comes back, p2 goes down and stays down."""
    ev = feed(eng, [st("p1", 0, 60), st("p2", 0, 60), st("p1", 0, 120), st("p2", 0, 120),
                    st("p1", 0, 180), st("p2", 0, 180), st("p1", 1, 240)])
    assert [(e.tags["ap"], e.fields["state"], e.time) for e in ev] == [
        ("p1", "down", at(60)), ("p2", "down", at(60)), ("p1", "up", at(240))]
    assert eng.unsaved_transitions == 3
    assert eng.tick(at(250)) == []  # still broken: retried, kept
    assert eng.unsaved_transitions == 3


def test_sqlite_locked_by_another_process(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite"
    store = StateStore(f"sqlite:///{db}", busy_timeout_s=0.3)
    eng = StatusEngine(make_cfg(), store)
    eng.start(at(0))
    feed(eng, [st("p1", 1, 0), st("p2", 1, 0)])
    eng.tick(at(1))
    locker = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, sys
        c = sqlite3.connect({str(db)!r}, isolation_level=None)
        c.execute("BEGIN EXCLUSIVE")
        print("locked", flush=True)
        sys.stdin.readline()  # hold the lock until the test says so
        c.execute("COMMIT")
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        run_outage_while_broken(eng)
        assert eng.stats["store_errors"] >= 2
        assert outages(store) == []  # nothing half-written meanwhile
    finally:
        locker.communicate("release\n", timeout=10)
    assert eng.tick(at(300)) == []
    assert eng.unsaved_transitions == 0 and eng.stats["transitions_delayed"] == 3
    assert outages(store) == [("p1", at(60), at(240), 180.0), ("p2", at(60), None, None)]
    states = {r["ap"]: (r["state"], r["open_outage_id"]) for r in store.load_ap_states()}
    assert states == {"p1": ("up", None), "p2": ("down", store.outages()[1].id)}
    eng.stop(at(301))
    store.close()


class Postgres:
    """PostgreSQL in a temp dir that the test can stop and start again (same data, port)."""

    def __init__(self) -> None:
        self.base = tempfile.mkdtemp(prefix="hs-pg-fault-")
        self.data = os.path.join(self.base, "data")
        self.log = os.path.join(self.base, "log")
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        subprocess.run(_as_pg([_pg_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "hs",
                               "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
        self.proc = None

    def start(self) -> None:
        with open(self.log, "ab") as lf:
            self.proc = subprocess.Popen(
                _as_pg([_pg_bin("postgres"), "-D", self.data, "-p", str(self.port), "-k", self.base,
                        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]),
                stdout=lf, stderr=subprocess.STDOUT)
        wait_for(lambda: tcp_open(self.port), 60, "postgres", self.proc, self.log)
        wait_for(lambda: subprocess.run(_as_pg([_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p",
                                                str(self.port)]), capture_output=True).returncode == 0,
                 60, "postgres ready", self.proc, self.log)

    def stop(self) -> None:
        subprocess.run(_as_pg([_pg_bin("pg_ctl"), "-D", self.data, "stop", "-m", "fast", "-w"]),
                       capture_output=True, timeout=60)
        if self.proc is not None:
            self.proc.wait(30)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def test_postgres_restarted_under_the_engine() -> None:
    import psycopg

    pg = Postgres()
    pg.start()
    try:
        with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=hs dbname=postgres",
                             autocommit=True) as c:
            c.execute('CREATE DATABASE "faults"')
        store = StateStore(f"postgresql+psycopg://hs@127.0.0.1:{pg.port}/faults")
        eng = StatusEngine(make_cfg(), store)
        eng.start(at(0))
        feed(eng, [st("p1", 1, 0), st("p2", 1, 0)])
        eng.tick(at(1))
        pg.stop()
        run_outage_while_broken(eng)
        pg.start()  # same data, same port: the pool's old connections are dead
        assert eng.tick(at(300)) == []
        assert eng.unsaved_transitions == 0 and eng.stats["transitions_delayed"] == 3
        assert outages(store) == [("p1", at(60), at(240), 180.0), ("p2", at(60), None, None)]
        eng.stop(at(301))
        store.close()
    finally:
        pg.cleanup()
