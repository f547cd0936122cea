"""An older state database is upgraded when opened, never reset; a newer one is refused
(hotspot_monitor/status/migrations.py, docs/hardening.md)."""
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from hotspot_monitor.status import migrations
from hotspot_monitor.status.statestore import StateStore

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 10, 1, 9, 30, tzinfo=timezone.utc)


def make_old_db(path) -> None:
    """A state DB as the release before versioning left it: no schema_version row, no
    coverage table, no ap_state.blind_reason, outages.truncated NULL."""
    store = StateStore(f"sqlite:///{path}")
    store.add_outage(ap="a-1", site="s", start=T0, end=T1, reason="snmp_timeout", source="snmp")
    store.open_outage(ap="a-2", site="s", start=T1, reason="lwt_offline", source="mqtt")
    store.start_session(T0)
    store.close()
    con = sqlite3.connect(path)
    con.executescript("""
        DROP TABLE schema_version;
        DROP TABLE coverage;
        DROP INDEX IF EXISTS ix_outages_end;
        ALTER TABLE ap_state DROP COLUMN blind_reason;
        UPDATE outages SET truncated = NULL;
    """)
    con.commit()
    con.close()


def columns(path, table):
    con = sqlite3.connect(path)
    try:
        return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
    finally:
        con.close()


def test_a_state_db_from_before_versioning_is_upgraded_with_its_data(tmp_path):
    path = tmp_path / "state.sqlite"
    make_old_db(path)
    assert "blind_reason" not in columns(path, "ap_state")

    store = StateStore(f"sqlite:///{path}")
    assert (store.schema_found, store.schema_version) == (1, migrations.CURRENT)
    got = [(o.ap, o.start, o.end, o.duration_s, o.reason, o.truncated) for o in store.outages()]
    assert got == [("a-1", T0, T1, 5400.0, "snmp_timeout", False),
                   ("a-2", T1, None, None, "lwt_offline", False)]
    assert len(store.sessions()) == 1
    store.add_coverage("a-1", T0, T1)  # the table a newer version added works
    assert [(c.start, c.end) for c in store.coverage(aps=["a-1"])] == [(T0, T1)]
    store.close()
    assert "blind_reason" in columns(path, "ap_state")
    con = sqlite3.connect(path)
    assert con.execute("SELECT version FROM schema_version WHERE component = 'state'").fetchone() == (
        migrations.CURRENT,)
    assert con.execute("SELECT count(*) FROM outages WHERE truncated IS NULL").fetchone() == (0,)
    assert "ix_outages_end" in {r[1] for r in con.execute("PRAGMA index_list(outages)")}
    con.close()

    again = StateStore(f"sqlite:///{path}")  # a second open has nothing to do
    assert (again.schema_found, again.schema_version) == (migrations.CURRENT, migrations.CURRENT)
    assert len(again.outages()) == 2
    again.close()


def test_an_old_version_row_runs_the_later_steps(tmp_path):
    path = tmp_path / "state.sqlite"
    make_old_db(path)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE schema_version (component VARCHAR(64) PRIMARY KEY, "
                "version INTEGER NOT NULL, updated DATETIME)")
    con.execute("INSERT INTO schema_version VALUES ('state', 1, NULL)")
    con.commit()
    con.close()
    store = StateStore(f"sqlite:///{path}")
    assert (store.schema_found, store.schema_version) == (1, migrations.CURRENT)
    assert [o.truncated for o in store.outages()] == [False, False]
    store.close()


def test_a_newer_state_db_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "state.sqlite"
    StateStore(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO outages (ap, site, start, reason, source) "
                "VALUES ('a', 's', '2026-10-01 08:00:00', 'x', 'snmp')")
    con.execute("UPDATE schema_version SET version = 99")
    con.commit()
    con.close()
    with pytest.raises(migrations.SchemaTooNew, match="schema version 99, newer than"):
        StateStore(f"sqlite:///{path}")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"state: {{url: 'sqlite:///{path}', dir: {tmp_path}/var}}\n")
    r = subprocess.run([sys.executable, "-m", "hotspot_monitor", "run", str(cfg)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 1
    assert "cannot start: state store unusable: the state database is at schema version 99" in r.stderr
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM outages").fetchone() == (1,)
    assert con.execute("SELECT version FROM schema_version").fetchone() == (99,)
    con.close()


def test_two_processes_opening_an_old_db_at_once_both_get_the_upgraded_schema(tmp_path):
    """`run` and `web` started together on an old DB: one upgrades, neither fails."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "state.sqlite"
    make_old_db(path)
    code = ("import sys; from hotspot_monitor.status.statestore import StateStore; "
            f"s = StateStore('sqlite:///{path}'); print(s.schema_version, len(s.outages()))")
    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda _: subprocess.run([sys.executable, "-c", code], capture_output=True,
                                                      text=True, timeout=60), range(3)))
    assert [(r.returncode, r.stdout.split()) for r in runs] == [
        (0, [str(migrations.CURRENT), "2"])] * 3, [r.stderr[-500:] for r in runs]
