"""Is a config file that holds secrets readable by others? (docs/hardening.md)

A secret written into the YAML itself (not a ``${ENV}`` reference) is as safe
as the file's mode: readable by every user, or writable by the group (who can
then point the service elsewhere), is worth a warning at ``run`` and
``check-config``. The warning names the file and the fields, never a value.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Iterator, Optional

import yaml
from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url

from .loader import format_path
from .models import Config


def _secret_paths(obj: Any, path: tuple = ()) -> Iterator[tuple]:
    """Paths (YAML keys) of every SecretStr set in the validated config."""
    if isinstance(obj, SecretStr):
        yield path
    elif isinstance(obj, BaseModel):
        for name, info in type(obj).model_fields.items():
            yield from _secret_paths(getattr(obj, name), path + (info.alias or name,))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _secret_paths(v, path + (i,))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _secret_paths(v, path + (k,))


def _raw(data: Any, path: tuple) -> Any:
    for p in path:
        if isinstance(data, dict) and p in data:
            data = data[p]
        elif isinstance(data, list) and isinstance(p, int) and p < len(data):
            data = data[p]
        else:
            return None
    return data


def literal_secrets(text: str, cfg: Config) -> list[str]:
    """Fields whose secret is written in the file (not a ``${VAR}`` reference)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    out = []
    for p in _secret_paths(cfg):
        v = _raw(raw, p)
        if isinstance(v, (str, int)) and "${" not in str(v):
            out.append(format_path(p))
    url = _raw(raw, ("state", "url"))
    if isinstance(url, str) and "${" not in url:
        try:
            if make_url(url).password:
                out.append("state.url")
        except Exception:  # not a URL SQLAlchemy reads: the store says so at start
            pass
    return out


def exposure_warning(path: str | os.PathLike[str], cfg: Config) -> Optional[str]:
    """One line when ``path`` holds literal secrets and others may read (or the group
    write) it; None when it is fine."""
    p = Path(path)
    try:
        mode = stat.S_IMODE(p.stat().st_mode)
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    loose = []
    if mode & stat.S_IROTH:
        loose.append("readable by every user")
    if mode & stat.S_IWOTH:
        loose.append("writable by every user")
    if mode & stat.S_IWGRP:
        loose.append("writable by its group")
    if not loose:
        return None
    fields = literal_secrets(text, cfg)
    if not fields:
        return None
    shown = ", ".join(fields[:5]) + (f" and {len(fields) - 5} more" if len(fields) > 5 else "")
    return (f"{path}: warning: the file holds secrets ({shown}) and is {' and '.join(loose)} "
            f"(mode {mode:04o}): chmod 640 (owner and the service's group), or move the "
            "secrets to the environment as ${VAR} references (docs/hardening.md)")
