"""Open the metric store the configuration asks for."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..config.models import StoreSettings
from ..fileperm import private_dir, private_file
from .base import MetricStore, StoreError


def open_store(settings: StoreSettings, base_dir: Optional[Path] = None) -> MetricStore:
    """A ready MetricStore; a relative SQLite path is resolved against ``base_dir``
    (normally the config file's directory) and its parent directories are created."""
    if settings.kind == "influxdb":
        from .influxdb import InfluxStore

        return InfluxStore(settings.influxdb)
    path = Path(settings.sqlite.path).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    try:
        private_dir(path.parent)
        private_file(path)
    except OSError as e:
        raise StoreError(f"SQLite {path}: cannot create its directory: {e}") from None
    from .sqlite import SqliteStore

    return SqliteStore(path)
