"""Aides-territoires' vocabularies (contract §7): the audiences (OrganizationType) by slug and label.

Records carry labels only; Gen 2 labels are singular (`Commune`), Gen 1's were plural (`Communes`): both map
to the slug, which is what the API's filters and ours take."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class AidAudience(StrEnum):
    commune = "commune"
    epci = "epci"
    department = "department"
    region = "region"
    special = "special"
    public_org = "public-org"
    public_cies = "public-cies"
    association = "association"
    private_sector = "private-sector"
    private_person = "private-person"
    farmer = "farmer"
    researcher = "researcher"


# Gen 2 labels (★ confirmed in a 2024 record, except `region` and `special`).
AUDIENCE_LABELS: dict[AidAudience, str] = {
    AidAudience.commune: "Commune",
    AidAudience.epci: "Intercommunalité / Pays",
    AidAudience.department: "Département",
    AidAudience.region: "Région",
    AidAudience.special: "Collectivité d'outre-mer à statut particulier",
    AidAudience.public_org: "Etablissement public dont services de l'Etat",
    AidAudience.public_cies: "Entreprise publique locale (Sem, Spl, SemOp)",
    AidAudience.association: "Association",
    AidAudience.private_sector: "Entreprise privée",
    AidAudience.private_person: "Particulier",
    AidAudience.farmer: "Agriculteur",
    AidAudience.researcher: "Recherche",
}
_GEN1_PLURALS = {
    "Communes": AidAudience.commune,
    "Intercommunalités / Pays": AidAudience.epci,
    "Départements": AidAudience.department,
    "Régions": AidAudience.region,
    "Associations": AidAudience.association,
    "Entreprises privées": AidAudience.private_sector,
    "Particuliers": AidAudience.private_person,
    "Agriculteurs": AidAudience.farmer,
}
AUDIENCE_BY_LABEL: dict[str, AidAudience] = {
    label.casefold(): slug for slug, label in AUDIENCE_LABELS.items()
} | {label.casefold(): slug for label, slug in _GEN1_PLURALS.items()}


def audience_of(label: str) -> AidAudience | None:
    return AUDIENCE_BY_LABEL.get(label.strip().casefold())


# A carrier's name → its audience, where the name says its type (« Commune de Saran », « Communauté de
# communes des Loges », « Conseil départemental du Loiret »…); None when it does not.
_CARRIER_PREFIXES: tuple[tuple[str, AidAudience], ...] = (
    ("commune ", AidAudience.commune),
    ("ville ", AidAudience.commune),
    ("mairie ", AidAudience.commune),
    ("communaute de communes", AidAudience.epci),
    ("communaute d'agglomeration", AidAudience.epci),
    ("communaute urbaine", AidAudience.epci),
    ("metropole", AidAudience.epci),
    ("cc ", AidAudience.epci),
    ("ca ", AidAudience.epci),
    ("pays ", AidAudience.epci),
    ("petr ", AidAudience.epci),
    ("departement", AidAudience.department),
    ("conseil departemental", AidAudience.department),
    ("region ", AidAudience.region),
    ("conseil regional", AidAudience.region),
    ("association", AidAudience.association),
)


def carrier_audience(name: str) -> AidAudience | None:
    folded = unicodedata.normalize("NFKD", name.replace("’", "'")).encode("ascii", "ignore").decode()
    folded = " ".join(folded.casefold().split()) + " "
    for prefix, audience in _CARRIER_PREFIXES:
        if folded.startswith(prefix):
            return audience
    return None


_LEVEL_AUDIENCES = {
    "region": AidAudience.region,
    "departement": AidAudience.department,
    "epci": AidAudience.epci,
    "commune": AidAudience.commune,
}
_KIND_AUDIENCES = {"association": AidAudience.association, "entreprise": AidAudience.private_sector}


def actor_audience(actor: Mapping[str, Any]) -> AidAudience | None:
    """The audience of an action's carrier as stored (`planeco_actions.actions`): a collectivité's by its
    territory's level, an association's or a company's by its kind, another organisation's by its name."""
    territory = actor.get("territory") or {}
    if actor.get("kind") == "collectivite":
        return _LEVEL_AUDIENCES.get(str(territory.get("level")))
    return _KIND_AUDIENCES.get(str(actor.get("kind"))) or carrier_audience(str(actor.get("name") or ""))
