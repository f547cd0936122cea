"""One module per CLI command: ``configure(parser)`` and ``main(args) -> int``."""
from __future__ import annotations

import os
import sys
from typing import Optional

from ..config import Config, ConfigError, load_config


def load_or_report(path: str | os.PathLike[str]) -> Optional[Config]:
    """The validated config, or None after printing every error to stderr
    (``FILE:LINE: path: message``); commands then exit 2."""
    try:
        return load_config(path)
    except ConfigError as e:
        for issue in e.issues:
            print(issue, file=sys.stderr)
        return None


def warn_if_exposed(path: str | os.PathLike[str], cfg: Config) -> None:
    """A config with secrets that others may read: one warning line on stderr."""
    from ..config.exposure import exposure_warning

    msg = exposure_warning(path, cfg)
    if msg:
        print(msg, file=sys.stderr)
