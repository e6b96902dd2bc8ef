"""Sending one message over SMTP with aiosmtplib (settings: host, port, STARTTLS, login, from address)."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage

import aiosmtplib

from planeco_diagnostic.outbox.models import OutboxMessage
from planeco_diagnostic.settings import DiagnosticSettings


def build_message(message: OutboxMessage, settings: DiagnosticSettings) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = message.to_address
    if message.reply_to:
        mail["Reply-To"] = message.reply_to
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.format_datetime(message.created_at)
    mail["Message-ID"] = message.message_id
    mail.set_content(message.text_body)
    mail.add_alternative(message.html_body, subtype="html")
    return mail


def connection(settings: DiagnosticSettings) -> aiosmtplib.SMTP:
    """An SMTP client, not connected yet (`await smtp.connect()`: STARTTLS and login as set)."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        start_tls=settings.smtp_starttls,
        use_tls=False,
        timeout=settings.smtp_timeout,
    )
