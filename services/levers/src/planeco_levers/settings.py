from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from planeco_shared.settings import ServiceSettings


class LeversSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PLANECO_LEVERS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/levers.db"
