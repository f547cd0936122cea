"""A local MQTT broker for the demo (and the tests' Mosquitto fixture).

``start_broker(port, data_dir)`` runs Debian's Mosquitto when
``/usr/sbin/mosquitto`` exists (listener on 127.0.0.1 only, persistence in
``data_dir``), otherwise amqtt, a pure-Python broker, in a subprocess. The
handle says which (``handle.kind``) and what clients must use:

* Mosquitto: MQTT 5, anonymous allowed on loopback.
* amqtt: MQTT 3.1.1 only, so ``handle.protocol == "3.1.1"``; anonymous access
  is OFF because amqtt queues nothing for persistent sessions of anonymous
  clients. Its auth then accepts any client that sends a username (no password
  check: loopback demo only) and ``handle.username`` is the one to use.
  Sessions are kept in memory only.

``start_mosquitto`` also takes a password file and TLS files; the tests use it.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

MOSQUITTO = "/usr/sbin/mosquitto"
DEMO_USERNAME = "hotspot-demo"


class BrokerError(RuntimeError):
    pass


@dataclass
class BrokerHandle:
    kind: str  # "mosquitto" | "amqtt"
    host: str
    port: int
    protocol: str  # "5" | "3.1.1": what clients must speak
    proc: subprocess.Popen
    log_path: Path
    data_dir: Path
    username: Optional[str] = None
    extra: dict = field(default_factory=dict)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-lines:])
        except OSError:
            return ""


def start_broker(port: int, data_dir: Path, *, prefer: Optional[str] = None,
                 timeout: float = 20.0) -> BrokerHandle:
    """Mosquitto if installed (or ``prefer="amqtt"`` to force the fallback)."""
    if prefer != "amqtt" and os.access(MOSQUITTO, os.X_OK):
        return start_mosquitto(port, data_dir, timeout=timeout)
    return start_amqtt(port, data_dir, timeout=timeout)


def start_mosquitto(port: int, data_dir: Path, *, password_file: Optional[Path] = None,
                    tls: Optional[dict[str, str]] = None, timeout: float = 20.0,
                    extra: Sequence[str] = ()) -> BrokerHandle:
    """Run ``mosquitto -c <generated conf>``; ``tls`` = {cafile, certfile, keyfile};
    ``extra``: more config lines (limits such as ``max_packet_size``)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "mosquitto.log"
    lines = [
        "per_listener_settings false",
        f"listener {port} 127.0.0.1",
        f"allow_anonymous {'false' if password_file else 'true'}",
        "persistence true",
        f"persistence_location {data_dir}/",
        f"log_dest file {log_path}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "max_queued_messages 100000",
        "max_inflight_messages 1000",
    ]
    lines += list(extra)
    if password_file:
        lines.append(f"password_file {password_file}")
    if tls:
        lines += [f"cafile {tls['cafile']}", f"certfile {tls['certfile']}",
                  f"keyfile {tls['keyfile']}", "require_certificate false"]
    if os.geteuid() == 0:
        # as root mosquitto switches to user "mosquitto", who cannot read private temp dirs
        lines.append("user root")
    conf = data_dir / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    with open(data_dir / "mosquitto.stderr", "ab") as err:
        proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=err, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    h = BrokerHandle("mosquitto", "127.0.0.1", port, "5", proc, log_path, data_dir)
    _wait_ready(h, timeout, data_dir / "mosquitto.stderr")
    return h


_AMQTT_CONF = """\
listeners:
  default:
    type: tcp
    bind: 127.0.0.1:{port}
plugins:
  amqtt.plugins.authentication.AnonymousAuthPlugin:
    allow_anonymous: false
"""


def start_amqtt(port: int, data_dir: Path, *, timeout: float = 20.0) -> BrokerHandle:
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "amqtt.yaml"
    conf.write_text(_AMQTT_CONF.format(port=port))
    log_path = data_dir / "amqtt.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    h = BrokerHandle("amqtt", "127.0.0.1", port, "3.1.1", proc, log_path, data_dir,
                     username=DEMO_USERNAME)
    _wait_ready(h, timeout, log_path)
    return h


def _wait_ready(h: BrokerHandle, timeout: float, extra_log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if h.proc.poll() is not None:
            break
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((h.host, h.port)) == 0:
                return
        time.sleep(0.05)
    h.stop()
    tail = h.log_tail()
    try:
        tail += extra_log.read_text(errors="replace")[-2000:]
    except OSError:
        pass
    raise BrokerError(f"{h.kind} on {h.host}:{h.port} did not start (exit {h.proc.returncode})\n{tail}")
