"""The operator dashboard: ``create_app(config)`` (see docs/dashboard.md)."""
from .app import create_app

__all__ = ["create_app"]
