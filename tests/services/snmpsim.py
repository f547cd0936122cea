"""snmpsim serving the shared recordings on a free loopback UDP port.

Every ``*.snmprec`` of ``shared/fixtures/snmprec`` is copied into a temp data
dir (community = file name without ``.snmprec``), plus two files tests own:

* ``counters.snmprec``: a copy of ``unifi_nanohd`` that tests edit between
  polls (snmpsim re-indexes a file whose mtime changed);
* ``broken.snmprec``: a hand-made agent giving bad answers (wrong types,
  truncated table), see :data:`BROKEN`;
* ``zonedirector.snmprec``: a ZoneDirector written from its MIB, see
  :data:`ZONEDIRECTOR`.
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

ROOT = Path(__file__).resolve().parents[2]
RESPONDER = ROOT / ".venv" / "bin" / "snmpsim-command-responder"

# A device that answers badly. UniFi-shaped so the unifi profile applies.
BROKEN = """\
1.3.6.1.2.1.1.1.0|4|UAP-broken
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10
1.3.6.1.2.1.1.3.0|4|not-a-number
1.3.6.1.2.1.2.2.1.3.1|2|6
1.3.6.1.2.1.2.2.1.3.2|2|6
1.3.6.1.2.1.2.2.1.3.3|2|6
1.3.6.1.2.1.2.2.1.8.1|2|1
1.3.6.1.2.1.2.2.1.8.2|2|1
1.3.6.1.2.1.2.2.1.8.3|2|1
1.3.6.1.2.1.25.3.3.1.2.1|4|busy
1.3.6.1.2.1.25.3.3.1.2.2|2|40
1.3.6.1.2.1.31.1.1.1.1.1|4|eth0
1.3.6.1.2.1.31.1.1.1.1.2|4|ra0
1.3.6.1.2.1.31.1.1.1.1.3|4|rai0
1.3.6.1.2.1.31.1.1.1.6.1|70|1000
1.3.6.1.2.1.31.1.1.1.6.2|4|lots
1.3.6.1.2.1.31.1.1.1.10.1|70|2000
1.3.6.1.2.1.31.1.1.1.10.2|70|3000
1.3.6.1.4.1.41112.1.6.1.2.1.8.1|2|5
1.3.6.1.4.1.41112.1.6.1.2.1.8.2|4|many
1.3.6.1.4.1.41112.1.6.1.2.1.8.3|2|2
1.3.6.1.4.1.41112.1.6.1.2.1.9.1|4|ng
1.3.6.1.4.1.41112.1.6.1.2.1.9.2|4|na
1.3.6.1.4.1.41112.1.6.3.3.0|4|UAP-broken
"""


# A ZoneDirector written from RUCKUS-ZD-WLAN-MIB (no real recording exists in
# the fixtures): two APs, 00:11:22:33:44:55 connected (1), 00:11:22:33:44:66
# disconnected (0).
ZONEDIRECTOR = """\
1.3.6.1.2.1.1.1.0|4|Ruckus Wireless ZD1200
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.25053.3.1.5.15
1.3.6.1.2.1.1.3.0|67|360000
1.3.6.1.4.1.25053.1.2.1.1.1.5.58.0|2|12
1.3.6.1.4.1.25053.1.2.1.1.1.5.59.0|2|41
1.3.6.1.4.1.25053.1.2.1.1.1.15.1.0|66|2
1.3.6.1.4.1.25053.1.2.1.1.1.15.2.0|66|9
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.1.0.17.34.51.68.85|4x|001122334455
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.1.0.17.34.51.68.102|4x|001122334466
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.2.0.17.34.51.68.85|4|Lobby
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.2.0.17.34.51.68.102|4|Gate
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.3.0.17.34.51.68.85|2|1
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.3.0.17.34.51.68.102|2|0
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.6.0.17.34.51.68.85|67|12345600
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.15.0.17.34.51.68.85|66|9
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.15.0.17.34.51.68.102|66|0
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.27.0.17.34.51.68.85|2|18900
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.28.0.17.34.51.68.85|2|30000
1.3.6.1.4.1.25053.1.2.2.1.1.2.1.1.29.0.17.34.51.68.85|2|7
"""


@dataclass
class Snmpsim:
    host: str
    port: int
    data_dir: Path
    log: str

    def touch(self, name: str, text: str) -> None:
        """Rewrite ``<name>.snmprec`` and move its mtime forward so snmpsim re-indexes it."""
        path = self.data_dir / f"{name}.snmprec"
        old = path.stat().st_mtime
        path.write_text(text)
        os.utime(path, (old + 2, old + 2))


def _ready(port: int) -> bool:
    r = subprocess.run(["snmpget", "-v2c", "-c", "unifi_nanohd", "-t", "0.5", "-r", "0", "-Oqv",
                        f"127.0.0.1:{port}", "1.3.6.1.2.1.1.3.0"],
                       capture_output=True, text=True, timeout=5)
    return r.returncode == 0 and r.stdout.strip() != ""


@pytest.fixture(scope="session")
def snmpsim(snmprec_dir: Path) -> Iterator[Snmpsim]:
    assert RESPONDER.exists(), f"missing {RESPONDER}: pip install snmpsim pysmi into .venv"
    assert shutil.which("snmpget"), "net-snmp client tools (Debian package snmp) are required"
    tmp = Path(tempfile.mkdtemp(prefix="snmpsim-"))
    data = tmp / "data"
    data.mkdir()
    for f in snmprec_dir.glob("*.snmprec"):
        shutil.copy(f, data / f.name)
    shutil.copy(snmprec_dir / "unifi_nanohd.snmprec", data / "counters.snmprec")
    (data / "broken.snmprec").write_text(BROKEN)
    (data / "zonedirector.snmprec").write_text(ZONEDIRECTOR)
    port = free_port(socket.SOCK_DGRAM)
    log = str(tmp / "snmpsim.log")
    env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(RESPONDER), f"--data-dir={data}", f"--cache-dir={tmp / 'cache'}",
             f"--agent-udpv4-endpoint=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    try:
        wait_for(lambda: _ready(port), 60, "snmpsim", proc, log)
        yield Snmpsim("127.0.0.1", port, data, log)
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
