"""Dead-letter log: rejected MQTT messages kept for inspection.

JSON lines, one per rejected message: ``time`` (receive time, ISO UTC),
``topic``, ``reason``, ``detail``, ``size`` (payload bytes) and
``payload_b64`` (the first ``EXCERPT`` bytes, base64). When the file passes
``max_bytes`` it is renamed to ``<name>.1`` (replacing an older one), so at
most twice ``max_bytes`` is ever on disk. Writing never raises: a full disk
must not stop ingestion.
"""
from __future__ import annotations

import base64
import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Optional

from hotspot_monitor.fileperm import open_private, private_dir

EXCERPT = 512


class DeadLetterLog:
    def __init__(self, path: Optional[Path], max_bytes: int = 10_000_000):
        self.path = Path(path) if path else None
        self.max_bytes = max_bytes
        self.written = 0
        self.errors = 0
        self._lock = threading.Lock()
        if self.path:
            private_dir(self.path.parent)

    def append(self, when: datetime, topic: str, reason: str, detail: str, payload: bytes) -> None:
        if self.path is None:
            return
        line = json.dumps({
            "time": when.isoformat().replace("+00:00", "Z"),
            "topic": topic,
            "reason": reason,
            "detail": detail,
            "size": len(payload),
            "payload_b64": base64.b64encode(payload[:EXCERPT]).decode("ascii"),
        }, ensure_ascii=True) + "\n"
        with self._lock:
            try:
                if self.path.exists() and self.path.stat().st_size + len(line) > self.max_bytes:
                    os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                with open_private(self.path, "a", encoding="ascii") as f:
                    f.write(line)
                self.written += 1
            except OSError:
                self.errors += 1
