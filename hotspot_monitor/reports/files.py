"""Generated reports kept in the state directory: what was sent is what is downloaded.

``<state.dir>/reports/<partner|city>/<YYYY-MM>/report-<partner|city>-<YYYY-MM>-<lang>.<fmt>``, written
atomically (temporary file, then rename). The dashboard serves the kept file of
a past month (the one the partner was sent) and generates one only when none
is kept; "regenerate" replaces it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from ..fileperm import write_private_bytes
from .period import Month


@dataclass(frozen=True, slots=True)
class StoredFile:
    path: Path
    name: str
    size: int
    sha256: str
    modified: datetime

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "bytes": self.size, "sha256": self.sha256}


class ReportFiles:
    def __init__(self, state_dir: Path):
        self.root = Path(state_dir) / "reports"

    def path(self, scope: str, month: Month, fmt: str, language: str) -> Path:
        return self.root / scope / str(month) / f"report-{scope}-{month}-{language}.{fmt}"

    def save(self, scope: str, month: Month, fmt: str, language: str, data: bytes) -> StoredFile:
        p = self.path(scope, month, fmt, language)
        write_private_bytes(p, data)  # atomic, 0640 whatever the umask (docs/hardening.md)
        return self._stat(p, data)

    def get(self, scope: str, month: Month, fmt: str, language: str) -> Optional[StoredFile]:
        p = self.path(scope, month, fmt, language)
        try:
            return self._stat(p, p.read_bytes())
        except FileNotFoundError:
            return None

    def _stat(self, p: Path, data: bytes) -> StoredFile:
        return StoredFile(p, p.name, len(data), hashlib.sha256(data).hexdigest(),
                          datetime.fromtimestamp(p.stat().st_mtime, timezone.utc))
