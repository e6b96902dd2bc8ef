from planeco_actions.app import create_app
from planeco_actions.settings import ActionsSettings
from planeco_shared.migrations import service_root_of
from planeco_shared.testing import service_fixtures

database_url, engine, app, client = service_fixtures(
    "actions",
    create_app=create_app,
    settings_cls=ActionsSettings,
    service_root=service_root_of(__file__.replace("/tests/", "/src/planeco_actions/")),
)
