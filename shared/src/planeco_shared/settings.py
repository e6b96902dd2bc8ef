"""Typed settings base: each service subclasses it with its own env prefix (PLANECO_<SERVICE>_)."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, HttpUrl, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults that production must never run with.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "dev-internal-secret-not-for-production"})
DEV_INTERNAL_SECRET = "dev-internal-secret-not-for-production"  # noqa: S105 (refused in production)
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ServiceSettings(BaseSettings):
    """Settings every service shares. Subclasses set `model_config` with their own env prefix."""

    model_config = SettingsConfigDict(env_prefix="PLANECO_", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = "sqlite+aiosqlite:///./.data/service.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_echo: bool = False
    # Shared by the gateway and the services: the gateway signs the caller's identity with it,
    # the services verify it, so a call that bypasses the gateway is refused.
    internal_secret: SecretStr = SecretStr(DEV_INTERNAL_SECRET)
    log_level: str = "INFO"
    log_json: bool = True

    # The other services, for the typed clients of the runtime (`planeco_shared.runtime`).
    levers_url: HttpUrl = HttpUrl("http://127.0.0.1:8001")
    diagnostic_url: HttpUrl = HttpUrl("http://127.0.0.1:8002")
    actions_url: HttpUrl = HttpUrl("http://127.0.0.1:8003")
    service_timeout: float = Field(
        default=5.0, gt=0, le=120, description="Seconds a call to another service may take"
    )
    service_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long another service's answer that carries an ETag is reused before revalidation",
    )

    read_cache_megabytes: int = Field(
        default=64,
        ge=0,
        le=4096,
        description="Memory for the answers to public reads kept per data version (planeco_shared.caching); "
        "0 keeps none",
    )

    # Cron schedule (5 fields, UTC) per job name, overriding the job's default; "" disables a schedule.
    # E.g. PLANECO_LEVERS_JOB_SCHEDULES='{"reference-data": "30 4 * * *"}'. Checked against the service's
    # jobs when the app or a job command starts (planeco_shared.jobs).
    job_schedules: dict[str, str] = Field(default_factory=dict)

    # How the process is served (`planeco_shared.server.uvicorn_options`).
    server_keep_alive: float = Field(
        default=75.0,
        gt=0,
        le=600,
        description="Seconds an idle keep-alive connection stays open. Longer than the gateway pool's 30 s, "
        "so that the gateway closes its idle connections to a service first",
    )
    server_header_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds a client may take to send a request's headers"
    )
    server_limit_concurrency: int | None = Field(
        default=None, ge=1, description="Connections plus requests in progress past which uvicorn answers 503"
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets_in_production(self) -> Self:
        if self.environment is Environment.production:
            secret = self.internal_secret.get_secret_value()
            if secret in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(
                    "internal_secret must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters in production"
                )
        return self

    def service_urls(self) -> dict[str, str]:
        return {
            "levers": str(self.levers_url).rstrip("/"),
            "diagnostic": str(self.diagnostic_url).rstrip("/"),
            "actions": str(self.actions_url).rstrip("/"),
        }

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
