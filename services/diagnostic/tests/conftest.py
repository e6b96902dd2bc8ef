from planeco_diagnostic.app import create_app
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_shared.migrations import service_root_of
from planeco_shared.testing import service_fixtures

database_url, engine, app, client = service_fixtures(
    "diagnostic",
    create_app=create_app,
    settings_cls=DiagnosticSettings,
    service_root=service_root_of(__file__.replace("/tests/", "/src/planeco_diagnostic/")),
)
