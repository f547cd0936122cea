"""A real influxd (Debian's 1.6.x) on free loopback ports, for tests and benches.

The start/stop code is plain functions (``start_influxd``) so ``bench/`` reuses it;
the pytest fixtures below only wrap it. A fixture that cannot start influxd
FAILS with the server's log tail: tests never skip for a missing service.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import pytest

from services.ports import free_port, stop, wait_for

INFLUXD = "/usr/bin/influxd"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "s3cret-Adm1n-pw"  # a test-only secret: tests assert it never leaks

_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  index-version = "inmem"
  query-log-enabled = false
  wal-fsync-delay = "0s"
  trace-logging-enabled = false

[coordinator]
  write-timeout = "10s"
  max-select-point = 0
  max-select-series = 0
  max-select-buckets = 0
  log-queries-after = "0s"

[retention]
  enabled = {retention}
  check-interval = "{retention_check}"

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = {auth}
  log-enabled = false
  write-tracing = false
  pprof-enabled = false
  max-row-limit = 0
  max-body-size = 0

[logging]
  level = "warn"
  suppress-logo = true

[subscriber]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false

[continuous_queries]
  enabled = false
"""


@dataclass
class Influxd:
    """A running influxd: ``url`` is its HTTP API; ``auth`` is (user, password) or None."""

    url: str
    root: Path
    proc: subprocess.Popen
    log: Path
    auth: Optional[tuple[str, str]] = None
    databases: list[str] = field(default_factory=list)

    def query(self, q: str, db: Optional[str] = None, method: str = "POST") -> dict:
        """Run InfluxQL as the admin (test helper, not the store's code path)."""
        params = {"q": q}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(self.url + "/query", data=data, method=method)
        if self.auth:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def write_lines(self, db: str, body: bytes, precision: str = "u") -> None:
        """POST pre-built line protocol (the bench's bare-HTTP baseline)."""
        url = f"{self.url}/write?db={urllib.parse.quote(db)}&precision={precision}"
        req = urllib.request.Request(url, data=body, method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()

    def new_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.query(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return name

    def stop(self) -> None:
        stop(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-request, its data stays on disk (fault tests)."""
        self.proc.kill()
        self.proc.wait(30)

    def start_again(self, timeout: float = 60.0) -> None:
        """Start the same server again: same config, ports and data (after ``kill``)."""
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen([INFLUXD, "run", "-config", str(self.root / "influxdb.conf")],
                                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def ping() -> bool:
            with urllib.request.urlopen(self.url + "/ping", timeout=1) as r:
                return r.status == 204
        wait_for(ping, timeout, "influxd (restarted)", proc=self.proc, log=str(self.log))


def start_influxd(auth: bool = False, timeout: float = 60.0,
                  retention_check: Optional[str] = None) -> Influxd:
    """Start influxd with a generated config in a temp dir; raise with its log if it fails.

    ``retention_check`` (e.g. "1s") turns on retention enforcement at that interval
    (off by default: tests write old points).

    With ``auth`` the HTTP API requires credentials and an admin user
    (ADMIN_USER/ADMIN_PASSWORD) is created, as InfluxDB 1.x allows for the first user.
    """
    if not Path(INFLUXD).exists():
        raise RuntimeError(f"{INFLUXD} not found: apt-get install influxdb")
    root = Path(tempfile.mkdtemp(prefix="influxd-"))
    http_port, rpc_port = free_port(), free_port()
    while rpc_port == http_port:
        rpc_port = free_port()
    conf = root / "influxdb.conf"
    conf.write_text(_CONFIG.format(root=root, rpc_port=rpc_port, http_port=http_port,
                                   auth="true" if auth else "false",
                                   retention="true" if retention_check else "false",
                                   retention_check=retention_check or "30m"))
    log = root / "influxd.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen([INFLUXD, "run", "-config", str(conf)],
                                stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http_port}"
    server = Influxd(url=url, root=root, proc=proc, log=log)

    def ping() -> bool:
        with urllib.request.urlopen(url + "/ping", timeout=1) as r:
            return r.status == 204

    try:
        wait_for(ping, timeout, "influxd", proc=proc, log=str(log))
        if auth:
            server.query(f"CREATE USER {ADMIN_USER} WITH PASSWORD '{ADMIN_PASSWORD}' "
                         "WITH ALL PRIVILEGES")
            server.auth = (ADMIN_USER, ADMIN_PASSWORD)
    except BaseException:
        stop(proc)
        tail = log.read_text(errors="replace").splitlines()[-30:]
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError("influxd failed to start:\n" + "\n".join(tail)) from None
    return server


@pytest.fixture(scope="session")
def influxd() -> Iterator[Influxd]:
    """A session-wide influxd without auth."""
    try:
        server = start_influxd()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def influxd_auth() -> Iterator[Influxd]:
    """A session-wide influxd with auth enabled and an admin user (``.auth``)."""
    try:
        server = start_influxd(auth=True)
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def influx_db(influxd: Influxd) -> Iterator[str]:
    """A fresh, empty database on ``influxd`` for one test, dropped afterwards."""
    name = influxd.new_database()
    yield name
    try:
        influxd.query(f'DROP DATABASE "{name}"')
    except OSError:
        pass
