"""Logging helpers: rate-limited warnings and a key=value / JSON formatter."""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import datetime, timezone


class RateLimitedLog:
    """Log at most once per ``interval_s`` per message template; count the rest.

    Bad input arrives in floods (a broken AP publishing every second); the log
    must stay readable and the process must not spend its time writing it.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0):
        self.logger = logger
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def log(self, level: int, msg: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(msg)
            if last is not None and now - last < self.interval_s:
                self._suppressed[msg] = self._suppressed.get(msg, 0) + 1
                return
            self._last[msg] = now
            skipped = self._suppressed.pop(msg, 0)
        if skipped:
            msg = msg + f" (and {skipped} similar messages suppressed)"
        self.logger.log(level, msg, *args)

    def warning(self, msg: str, *args: object) -> None:
        self.log(logging.WARNING, msg, *args)

    def info(self, msg: str, *args: object) -> None:
        self.log(logging.INFO, msg, *args)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        d = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            d.update(extra)
        if record.exc_info:
            d["exc"] = self.formatException(record.exc_info)
        return json.dumps(d, ensure_ascii=False, default=str)


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
