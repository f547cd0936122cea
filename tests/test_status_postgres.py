"""The state store on a real PostgreSQL server: the same code as on SQLite.

Starts Debian's PostgreSQL (``initdb`` + ``postgres``) on a free loopback port
in a temp dir (as the ``postgres`` user when we are root, since the server
refuses to run as root), and runs the engine, a restart and availability on it.
Needs the ``postgresql`` Debian package and the ``psycopg`` Python package.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from hotspot_monitor.status.availability import availability
from hotspot_monitor.status.engine import StatusEngine
from hotspot_monitor.status.statestore import StateStore
from services.postgres import start_postgres, stop_postgres
from test_status_engine import at, feed, make_cfg, st


@pytest.fixture(scope="module")
def pg_server() -> Iterator[int]:
    """A real PostgreSQL server for the module (tests/services/postgres.py); its port."""
    pg = start_postgres()
    try:
        yield pg.port
    finally:
        stop_postgres(pg)


@pytest.fixture
def pg_url(pg_server: int, request: pytest.FixtureRequest) -> str:
    """A fresh database per test."""
    import psycopg

    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:50]
    with psycopg.connect(f"host=127.0.0.1 port={pg_server} user=hs dbname=postgres",
                         autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://hs:not-a-real-secret@127.0.0.1:{pg_server}/{name}"


def test_engine_restart_and_availability_on_postgres(pg_url: str) -> None:
    store = StateStore(pg_url)
    assert "not-a-real-secret" not in repr(store)
    assert "not-a-real-secret" not in store.display_url
    eng = StatusEngine(make_cfg(), store)
    eng.start(at(0))
    feed(eng, [st("p1", 1, 0), st("p2", 1, 0), st("p1", 0, 60.25), st("p1", 0, 120),
               st("p1", 0, 180), st("p2", 1, 180)])
    eng.stop(at(200))
    store.close()

    store = StateStore(pg_url)
    eng = StatusEngine(make_cfg(), store)
    assert (eng.ap("p1").state, eng.ap("p1").since) == ("down", at(60.25))
    eng.start(at(1000))
    assert eng.observe(st("p2", 1, 1000)) == []  # the restart gap is no outage
    ev = eng.observe(st("p1", 1, 1060.75))
    assert ev[0].fields["down_s"] == 1001  # 1000.5 s, halves up
    [o] = store.outages()
    assert (o.start, o.end, o.duration_s) == (at(60.25), at(1060.75), 1000.5)
    eng.stop(at(1200))
    # the sites of make_cfg have no service hours: monitored = sessions
    # [0, 200] + [1000, 1200] within p1's observed stretch [0, 1060.75] (the gap
    # 180 -> 1060.75 is shorter than max_gap_s 900; nothing seen after 1060.75)
    # = 200 + 60.75 s; p1 down 60.25..200 and 1000..1060.75
    a = availability(store, make_cfg(), start=at(0), end=at(2000), ap="p1")
    assert (a.monitored_s, a.downtime_s) == (260.75, 139.75 + 60.75)
    store.close()


def test_bulk_save_on_postgres(pg_url: str) -> None:
    store = StateStore(pg_url)
    rows = [{"ap": f"ap{i}", "site": "s", "state": "up", "first_seen": at(0),
             "last_seen": at(i), "flap_times": [], "sources": {}} for i in range(600)]
    assert store.save_ap_states(rows) == 600
    rows = [dict(r, last_seen=at(1000 + i)) for i, r in enumerate(rows)]
    store.save_ap_states(rows)
    got = {r["ap"]: r["last_seen"] for r in store.load_ap_states()}
    assert len(got) == 600 and got["ap599"] == at(1599)
    assert got["ap0"].tzinfo is not None
    store.close()
