from __future__ import annotations

from pydantic import Field, HttpUrl
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

    cors_origins: list[str] = Field(default_factory=list, description="Allowed browser origins (JSON list)")

    # OpenID Connect (ProConnect for agents): bearer JWTs, RS256, keys from the provider's JWKS.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: HttpUrl | None = None
    jwks_cache_seconds: int = Field(default=300, ge=10)

    # Credential checks are cached so that no database round trip sits on the hot path;
    # a revoked key stops working within this delay.
    auth_cache_seconds: int = Field(default=30, ge=0, le=600)

    def upstreams(self) -> dict[str, str]:
        return self.service_urls()
