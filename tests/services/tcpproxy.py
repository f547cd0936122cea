"""A loopback TCP forwarder that a test can take down and bring back.

Stores and brokers are real; the outage is real too: while ``down()`` the
port refuses connections and open connections are reset, exactly what a
client sees when the server host goes away.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Optional

from services.ports import free_port


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", port: Optional[int] = None):
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self._server: Optional[socket.socket] = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.reply_delay_s = 0.0  # each chunk from the target waits this long (SlowProxy)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> "TcpProxy":
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self._server = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()
        return self

    def down(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            conns, self._conns = self._conns, []
        if server is not None:
            try:  # wakes the thread blocked in accept(); close() alone leaves it listening
                server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            server.close()
        for c in conns:
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.close()
            except OSError:
                pass

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._server is not server:
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            for a, b, delay in ((client, upstream, 0.0), (upstream, client, self.reply_delay_s)):
                threading.Thread(target=self._pipe, args=(a, b, delay), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, delay_s: float) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay_s:
                    time.sleep(delay_s)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class SlowProxy(TcpProxy):
    """A TcpProxy whose server answers late: every chunk coming back from the
    target waits ``delay_s`` first (a slow InfluxDB, a congested link)."""

    def __init__(self, target_port: int, delay_s: float, **kw):
        super().__init__(target_port, **kw)
        self.reply_delay_s = delay_s
