"""Serving the dashboard with waitress (a production WSGI server, pure Python, threads).

Waitress runs the same way in its own process (``hotspot-monitor web``) and
inside ``run`` (a thread beside the asyncio loop), needs no compiler and no
fork, and serves static files and slow clients from its own async I/O loop
while a small thread pool runs Flask.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Optional

from waitress.server import create_server

log = logging.getLogger("dashboard.server")


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass
class WebServer:
    """A waitress server bound at construction (so the port is known at once)."""

    app: Any
    listen: str
    threads: int = 8
    _server: Any = None
    _thread: Optional[threading.Thread] = None

    def bind(self) -> "WebServer":
        host, port = split_listen(self.listen)
        self._server = create_server(self.app, host=host, port=port, threads=self.threads,
                                     ident="hotspot-monitor", clear_untrusted_proxy_headers=True,
                                     channel_timeout=60, connection_limit=200)
        return self

    @property
    def url(self) -> str:
        host, port = self._server.effective_host, self._server.effective_port
        if ":" in str(host):
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    def serve_forever(self) -> None:
        self._server.run()

    def start_thread(self) -> "WebServer":
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            self._server.run()
        except Exception:  # closed at shutdown, or a bug: never take the service down
            log.debug("web server loop ended", exc_info=True)

    def close(self) -> None:
        """Stop serving: finish the running requests (5 s at most), close every
        socket in waitress's map, so its loop ends by itself."""
        if self._server is not None:
            from waitress import wasyncore

            self._server.task_dispatcher.shutdown(timeout=5)
            wasyncore.close_all(self._server._map, ignore_all=True)
        if self._thread is not None:
            self._thread.join(5)
