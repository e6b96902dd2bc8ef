from planeco_gateway.db import Base, load_all_models
from planeco_shared.migrations import run_env

load_all_models()
run_env(Base.metadata, version_table="alembic_version_gateway")
