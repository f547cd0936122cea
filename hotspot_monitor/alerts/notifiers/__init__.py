"""Notifiers: one module per channel type, each registering its class in ``NOTIFIERS``.

Adding a channel type: a settings class in ``alerts/config.py``, a module here
with a ``@register``-ed :class:`Notifier` subclass whose ``send`` raises
:class:`TemporaryError` or :class:`PermanentError`, an import below, a test
against a local stand-in server, and a section in docs/alerts_channels.md.
"""
from .base import (NOTIFIERS, DeliveryError, Notifier, PermanentError, TemporaryError, notifier_for,
                   redact, register)
from . import email, mqtt, telegram, webhook, whatsapp  # noqa: F401  (each registers itself)

__all__ = ["NOTIFIERS", "DeliveryError", "Notifier", "PermanentError", "TemporaryError",
           "notifier_for", "redact", "register"]
