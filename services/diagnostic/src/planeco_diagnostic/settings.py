from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from planeco_shared.settings import ServiceSettings

# The default questionnaire shipped with the service (planeco_diagnostic.questionnaires.jobs).
DEFAULT_QUESTIONNAIRE = (
    Path(__file__).resolve().parents[2] / "data" / "default-questionnaire" / "questionnaire.json"
)


class DiagnosticSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PLANECO_DIAGNOSTIC_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/diagnostic.db"
    # The file the `import-default-questionnaire` job loads as the national questionnaire.
    default_questionnaire_path: Path = DEFAULT_QUESTIONNAIRE

    # The e-mail outbox (planeco_diagnostic.outbox), drained by the `send-mail` job over SMTP.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    # STARTTLS after connecting (port 587); False: plain SMTP (a relay on the same network, the local run).
    smtp_starttls: bool = False
    # TLS from the first byte instead (SMTPS, port 465); not with smtp_starttls.
    smtp_implicit_tls: bool = False
    # A CA bundle (PEM) the server's certificate is checked against (a private CA); default: the system's.
    smtp_ca_file: Path | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None  # a secret: never in the repo, never logged
    smtp_timeout: float = Field(default=30.0, gt=0)
    mail_from: str = "COP régionale <ne-pas-repondre@planeco.localhost>"
    # At most this many messages sent per rolling 24 hours (the relay's quota); the rest waits.
    mail_daily_cap: int = Field(default=2000, ge=0)
    # A message not accepted after this many attempts is `failed`; between attempts the wait doubles.
    mail_max_attempts: int = Field(default=6, ge=1, le=50)
    mail_retry_seconds: int = Field(default=60, ge=1)
    # The front end's answer page: an invitation's link is this, then `#jeton=<token>` (the token in the
    # fragment, which no browser sends to a server: it is never in an access log).
    answer_url: str = "http://localhost:8000/repondre"
    # The `campaign-reminders` job reminds an open campaign's non-respondents this many days before it
    # closes (each number once; [] : never by itself, only by POST /campaigns/{id}/reminders).
    reminder_days_before_closing: list[int] = Field(default_factory=lambda: [7], max_length=10)
    mail_batch: int = Field(default=200, ge=1, le=10_000)  # messages per run of the job

    @model_validator(mode="after")
    def _one_tls_mode(self) -> DiagnosticSettings:
        if self.smtp_starttls and self.smtp_implicit_tls:
            raise ValueError("smtp_starttls and smtp_implicit_tls: choose one (587: STARTTLS, 465: implicit)")
        return self
