from __future__ import annotations

from pydantic import Field, HttpUrl, SecretStr
from pydantic_settings import SettingsConfigDict

from planeco_shared.settings import ServiceSettings

AIDES_TERRITOIRES_URL = "https://aides-territoires.beta.gouv.fr"


class ActionsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PLANECO_ACTIONS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/actions.db"

    # The Aides-territoires API (planeco_actions.aids.client). The key is exchanged for a 24 h JWT; it is a
    # secret: never in the repo, never logged (SecretStr), sent to /api/connexion/ only.
    aides_territoires_url: HttpUrl = HttpUrl(AIDES_TERRITOIRES_URL)
    aides_territoires_api_key: SecretStr | None = None
    aides_territoires_timeout: float = Field(
        default=30.0, gt=0, le=300, description="Seconds one call may take (uncached searches can be slow)"
    )
    aides_territoires_pause: float = Field(
        default=0.5, ge=0, le=60, description="Seconds between two calls (the API asks for ≤ 2 requests/s)"
    )
    aides_territoires_attempts: int = Field(
        default=5, ge=1, le=20, description="Tries of one call on 5xx, 429 or a connection error"
    )
    aides_territoires_backoff: float = Field(
        default=2.0, ge=0, le=300, description="Seconds before the first retry; doubled at each retry"
    )
