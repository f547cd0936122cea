"""A tiny loopback HTTP control endpoint for a running ``simulate`` process.

``POST /down?ap=ID[&for=SECONDS]``, ``/up?ap=ID[&reboot=1]``, ``/reboot?ap=ID``,
``/cut?site=ID[&for=SECONDS]``, ``/restore?site=ID``; ``GET /endpoints``,
``GET /stats``. Answers JSON. Binds 127.0.0.1 only.
"""
from __future__ import annotations

import asyncio
import json
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .fleet import Simulator


def _action(sim: Simulator, path: str, q: dict[str, str]) -> object:
    now = sim.now()
    dur = float(q["for"]) if "for" in q else None
    until = now + dur if dur is not None else None
    routes: dict[str, Callable[[], object]] = {
        "/down": lambda: sim.force_down(q["ap"], until),
        "/up": lambda: sim.force_up(q["ap"], reboot=q.get("reboot") in ("1", "true")),
        "/reboot": lambda: sim.reboot(q["ap"]),
        "/cut": lambda: sim.power_cut(q["site"], until),
        "/restore": lambda: sim.power_restore(q["site"]),
        "/endpoints": lambda: {k: list(v) for k, v in sim.endpoints.items()},
        "/stats": lambda: {"requests": sim.requests, "answered": sim.answered,
                           "dropped_down": sim.dropped_down, "errors": sim.errors},
    }
    if path not in routes:
        raise LookupError(path)
    out = routes[path]()
    return {"ok": True, "t": now} if out is None else out


async def serve_control(sim: Simulator, port: int, host: str = "127.0.0.1") -> asyncio.AbstractServer:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await asyncio.wait_for(reader.readline(), 5)).decode("latin-1")
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.split()
            url = urlsplit(parts[1] if len(parts) > 1 else "/")
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                body, status = _action(sim, url.path, q), "200 OK"
            except KeyError as e:  # missing parameter, unknown AP or site
                body, status = {"ok": False, "error": f"missing or unknown {e}"}, "400 Bad Request"
            except LookupError as e:
                body, status = {"ok": False, "error": f"unknown {e}"}, "404 Not Found"
            except (ValueError, TypeError) as e:
                body, status = {"ok": False, "error": str(e)}, "400 Bad Request"
            data = json.dumps(body).encode()
            writer.write(f"HTTP/1.0 {status}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
