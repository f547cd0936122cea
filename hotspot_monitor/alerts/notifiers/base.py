"""What every notifier shares: the two error kinds, the base class, the registry.

healthchecks' transports are the model (STYLE.md #5): one small class per
channel type with one ``send`` method. ``send`` returns when the channel
accepted the message and raises :class:`TemporaryError` (try again later:
network down, timeout, 5xx, 429) or :class:`PermanentError` (retrying will not
help: wrong chat id, bad token, rejected recipient). The dispatcher records
either in the attempt log, so error texts are written for operators and never
contain a secret: notifiers build them from status codes and host names, and
:func:`redact` removes every secret value of the channel as a second guard.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Optional
from urllib.parse import quote

from pydantic import BaseModel, SecretStr

from ..messages import Message, render
from ..notification import Notification

if TYPE_CHECKING:
    from ...config.models import Config

MAX_ERROR_CHARS = 500
# Libraries that log request lines at DEBUG: urllib3 logs "POST /bot<token>/sendMessage".
GUARDED_LOGGERS = ("urllib3.connectionpool", "urllib3.poolmanager")


class DeliveryError(Exception):
    """A failed send; ``permanent`` says whether retrying can help."""

    permanent: ClassVar[bool] = False

    def __init__(self, message: str, *, retry_after: Optional[float] = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after  # seconds the server asked us to wait (HTTP Retry-After)


class TemporaryError(DeliveryError):
    permanent = False


class PermanentError(DeliveryError):
    permanent = True


class Notifier:
    """One channel of one type. Subclasses set ``type`` and implement :meth:`send`."""

    type: ClassVar[str] = ""

    def __init__(self, channel: Any, config: "Config"):
        self.channel = channel
        self.config = config
        guard_logs(self.secrets())

    def send(self, notification: Notification) -> None:
        raise NotImplementedError

    def message(self, notification: Notification) -> Message:
        """The notification in this channel's language and the config's time zone."""
        return render(notification, self.channel.language, self.config.tz)

    def secrets(self) -> list[str]:
        """Every secret this notifier holds (to be kept out of errors and logs)."""
        return list(secret_values(self.channel))

    def close(self) -> None:
        """Release connections (the dispatcher calls it at stop)."""


NOTIFIERS: dict[str, type[Notifier]] = {}


def register(cls: type[Notifier]) -> type[Notifier]:
    """Class decorator: make ``cls`` the notifier for channels of ``cls.type``."""
    if not cls.type or cls.type in NOTIFIERS:
        raise ValueError(f"notifier type {cls.type!r} missing or registered twice")
    NOTIFIERS[cls.type] = cls
    return cls


def notifier_for(channel: Any, config: "Config") -> Notifier:
    """A notifier for one configured channel (``alerts.channels[]`` entry)."""
    try:
        cls = NOTIFIERS[channel.type]
    except KeyError:
        raise PermanentError(f"no notifier for channel type {channel.type!r}") from None
    return cls(channel, config)


def secret_values(model: Any) -> Iterable[str]:
    """The values of every ``SecretStr`` in a settings model (nested models, lists, dicts)."""
    if isinstance(model, SecretStr):
        v = model.get_secret_value()
        if v:
            yield v
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            yield from secret_values(getattr(model, name))
    elif isinstance(model, dict):
        for v in model.values():
            yield from secret_values(v)
    elif isinstance(model, (list, tuple)):
        for v in model:
            yield from secret_values(v)


class _RedactingFilter(logging.Filter):
    """Rewrites records of library loggers so that no known secret gets through."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = redact(text, self.secrets, limit=None)
        if clean != text:
            record.msg, record.args = clean, None
        return True


_filter = _RedactingFilter()
_filter_lock = threading.Lock()


def guard_logs(secrets: Iterable[str]) -> None:
    """Keep ``secrets`` out of the DEBUG request lines of the HTTP library."""
    with _filter_lock:
        _filter.secrets.update(s for s in secrets if s)
        for name in GUARDED_LOGGERS:
            logger = logging.getLogger(name)
            if _filter not in logger.filters:
                logger.addFilter(_filter)


def redact(text: Optional[str], secrets: Iterable[str],
           limit: Optional[int] = MAX_ERROR_CHARS) -> Optional[str]:
    """``text`` with every secret (as is, or URL-quoted) replaced by ``***``; shortened."""
    if text is None:
        return None
    for s in sorted(set(secrets), key=len, reverse=True):
        if len(s) < 3:
            continue  # a one- or two-character "secret" would blank out ordinary words
        for form in {s, quote(s, safe=""), quote(s)}:
            text = text.replace(form, "***")
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text
