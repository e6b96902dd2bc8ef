"""The e-mail outbox against a real SMTP server on loopback (aiosmtpd, its own process): what reaches it,
retries of refused and undeliverable messages, never twice, the daily cap, the outbox read's scopes."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco.mailserver import MailServer, running_mail_server
from planeco_diagnostic.app import create_app
from planeco_diagnostic.db import JobRun
from planeco_diagnostic.jobs import JOBS
from planeco_diagnostic.outbox.models import MessageStatus, OutboxMessage
from planeco_diagnostic.outbox.rendering import TemplateError
from planeco_diagnostic.outbox.repository import OutboxRepository
from planeco_diagnostic.outbox.service import INTERRUPTED, deliver_due, enqueue
from planeco_shared.jobs import JobOutcome, JobResult, JobTrigger, run_job
from planeco_shared.runtime import ServiceRuntime, runtime_of
from planeco_shared.scopes import Territory
from planeco_shared.testing import assert_problem, identity_headers, isolated, unused_port

from .conftest import diagnostic_settings

REFUSED_DOMAIN = "refused.test"
CONTEXT = {
    "recipient_name": "Camille Martin",
    "region_name": "Centre-Val de Loire",
    "campaign_title": "Diagnostic 2027 <pilote>",
    "collectivite_name": "Loiret",
    "opens_on": "5 janvier 2027",
    "closes_on": "28 février 2027",
    "link": "https://cop.example.fr/repondre",
    "coordinator_name": "Dominique Petit",
    "coordinator_email": "cop@centrevaldeloire.fr",
}
LOIRET = Territory.departement("45", region="24")


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    """`python -m planeco.mailserver` on a free loopback port, stopped by its PID."""
    folder = tmp_path_factory.mktemp("mail")
    with running_mail_server(unused_port(), folder, refuse_domains=[REFUSED_DOMAIN]) as server:
        yield server


@pytest_asyncio.fixture(name="app", loop_scope="session")
async def app_on_the_mail_server(
    engine: AsyncEngine, database_url: str, mail_server: MailServer
) -> AsyncIterator[FastAPI]:
    app = create_app(
        diagnostic_settings(
            database_url, smtp_port=mail_server.port, mail_retry_seconds=60, mail_max_attempts=2
        )
    )
    async with isolated(app, engine):
        yield app


def address() -> str:
    return f"c.martin.{uuid.uuid4().hex[:8]}@loiret.fr"


async def queue(
    app: FastAPI,
    to: str,
    *,
    territory: Territory = LOIRET,
    context: dict[str, str] = CONTEXT,
    **extra: object,
) -> uuid.UUID:
    async with runtime_of(app).transaction() as session:
        message = await enqueue(
            session,
            to=to,
            subject="Diagnostic de la COP : à vous de répondre",
            template="invitation",
            context=context,
            reply_to="cop@centrevaldeloire.fr",
            territory=territory,
            **extra,  # type: ignore[arg-type]
        )
        return message.id


async def stored(app: FastAPI, message_id: uuid.UUID) -> OutboxMessage:
    async with runtime_of(app).transaction() as session:
        message = await session.get(OutboxMessage, message_id)
        assert message is not None
        session.expunge(message)
        return message


async def send(app: FastAPI) -> dict[str, int]:
    result = await run_job(runtime_of(app), JOBS, "send-mail", trigger=JobTrigger.cli, started_by="test")
    assert result.outcome is JobOutcome.succeeded, result
    return result.counts


async def test_a_message_reaches_the_smtp_server_with_its_headers_and_both_parts(
    app: FastAPI, mail_server: MailServer
) -> None:
    to = address()
    message_id = await queue(app, to)
    assert (await send(app))["sent"] == 1
    [mail] = mail_server.received(to)
    assert mail["To"] == to
    assert mail["Reply-To"] == "cop@centrevaldeloire.fr"
    assert mail["Subject"] == "Diagnostic de la COP : à vous de répondre"
    assert "COP régionale" in mail["From"]
    assert mail["Message-ID"].strip() == (await stored(app, message_id)).message_id
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    text_content = text.get_content()
    html_content = html.get_content()
    assert "« Diagnostic 2027 <pilote> »" in text_content
    assert "https://cop.example.fr/repondre" in text_content
    assert "du 5 janvier 2027 au 28 février 2027" in text_content
    assert "Diagnostic 2027 &lt;pilote&gt;" in html_content  # autoescaped
    assert 'href="https://cop.example.fr/repondre"' in html_content
    message = await stored(app, message_id)
    assert (message.status, message.attempts, message.last_error) == (MessageStatus.sent, 1, None)
    assert (await send(app))["sent"] == 0  # the second run sends nothing
    assert len(mail_server.received(to)) == 1


async def test_a_message_is_sent_only_if_its_transaction_commits(
    app: FastAPI, mail_server: MailServer
) -> None:
    to = address()
    with pytest.raises(RuntimeError):
        async with runtime_of(app).transaction() as session:
            await enqueue(
                session, to=to, subject="Test", template="invitation", context=CONTEXT, territory=LOIRET
            )
            raise RuntimeError("what caused it failed")
    assert (await send(app))["sent"] == 0
    assert mail_server.received(to) == []
    with pytest.raises(TemplateError, match=r"region_name. is undefined"):
        async with runtime_of(app).transaction() as session:
            await enqueue(session, to=to, subject="x", template="invitation", context={}, territory=LOIRET)
    with pytest.raises(TemplateError, match="no e-mail template"):
        async with runtime_of(app).transaction() as session:
            await enqueue(session, to=to, subject="x", template="nope", context=CONTEXT, territory=LOIRET)


async def test_a_refused_recipient_is_retried_later_then_failed(
    app: FastAPI, mail_server: MailServer
) -> None:
    to = f"inconnu.{uuid.uuid4().hex[:8]}@{REFUSED_DOMAIN}"
    link = "https://cop.example.fr/repondre#jeton=Ab3_xY-9"
    message_id = await queue(app, to, context=CONTEXT | {"link": link})
    result = await run_job(runtime_of(app), JOBS, "send-mail", trigger=JobTrigger.cli, started_by="test")
    assert result.counts["retried"] == 1
    assert result.errors[0]["item"] == f"message {message_id}"
    first = await stored(app, message_id)
    assert (first.status, first.attempts) == (MessageStatus.queued, 1)
    assert first.last_error is not None and "550" in first.last_error
    assert first.next_attempt_at > first.created_at
    assert (await send(app))["retried"] == 0  # not due yet: nothing tried
    assert (await stored(app, message_id)).attempts == 1
    later = await deliver_due(runtime_of(app), now=first.next_attempt_at)
    assert (later.failed, later.retried) == (1, 0)  # mail_max_attempts=2
    assert link in first.text_body and link in first.html_body  # kept while it may still be sent
    last = await stored(app, message_id)
    assert (last.status, last.attempts) == (MessageStatus.failed, 2)
    assert mail_server.received(to) == []
    # given up: the token in its link is blanked (a new mail would issue a new one)
    assert "Ab3_xY-9" not in last.text_body and "Ab3_xY-9" not in last.html_body
    assert "#jeton=(envoyé)" in last.text_body


async def test_smtp_down_is_retried_and_the_message_goes_out_once_it_is_back(
    app: FastAPI, mail_server: MailServer
) -> None:
    runtime = runtime_of(app)
    settings = runtime.settings
    to = address()
    message_id = await queue(app, to)
    runtime.settings = settings.model_copy(update={"smtp_port": unused_port()})  # nothing listens there
    try:
        assert (await send(app))["retried"] == 1
    finally:
        runtime.settings = settings
    down = await stored(app, message_id)
    assert down.status is MessageStatus.queued
    assert down.last_error is not None
    assert (await deliver_due(runtime, now=down.next_attempt_at)).sent == 1
    sent = await stored(app, message_id)
    assert (sent.status, sent.attempts, sent.last_error) == (MessageStatus.sent, 2, None)
    assert len(mail_server.received(to)) == 1


async def test_concurrent_runs_send_each_message_once(database_url: str, mail_server: MailServer) -> None:
    """Real sessions (each run its own connections, as two replicas would), committed, then deleted."""
    settings = diagnostic_settings(database_url, smtp_port=mail_server.port)
    to = address()
    async with ServiceRuntime.open("diagnostic", settings) as runtime:
        async with runtime.transaction() as session:
            message = await enqueue(
                session, to=to, subject="Test", template="invitation", context=CONTEXT, territory=LOIRET
            )
            message_id = message.id

        async def run() -> JobResult:
            return await run_job(
                runtime, JOBS, "send-mail", trigger=JobTrigger.cli, started_by="test-concurrent"
            )

        try:
            results = await asyncio.gather(run(), run())
            assert sorted(result.outcome for result in results) == [JobOutcome.skipped, JobOutcome.succeeded]
            again = await run()
            assert again.outcome is JobOutcome.succeeded
            assert again.counts["sent"] == 0
            assert len(mail_server.received(to)) == 1
        finally:
            async with runtime.transaction() as session:
                await session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))
                await session.execute(delete(JobRun).where(JobRun.started_by == "test-concurrent"))


async def test_a_message_is_claimed_by_one_run_only(app: FastAPI) -> None:
    """The claim is a compare-and-set on `queued`: a second claim, as a second run would make, gets
    nothing, and the attempt is counted once."""
    message_id = await queue(app, address())
    async with runtime_of(app).transaction() as session:
        claimed = await OutboxRepository(session).claim(message_id)
        assert claimed is not None
        assert (claimed.status, claimed.attempts) == (MessageStatus.sending, 1)
    async with runtime_of(app).transaction() as session:
        assert await OutboxRepository(session).claim(message_id) is None
    again = await stored(app, message_id)
    assert (again.status, again.attempts) == (MessageStatus.sending, 1)
    async with runtime_of(app).transaction() as session:  # not left for the next test's run
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key: (certificate, key) PEM files. It
    is its own CA: the client trusts it only when given it (`smtp_ca_file`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
async def test_mail_goes_over_tls_and_the_servers_certificate_is_checked(
    app: FastAPI, tmp_path: Path, mode: str
) -> None:
    """Against a real TLS handshake (SMTPS or STARTTLS): with the server's CA given, delivered; with the
    system's CAs only, the self-signed certificate is refused and the message waits for a retry."""
    certificate = self_signed(tmp_path)
    runtime = runtime_of(app)
    settings = runtime.settings
    port = unused_port()
    tls = {"smtp_port": port, "smtp_implicit_tls": mode == "implicit", "smtp_starttls": mode == "starttls"}
    with running_mail_server(port, tmp_path / "mail", tls=mode, certificate=certificate) as server:
        to = address()
        message_id = await queue(app, to)
        runtime.settings = settings.model_copy(update=tls)
        try:
            assert (await send(app))["retried"] == 1
            refused = await stored(app, message_id)
            assert refused.status is MessageStatus.queued
            assert "certificate" in (refused.last_error or "").lower()
            runtime.settings = settings.model_copy(update=tls | {"smtp_ca_file": certificate[0]})
            assert (await deliver_due(runtime, now=refused.next_attempt_at)).sent == 1
        finally:
            runtime.settings = settings
        [received] = server.received(to)
        assert received["Message-ID"].strip() == refused.message_id


def test_starttls_and_implicit_tls_are_one_or_the_other(database_url: str) -> None:
    with pytest.raises(ValueError, match="choose one"):
        diagnostic_settings(database_url, smtp_starttls=True, smtp_implicit_tls=True)


async def test_an_interrupted_attempt_is_never_resent(app: FastAPI, mail_server: MailServer) -> None:
    to = address()
    message_id = await queue(app, to)
    async with runtime_of(app).transaction() as session:
        message = await session.get(OutboxMessage, message_id)
        assert message is not None
        message.status = MessageStatus.sending  # as a run killed between the SMTP answer and its record
        message.attempts = 1
    assert (await send(app))["interrupted"] == 1
    failed = await stored(app, message_id)
    assert (failed.status, failed.last_error) == (MessageStatus.failed, INTERRUPTED)
    assert mail_server.received(to) == []


async def test_the_daily_cap_defers_the_rest(app: FastAPI, mail_server: MailServer) -> None:
    runtime = runtime_of(app)
    settings = runtime.settings
    first, second = address(), address()
    await queue(app, first)
    await queue(app, second)
    async with runtime.transaction() as session:
        already = len(
            (await session.scalars(select(OutboxMessage.id).where(OutboxMessage.sent_at.is_not(None)))).all()
        )
    runtime.settings = settings.model_copy(update={"mail_daily_cap": already + 1})
    try:
        counts = await send(app)
        assert (counts["sent"], counts["deferred_by_cap"]) == (1, 1)
        assert (await send(app))["sent"] == 0
    finally:
        runtime.settings = settings
    assert (await send(app))["sent"] == 1
    assert len(mail_server.received(first)) + len(mail_server.received(second)) == 2


async def test_the_outbox_read_is_for_those_in_charge_of_the_territory(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    loiret, toulouse = address(), address()
    await queue(app, loiret)
    await queue(app, toulouse, territory=Territory.departement("31", region="76"))

    async def seen(headers: dict[str, str], query: str = "") -> set[str]:
        response = await client.get(f"/api/v1/outbox{query}", headers=headers)
        assert response.status_code == 200, response.text
        return {item["to"] for item in response.json()["items"]}

    assert {loiret, toulouse} <= await seen(identity_headers("admin"), "?status=queued")
    centre = await seen(identity_headers("coordinator", "24"))
    assert loiret in centre and toulouse not in centre
    assert toulouse in await seen(identity_headers("coordinator", "departement:31"))
    assert loiret not in await seen(identity_headers("coordinator", "departement:31"))
    assert loiret not in await seen(identity_headers("admin"), "?status=sent")
    item = (await client.get("/api/v1/outbox?status=queued", headers=identity_headers("admin"))).json()[
        "items"
    ]
    assert any("Diagnostic 2027 &lt;pilote&gt;" in message["html_body"] for message in item)
    assert_problem(await client.get("/api/v1/outbox", headers=identity_headers("contributor", "45234")), 403)
    assert_problem(await client.get("/api/v1/outbox", headers=identity_headers("reader")), 403)
    assert_problem(await client.get("/api/v1/outbox?status=nope", headers=identity_headers("admin")), 422)
