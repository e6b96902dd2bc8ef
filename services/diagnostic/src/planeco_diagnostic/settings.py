from __future__ import annotations

from pathlib import Path

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
