"""The "email" MessageChannel: one SMTP submission per message through aiosmtplib.

Subject and body are UTF-8 (RFC 2047 encoded-words in headers, a UTF-8 text/plain
part), so Cyrillic arrives intact through any 7-bit relay. 5xx answers are permanent
(REJECTED); 4xx answers and network errors are transient (RETRY_LATER). SMTP has no
delivery receipts, so ``start`` and ``stop`` have nothing to do.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage

import aiosmtplib

from plugins.email.settings import EmailSettings
from server.plugin_api import DeliveryCallback, OutgoingMessage, SendResult, SendStatus


class EmailChannel:
    name = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def start(self, on_delivery_report: DeliveryCallback | None = None) -> None:
        """Nothing to open: each send uses its own short SMTP connection."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def send(self, message: OutgoingMessage) -> SendResult:
        mail = self.build(message)
        s = self.settings
        try:
            await aiosmtplib.send(
                mail, hostname=s.host, port=s.port, username=s.username or None,
                password=s.password or None, use_tls=s.use_tls, start_tls=s.start_tls,
                timeout=s.timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _from_code(min(r.code for r in exc.recipients), str(exc))
        except aiosmtplib.SMTPResponseException as exc:
            return _from_code(exc.code, f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult(SendStatus.RETRY_LATER, error=repr(exc))
        return SendResult(SendStatus.ACCEPTED, (mail["Message-ID"],))

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """The MIME message; its Message-ID is the provider message id."""
        mail = EmailMessage()
        mail["From"] = message.sender or self.settings.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject or ""
        mail["Date"] = email.utils.formatdate(localtime=False)
        domain = email.utils.parseaddr(self.settings.sender)[1].rpartition("@")[2]
        mail["Message-ID"] = email.utils.make_msgid(idstring=message.reference,
                                                    domain=domain or "kopilka.invalid")
        mail.set_content(message.body, charset="utf-8")
        return mail


def _from_code(code: int, error: str) -> SendResult:
    status = SendStatus.REJECTED if 500 <= code < 600 else SendStatus.RETRY_LATER
    return SendResult(status, error=error)
