from planeco_levers.app import create_app
from planeco_levers.settings import LeversSettings
from planeco_shared.migrations import service_root_of
from planeco_shared.testing import service_fixtures

database_url, engine, app, client = service_fixtures(
    "levers",
    create_app=create_app,
    settings_cls=LeversSettings,
    service_root=service_root_of(__file__.replace("/tests/", "/src/planeco_levers/")),
)
