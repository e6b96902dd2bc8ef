from __future__ import annotations

from limits import parse_many
from pydantic import Field, HttpUrl, field_validator
from pydantic_settings import SettingsConfigDict

from planeco_shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PLANECO_GATEWAY_", extra="ignore")

    # The gateway's only storage: hashed API keys of machine clients.
    database_url: str = "sqlite+aiosqlite:///./.data/gateway.db"

    upstream_timeout: float = Field(
        default=5.0, gt=0, le=120, description="Seconds to wait for upstream bytes"
    )
    upstream_connect_timeout: float = Field(default=2.0, gt=0, le=30)
    upstream_pool_size: int = Field(default=256, ge=1, le=10_000)
    max_request_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    request_body_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Seconds a client may take to send a request body, from its headers on; then 408",
    )

    # The public port: idle keep-alive connections are closed sooner than between our own processes
    # (a reverse proxy in front keeps its own pool: set this above its upstream keep-alive).
    server_keep_alive: float = Field(default=20.0, gt=0, le=600)
    server_limit_concurrency: int | None = Field(default=2048, ge=1)

    # Rate limits (`limits` string notation: "600/minute", "10/second;1000/hour"). Counters live in
    # memory (one process) or in Redis, shared by every gateway replica: `redis://redis:6379/0`.
    rate_limit_enabled: bool = True
    rate_limit_storage: str = Field(default="memory://", pattern=r"^(memory://|rediss?://.+)$")
    rate_limit_key_prefix: str = Field(default="planeco", min_length=1, max_length=64)
    rate_limit_anonymous: str = Field(default="300/minute", description="Per client IP, without credentials")
    rate_limit_authenticated: str = Field(default="1200/minute", description="Per API key or token subject")
    rate_limit_failed_auth: str = Field(
        default="20/minute", description="Failed credential checks per client IP; past it, 429 at once"
    )

    # Prometheus metrics on a separate listener, never on the public port: unset, none are served.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "0.0.0.0"  # noqa: S104 (the pod's own listener, scraped by Prometheus)

    cors_origins: list[str] = Field(default_factory=list, description="Allowed browser origins (JSON list)")

    # OpenID Connect (ProConnect for agents): bearer JWTs, RS256, keys from the provider's JWKS.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: HttpUrl | None = None
    jwks_cache_seconds: int = Field(default=300, ge=10)

    # Credential checks are cached so that no database round trip sits on the hot path;
    # a revoked key stops working within this delay.
    auth_cache_seconds: int = Field(default=30, ge=0, le=600)

    @field_validator("rate_limit_anonymous", "rate_limit_authenticated", "rate_limit_failed_auth")
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        parse_many(value)  # a typo fails when the settings load, not at the first request
        return value

    def upstreams(self) -> dict[str, str]:
        return self.service_urls()
