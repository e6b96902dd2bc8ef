"""Which service owns which API area: /api/v1/<area>/… → service. The one place to add an area."""

from __future__ import annotations

API_PREFIX = "/api/v1/"

AREAS: dict[str, str] = {
    # levers
    "territories": "levers",
    "levers": "levers",
    "sectors": "levers",
    "panoramas": "levers",
    "declination-keys": "levers",
    # diagnostic
    "questionnaires": "diagnostic",
    "campaigns": "diagnostic",
    "responses": "diagnostic",
    "contacts": "diagnostic",
    "outbox": "diagnostic",
    "answer": "diagnostic",
    # actions
    "actions": "actions",
    "published-actions": "actions",
    "roadmaps": "actions",
    "debates": "actions",
    "support-measures": "actions",
    "aids": "actions",
}

# Areas a request may write to without credentials when it carries an invitation token: the service checks
# the token; the gateway lets them through and rate-limits the failed checks as it does failed credentials.
TOKEN_AREAS: dict[str, str] = {"answer": "x-invitation-token"}

# Areas every service has, routed by their second segment: /api/v1/jobs/levers/… → levers.
PER_SERVICE_AREAS = ("jobs",)
SERVICES = ("levers", "diagnostic", "actions")
AREAS.update({f"{area}/{service}": service for area in PER_SERVICE_AREAS for service in SERVICES})


def area_of(path: str) -> str | None:
    """'/api/v1/territories/regions' → 'territories', '/api/v1/jobs/levers/runs' → 'jobs/levers';
    None outside /api/v1/."""
    if not path.startswith(API_PREFIX):
        return None
    rest = path[len(API_PREFIX) :]
    slash = rest.find("/")
    area = rest if slash < 0 else rest[:slash]
    if area in PER_SERVICE_AREAS and slash >= 0:
        second = rest.find("/", slash + 1)
        return rest if second < 0 else rest[:second]
    return area
