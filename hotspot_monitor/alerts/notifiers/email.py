"""E-mail over SMTP (stdlib ``smtplib``): STARTTLS or implicit TLS, login, text + HTML.

One connection per message: alerts are rare, and a fresh connection never
trips over a server that closed an idle one. The message is
``multipart/alternative`` (plain text first, HTML second); all mails of one
alert group carry the same ``References`` id so mail clients thread the
"firing" and the "resolved" mail together.

Classification follows the SMTP reply codes: 4xx temporary, 5xx permanent
(so an authentication failure, 535, is permanent; 454 "try again later" is
temporary). A refused or timed-out connection is temporary; a server
certificate the machine does not trust, or a server without STARTTLS/AUTH
when the config asks for them, is permanent. Errors carry the server's reply,
never the password.
"""
from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import NoReturn, Sequence

from .base import DeliveryError, Notifier, PermanentError, TemporaryError, register
from ..notification import Notification


AUTH_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")  # in order of preference (all over TLS)


def _code_error(code: int, text: str) -> DeliveryError:
    return TemporaryError(text) if 400 <= code < 500 else PermanentError(text)


def _reply(e: smtplib.SMTPResponseException) -> str:
    msg = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
    return f"{e.smtp_code} {' '.join(msg.split())}"


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail (the monthly report's PDF and XLSX)."""

    filename: str
    data: bytes
    mime_type: str  # e.g. "application/pdf"


def attach(mail: EmailMessage, attachments: Sequence[Attachment]) -> None:
    """Add files to a mail (a text/HTML mail becomes multipart/mixed)."""
    for a in attachments:
        maintype, _, subtype = a.mime_type.partition("/")
        mail.add_attachment(a.data, maintype=maintype, subtype=subtype or "octet-stream",
                            filename=a.filename)


@register
class EmailNotifier(Notifier):
    type = "email"

    @property
    def server(self) -> str:
        return f"{self.channel.smtp_host}:{self.channel.smtp_port}"

    def build(self, notification: Notification, attachments: Sequence[Attachment] = ()) -> EmailMessage:
        """The mail for ``notification`` (also used by tests and previews)."""
        ch = self.channel
        m = self.message(notification)
        mail = EmailMessage()
        mail["Subject"] = m.subject
        mail["From"] = ch.from_
        mail["To"] = ", ".join(ch.to)
        mail["Date"] = formatdate(notification.created_at.timestamp(), localtime=False)
        domain = ch.from_.rpartition("@")[2] or "hotspot-monitor"
        mail["Message-ID"] = make_msgid("hotspot", domain=domain)
        thread = hashlib.sha256(f"{ch.id}|{notification.group_key}".encode()).hexdigest()[:24]
        mail["References"] = f"<{thread}@{domain}>"
        mail["X-Hotspot-Status"] = notification.status
        mail.set_content(m.text)
        mail.add_alternative(m.html, subtype="html")
        attach(mail, attachments)
        return mail

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.channel.ca_file)

    def send(self, notification: Notification, attachments: Sequence[Attachment] = ()) -> None:
        self.deliver(self.build(notification, attachments))

    def deliver(self, mail: EmailMessage) -> None:
        """Send a ready mail to its ``To`` addresses through this channel's server
        (the monthly report builds its own mail and sends it here)."""
        ch = self.channel
        total = len(getaddresses(mail.get_all("To", []))) or len(ch.to)
        try:
            if ch.tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(ch.smtp_host, ch.smtp_port, timeout=ch.timeout_s,
                                                      context=self._tls_context())
            else:
                smtp = smtplib.SMTP(ch.smtp_host, ch.smtp_port, timeout=ch.timeout_s)
            with smtp:
                if ch.starttls and not ch.tls:
                    smtp.ehlo()
                    smtp.starttls(context=self._tls_context())
                    smtp.ehlo()
                if ch.username:
                    self._login(smtp)
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as e:
            self._refused(e.recipients, total=total)
        except smtplib.SMTPAuthenticationError as e:
            raise _code_error(e.smtp_code, f"{self.server}: login failed: {_reply(e)}") from None
        except smtplib.SMTPResponseException as e:
            raise _code_error(e.smtp_code, f"{self.server}: {_reply(e)}") from None
        except smtplib.SMTPNotSupportedError as e:
            raise PermanentError(f"{self.server}: {e}") from None
        except smtplib.SMTPServerDisconnected:
            raise TemporaryError(f"{self.server}: connection closed by the server") from None
        except ssl.SSLCertVerificationError as e:
            raise PermanentError(f"{self.server}: TLS certificate not trusted: {e.verify_message}") from None
        except ssl.SSLError as e:
            raise TemporaryError(f"{self.server}: TLS error: {e.reason or type(e).__name__}") from None
        except (socket.timeout, TimeoutError):
            raise TemporaryError(f"{self.server}: no answer within {ch.timeout_s:g} s") from None
        except OSError as e:
            raise TemporaryError(f"{self.server}: cannot connect: {e.strerror or type(e).__name__}") from None
        except smtplib.SMTPException as e:
            raise TemporaryError(f"{self.server}: {type(e).__name__}") from None
        if refused:
            self._refused(refused, total=total)

    def _login(self, smtp: smtplib.SMTP) -> None:
        """AUTH with one mechanism. ``smtplib.login`` tries the next mechanism after a
        535, which only makes some servers drop the connection (and hides the 535)."""
        ch = self.channel
        smtp.ehlo_or_helo_if_needed()
        if not smtp.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        offered = smtp.esmtp_features["auth"].upper().split()
        mech = next((m for m in AUTH_MECHANISMS if m in offered), None)
        if mech is None:
            raise smtplib.SMTPNotSupportedError(f"no supported AUTH mechanism (server offers {' '.join(offered)})")
        smtp.user, smtp.password = ch.username, ch.password.get_secret_value() if ch.password else ""
        smtp.auth(mech, getattr(smtp, "auth_" + mech.lower().replace("-", "_")),
                  initial_response_ok=True)

    def _refused(self, refused: dict, total: int) -> NoReturn:
        """Some or all recipients refused: temporary only when every refusal was 4xx."""
        codes = [code for code, _ in refused.values()]
        who = ", ".join(f"{addr} ({_reply(smtplib.SMTPResponseException(code, msg))})"
                        for addr, (code, msg) in sorted(refused.items()))
        text = f"{self.server}: {len(refused)} of {total} recipients refused: {who}"
        if all(400 <= c < 500 for c in codes):
            raise TemporaryError(text)
        raise PermanentError(text)
