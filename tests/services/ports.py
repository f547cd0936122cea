"""Free loopback ports and readiness polling for service fixtures."""
from __future__ import annotations

import socket
import subprocess
import time
from typing import Callable


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], bool], timeout: float, what: str,
             proc: subprocess.Popen | None = None, log: str | None = None) -> None:
    """Poll ``check`` until true; fail (never skip) with the service's log if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}" + _tail(log))
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready after {timeout}s" + _tail(log))


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _tail(log: str | None) -> str:
    if not log:
        return ""
    try:
        with open(log, errors="replace") as f:
            return "\n--- log tail ---\n" + "".join(f.readlines()[-30:])
    except OSError:
        return ""
