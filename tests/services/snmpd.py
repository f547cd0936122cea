"""net-snmp ``snmpd`` on a free loopback UDP port: v2c community + v3 users.

The agent serves the real Linux host (IF-MIB, HOST-RESOURCES, UCD), which is
what the generic profile must read. Users (persistent dir is a temp dir):

* ``sha256aes``: authPriv, SHA-256 / AES-128
* ``shaaes``:    authPriv, SHA / AES-128
* v2c community ``SNMPD_COMMUNITY``
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from services.ports import free_port, stop, wait_for

SNMPD = "/usr/sbin/snmpd"
SNMPD_COMMUNITY = "snmpd-ro-Xq7"
USERS = {
    "sha256aes": ("SHA-256", "auth-key-sha256-1", "AES", "priv-key-aes-1"),
    "shaaes": ("SHA", "auth-key-sha1-2", "AES", "priv-key-aes-2"),
}


@dataclass
class Snmpd:
    host: str
    port: int
    ports: list[int]
    community: str
    users: dict[str, tuple[str, str, str, str]]
    log: str


def snmp_get_ok(port: int, community: str, host: str = "127.0.0.1") -> bool:
    r = subprocess.run(["snmpget", "-v2c", "-c", community, "-t", "0.5", "-r", "0", "-Oqv",
                        f"{host}:{port}", "1.3.6.1.2.1.1.3.0"],
                       capture_output=True, text=True, timeout=5)
    return r.returncode == 0 and r.stdout.strip() != ""


def start_snmpd(tmp: Path, n_ports: int = 1) -> tuple[subprocess.Popen, Snmpd]:
    """Start snmpd listening on ``n_ports`` free UDP ports (benchmarks use several)."""
    ports = [free_port(socket.SOCK_DGRAM) for _ in range(n_ports)]
    persist = tmp / "persist"
    persist.mkdir(parents=True, exist_ok=True)
    conf = tmp / "snmpd.conf"
    lines = [
        "agentAddress " + ",".join(f"udp:127.0.0.1:{p}" for p in ports),
        f"rocommunity {SNMPD_COMMUNITY} 127.0.0.1",
        "master no",
        "dontLogTCPWrappersConnects yes",
    ]
    for user, (ap, ak, pp, pk) in USERS.items():
        lines.append(f'createUser {user} {ap} "{ak}" {pp} "{pk}"')
        lines.append(f"rouser {user} priv")
    conf.write_text("\n".join(lines) + "\n")
    log = str(tmp / "snmpd.log")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(persist))
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [SNMPD, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(tmp / "snmpd.pid"),
             "--persistentDir=" + str(persist), "-I", "-smux"],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        for p in ports:
            wait_for(lambda p=p: snmp_get_ok(p, SNMPD_COMMUNITY), 20, f"snmpd on udp {p}", proc, log)
    except Exception:
        stop(proc)
        raise
    return proc, Snmpd("127.0.0.1", ports[0], ports, SNMPD_COMMUNITY, dict(USERS), log)


@pytest.fixture(scope="session")
def snmpd() -> Iterator[Snmpd]:
    assert shutil.which("snmpget"), "net-snmp client tools (Debian package snmp) are required"
    assert os.path.exists(SNMPD), "net-snmp agent (Debian package snmpd) is required"
    tmp = Path(tempfile.mkdtemp(prefix="snmpd-"))
    proc, info = start_snmpd(tmp)
    try:
        yield info
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
