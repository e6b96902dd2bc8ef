"""Alembic plumbing shared by every service: the async env runner and programmatic upgrade/check."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from planeco_shared.database import create_engine
from planeco_shared.models import DIALECTS


def alembic_config(service_root: Path, database_url: str) -> Config:
    config = Config(str(service_root / "alembic.ini"))
    config.set_main_option("script_location", str(service_root / "migrations"))
    # ConfigParser interpolation: a URL with "%" (encoded password) must be escaped.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(service_root: Path, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service_root, database_url), revision)


def revision(service_root: Path, database_url: str, message: str) -> None:
    command.revision(alembic_config(service_root, database_url), message=message, autogenerate=True)


def check(service_root: Path, database_url: str) -> None:
    """Raise if the models and the migration history disagree (`alembic check`)."""
    command.check(alembic_config(service_root, database_url))


def _include_object_for(dialect: str) -> Any:
    """Models and database are compared without what exists on other dialects only (`DIALECTS`)."""

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        model = compare_to if reflected else obj
        dialects = getattr(model, "info", {}).get(DIALECTS) if model is not None else None
        return dialects is None or dialect in dialects

    return include_object


def run_env(target_metadata: MetaData, *, version_table: str) -> None:
    """Body of each service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set; run migrations through `planeco <service> migrate`")

    def configure(connection: Connection | None = None) -> None:
        context.configure(
            connection=connection,
            url=None if connection is not None else url,
            target_metadata=target_metadata,
            version_table=version_table,
            compare_type=True,
            render_as_batch=url.startswith("sqlite"),  # SQLite alters tables by copy
            include_object=_include_object_for("sqlite" if url.startswith("sqlite") else "postgresql"),
            literal_binds=connection is None,
        )

    if context.is_offline_mode():
        configure()
        with context.begin_transaction():
            context.run_migrations()
        return

    def run_sync(connection: Connection) -> None:
        configure(connection)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run_sync)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run_async())


def service_root_of(module_file: str) -> Path:
    """services/<name>/ from a file inside services/<name>/src/planeco_<name>/."""
    return Path(module_file).resolve().parents[2]
