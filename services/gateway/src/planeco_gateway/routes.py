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
    # actions
    "actions": "actions",
    "roadmaps": "actions",
    "debates": "actions",
    "support-measures": "actions",
    "aids": "actions",
}


def area_of(path: str) -> str | None:
    """'/api/v1/territories/regions' → 'territories'; None outside /api/v1/."""
    if not path.startswith(API_PREFIX):
        return None
    rest = path[len(API_PREFIX) :]
    slash = rest.find("/")
    return rest if slash < 0 else rest[:slash]
