"""Sending one message over SMTP with aiosmtplib (settings: host, port, STARTTLS or implicit TLS, the CA to
check the server's certificate against, login, from address)."""

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
    """An SMTP client, not connected yet (`await smtp.connect()`: TLS and login as set). The server's
    certificate is always checked (against `smtp_ca_file` when set)."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        start_tls=settings.smtp_starttls,
        use_tls=settings.smtp_implicit_tls,
        validate_certs=True,
        cert_bundle=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        timeout=settings.smtp_timeout,
    )
