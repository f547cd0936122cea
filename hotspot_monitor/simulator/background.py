"""Run a Simulator on its own event loop in a daemon thread.

For synchronous callers (pytest tests driving net-snmp through subprocess,
the demo): the agents keep answering while the caller blocks.

    with BackgroundSimulator(Simulator(cfg, addressing="ports")) as sim:
        host, port = sim.endpoints["balekambang-1"]
"""
from __future__ import annotations

import asyncio
import threading
from typing import Optional

from .fleet import Simulator


class BackgroundSimulator:
    def __init__(self, sim: Simulator, start_timeout: float = 60.0) -> None:
        self.sim = sim
        self.start_timeout = start_timeout
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.sim.start())
        except BaseException as e:  # reported to the caller of start()
            self._error = e
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self.sim.stop()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    def start(self) -> Simulator:
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.start_timeout):
            raise RuntimeError("simulator did not start in time")
        if self._error is not None:
            raise self._error
        return self.sim

    def stop(self) -> None:
        if self.loop is not None and self._thread is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    def call(self, fn, *args, **kw):  # noqa: ANN001, ANN201 - thin helper
        """Run ``fn`` on the simulator's loop thread and return its result."""
        assert self.loop is not None
        fut = asyncio.run_coroutine_threadsafe(_call(fn, *args, **kw), self.loop)
        return fut.result(10)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _call(fn, *args, **kw):  # noqa: ANN001, ANN202
    return fn(*args, **kw)
