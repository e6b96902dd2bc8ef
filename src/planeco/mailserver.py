"""A real SMTP server on loopback (aiosmtpd) for the tests and `planeco dev up`: every message it accepts is
kept as an `.eml` file in a folder, so that a developer can open what the diagnostic sent.

`python -m planeco.mailserver --port 1025 --dir .data/mail [--refuse-domain refused.test]`: recipients at a
refused domain get `550` at RCPT (what a real server answers for an unknown mailbox), to test retries.
`--tls implicit|starttls --tls-cert CERT.pem --tls-key KEY.pem`: TLS from the first byte (SMTPS, as on port
465) or after STARTTLS (as on port 587), so that the outbox's TLS settings are tested against a real
handshake. Stops on SIGTERM or SIGINT. Not for production: it relays nothing, it only keeps."""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class KeepingHandler:
    """Accepts every message and writes it as `<n>-<id>.eml` (the raw bytes received, with the envelope's
    recipients in an `X-Envelope-To` header first)."""

    def __init__(self, folder: Path, refuse_domains: frozenset[str]) -> None:
        self.folder = folder
        self.refuse_domains = refuse_domains
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = len(list(self.folder.glob("*.eml")))

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.rpartition("@")[2].lower() in self.refuse_domains:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.count += 1
        content = envelope.original_content or b""
        recipients = ", ".join(envelope.rcpt_tos).encode()
        path = self.folder / f"{self.count:06d}-{uuid.uuid4().hex[:8]}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(b"X-Envelope-To: " + recipients + b"\r\n" + content)
        partial.rename(path)  # readers never see half a message
        return "250 OK: kept"


TLS_MODES = ("implicit", "starttls")


def serve(
    port: int,
    folder: Path,
    refuse_domains: frozenset[str],
    host: str = "127.0.0.1",
    *,
    tls: str | None = None,
    certificate: tuple[Path, Path] | None = None,
) -> None:
    """`tls`: None, "implicit" or "starttls", with `certificate` (the PEM certificate and key files)."""
    handler = KeepingHandler(folder, refuse_domains)
    options: dict[str, Any] = {}
    if tls is not None:
        if tls not in TLS_MODES or certificate is None:
            raise ValueError(f"tls is one of {TLS_MODES}, with a certificate and its key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        # implicit: the listening socket speaks TLS; starttls: offered, and required before MAIL
        options = (
            {"ssl_context": context}
            if tls == "implicit"
            else {"tls_context": context, "require_starttls": True}
        )
    controller = Controller(handler, hostname=host, port=port, **options)
    controller.start()
    print(f"SMTP server on {host}:{port}: messages kept in {folder}/ as .eml files", flush=True)
    loop = asyncio.new_event_loop()
    stopped = asyncio.Event()

    def stop(*_: Any) -> None:
        loop.call_soon_threadsafe(stopped.set)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        loop.run_until_complete(stopped.wait())
    finally:
        controller.stop()
        loop.close()


class MailServer:
    """A running server as the tests see it: its port, and the messages it kept."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.folder = folder

    def received(self, address: str | None = None) -> list[EmailMessage]:
        """The messages accepted (for `address` only, when given), oldest first."""
        found = []
        for path in sorted(self.folder.glob("*.eml")):
            raw = path.read_bytes()
            envelope = raw.split(b"\r\n", 1)[0].decode()
            if address is None or address in envelope:
                message = email.message_from_bytes(raw, policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                found.append(message)
        return found


@contextmanager
def running_mail_server(
    port: int,
    folder: Path,
    *,
    refuse_domains: Iterable[str] = (),
    startup_seconds: float = 20,
    tls: str | None = None,
    certificate: tuple[Path, Path] | None = None,
) -> Iterator[MailServer]:
    """This server as its own process on loopback while the block runs, stopped by its PID."""
    command = [sys.executable, "-m", "planeco.mailserver", "--port", str(port), "--dir", str(folder)]
    for domain in refuse_domains:
        command += ["--refuse-domain", domain]
    if tls is not None and certificate is not None:
        command += ["--tls", tls, "--tls-cert", str(certificate[0]), "--tls-key", str(certificate[1])]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603 (our own interpreter)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the SMTP server did not start") from None
                time.sleep(0.05)
        yield MailServer(port, folder)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"))
    parser.add_argument("--refuse-domain", action="append", default=[])
    parser.add_argument("--tls", choices=TLS_MODES, default=None)
    parser.add_argument("--tls-cert", type=Path, default=None)
    parser.add_argument("--tls-key", type=Path, default=None)
    arguments = parser.parse_args()
    refused = frozenset(domain.lower() for domain in arguments.refuse_domain)
    if arguments.tls is not None and (arguments.tls_cert is None or arguments.tls_key is None):
        parser.error("--tls needs --tls-cert and --tls-key")
    certificate = (arguments.tls_cert, arguments.tls_key) if arguments.tls is not None else None
    serve(arguments.port, arguments.dir, refused, arguments.host, tls=arguments.tls, certificate=certificate)


if __name__ == "__main__":
    main()
