"""A real PostgreSQL server (Debian's ``postgresql`` package) on a free loopback
port in a temp dir, for tests that need the production state store.

``initdb`` + ``postgres`` run as the ``postgres`` user when we are root (the
server refuses to run as root). A fixture that cannot start it FAILS with the
server's log tail: tests never skip for a missing service.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from typing import Iterator

import pytest

from services.ports import free_port, tcp_open, wait_for

PASSWORD = "pg-not-a-real-secret-5521"  # trust auth: the server ignores it; tests check it never leaks


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(name)
    assert path, f"PostgreSQL's {name} not found: apt-get install postgresql"
    return path


def _as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Postgres:
    port: int
    base: str
    proc: subprocess.Popen

    def new_database(self) -> str:
        """A fresh database; returns its SQLAlchemy URL (psycopg 3 driver)."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=hs dbname=postgres",
                             autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://hs:{PASSWORD}@127.0.0.1:{self.port}/{name}"


def accepts_sessions(port: int) -> bool:
    """The port opens before the server accepts sessions ("starting up")."""
    import psycopg

    psycopg.connect(f"host=127.0.0.1 port={port} user=hs dbname=postgres", connect_timeout=2).close()
    return True


def start_postgres(timeout: float = 60.0) -> Postgres:
    import psycopg  # noqa: F401  (fail early and clearly if the driver is missing)

    base = tempfile.mkdtemp(prefix="hs-pg-")
    data, log = os.path.join(base, "data"), os.path.join(base, "log")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
    port = free_port()
    subprocess.run(_as_pg([pg_bin("initdb"), "-D", data, "-A", "trust", "-U", "hs", "--no-sync",
                           "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
    with open(log, "wb") as lf:
        proc = subprocess.Popen(
            _as_pg([pg_bin("postgres"), "-D", data, "-p", str(port), "-k", base,
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]),
            stdout=lf, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: tcp_open(port) and accepts_sessions(port), timeout, "postgres", proc, log)
    except BaseException:
        stop_postgres(Postgres(port, base, proc))
        raise
    return Postgres(port, base, proc)


def stop_postgres(pg: Postgres) -> None:
    data = os.path.join(pg.base, "data")
    subprocess.run(_as_pg([pg_bin("pg_ctl"), "-D", data, "stop", "-m", "fast", "-w"]),
                   capture_output=True, timeout=60)
    try:
        pg.proc.wait(30)
    except subprocess.TimeoutExpired:
        pg.proc.kill()
        pg.proc.wait(5)
    shutil.rmtree(pg.base, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    pg = start_postgres()
    try:
        yield pg
    finally:
        stop_postgres(pg)
