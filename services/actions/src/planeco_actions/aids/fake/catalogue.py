"""The fake Aides-territoires' data: a deterministic catalogue generated from a seed, in the shape of the
real records (`services/actions/data/aides-territoires/`), with their quirks.

Every generated aid is the complete real record 162936 with its values replaced: French labels, " / " in
theme names, HTML descriptions with inline styles, `&nbsp;` and `\\r\\n`, some records with keys missing or
null (the shape of the partial real record 156168), dates in the two formats the API has used (ATOM, and
Gen 1's microseconds with an offset), a field the client does not know. Each aid draws from its own
`Random(f"{seed}:{index}")`, so changing or removing one aid leaves every other one as it was.

GENERATED DATA: names, financers and descriptions are invented; nothing here is a real aid.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from functools import cache
from pathlib import Path
from typing import Any

from planeco_actions.aids.fake.perimeters import Perimeter, by_scale_and_code, perimeters_by_id, slugify
from planeco_actions.aids.vocabulary import AUDIENCE_LABELS, AidAudience

REAL_RECORDS = Path(__file__).resolve().parents[4] / "data" / "aides-territoires" / "real-records-2024.json"
FIRST_ID = 170001
LABEL = "[catalogue généré, aide fictive]"


# The perimeters the generated aids are drawn from (the fake's /api/perimeters/ answers every perimeter of
# `perimeters.py`: the COG's territories), always these, in this order: the same seed, the same aids.
PERIMETERS: tuple[Perimeter, ...] = tuple(
    by_scale_and_code(scale, code)
    for scale, code in (
        ("Continent", "EU"),
        ("Pays", "FRA"),
        ("Métropole", "FRA-MET"),
        ("Région", "24"),
        ("Région", "84"),
        ("Région", "76"),
        ("Département", "45"),
        ("Département", "18"),
        ("Département", "41"),
        ("Département", "63"),
        ("Département", "34"),
        ("EPCI", "244500468"),
        ("Commune", "45234"),
        ("Commune", "63113"),
        ("Ad-hoc", "gal-pays-des-chateaux"),
        ("Ad-hoc", "communes-littorales"),
    )
)

# (theme, category): theme names contain " / ", as the real ones do.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("Mobilité / transports", "Mobilité partagée"),
    ("Mobilité / transports", "Modes actifs : vélo, marche et aménagements associés"),
    ("Mobilité / transports", "Transports collectifs et optimisation des trafics routiers"),
    ("Mobilité / transports", "Véhicules et motorisations alternatives"),
    ("Nature / environnement", "Biodiversité"),
    ("Nature / environnement", "Forêts"),
    ("Nature / environnement", "Milieux humides"),
    ("Énergies / Déchets", "Economies d'énergie et rénovation énergétique"),
    ("Énergies / Déchets", "Énergies renouvelables"),
    ("Énergies / Déchets", "Réseaux de chaleur"),
    ("Énergies / Déchets", "Collecte et traitement des déchets"),
    ("Urbanisme / Logement / Aménagement", "Bâtiments et construction"),
    ("Urbanisme / Logement / Aménagement", "Foncier"),
    ("Développement économique / production et consommation", "Economie circulaire"),
    ("Développement économique / production et consommation", "Agriculture et agroalimentaire"),
    ("Eau et milieux aquatiques", "Eau potable"),
    ("Fonctions support", "Appui méthodologique"),
)

# What an aid is about: a subject for its name, its categories (indexes above), words for its description.
SUBJECTS: tuple[tuple[str, tuple[int, ...], str], ...] = (
    ("la plantation de haies bocagères", (4, 14), "haies, bocage, corridors écologiques"),
    ("les aménagements cyclables", (1,), "pistes cyclables, stationnement vélo, voies vertes"),
    ("le covoiturage et l’autopartage", (0, 2), "aires de covoiturage, autopartage, lignes régulières"),
    ("les bornes de recharge pour véhicules électriques", (3,), "bornes de recharge, véhicules électriques"),
    ("la rénovation énergétique des bâtiments publics", (7, 11), "isolation, rénovation énergétique, écoles"),
    ("le remplacement des chaudières au fioul", (7, 8), "pompes à chaleur, chaudières biomasse, fioul"),
    ("les réseaux de chaleur renouvelable", (9, 8), "réseau de chaleur, géothermie, bois énergie"),
    ("le solaire photovoltaïque sur les toitures", (8,), "panneaux photovoltaïques, autoconsommation"),
    ("la méthanisation agricole", (8, 14), "méthanisation, biogaz, effluents d’élevage"),
    ("la réduction et le tri des biodéchets", (10, 13), "biodéchets, compostage, tri à la source"),
    ("la restauration des zones humides", (6, 15), "zones humides, mares, continuités écologiques"),
    ("la gestion durable des forêts", (5,), "forêts, reboisement, desserte forestière"),
    ("la sobriété foncière et le recyclage des friches", (12,), "friches, zéro artificialisation nette"),
    ("l’économie circulaire", (13,), "réemploi, réparation, matériaux biosourcés"),
    ("l’ingénierie de projet des petites communes", (16,), "chef de projet, études préalables"),
)

FINANCERS: tuple[tuple[int, str], ...] = (
    (22, "ADEME"),
    (26, "Ministère de la Transition écologique et de la Cohésion des territoires"),
    (85, "Conseil régional du Centre-Val de Loire"),
    (112, "Conseil départemental du Loiret"),
    (301, "Banque des Territoires"),
    (417, "Agence de l'eau Loire-Bretagne"),
    (1371, "Châteaux (Syndicat mixte)"),
    (88, "Conseil régional Auvergne-Rhône-Alpes"),
)
PROGRAMS = (
    "Fonds vert - Édition 2024",
    "🇪🇺 LEADER - Liaison entre Actions de Développement de l’Économie Rurale",
    "Petites villes de demain",
    "France 2030",
)
# Every audience but `special` (its label is unconfirmed upstream).
AUDIENCES: tuple[tuple[str, str], ...] = tuple(
    (slug.value, label) for slug, label in AUDIENCE_LABELS.items() if slug is not AidAudience.special
)
AUDIENCE_SLUGS = {label: slug for slug, label in AUDIENCES}
AID_TYPES: tuple[tuple[int, str, int, str], ...] = (
    (1, "Subvention", 1, "Aide financière"),
    (2, "Prêt", 1, "Aide financière"),
    (3, "Avance récupérable", 1, "Aide financière"),
    (6, "Ingénierie technique", 2, "Aide en ingénierie"),
    (7, "Ingénierie financière", 2, "Aide en ingénierie"),
)
STEPS = ("Réflexion / conception", "Mise en œuvre / réalisation", "Usage / valorisation")
DESTINATIONS = ("Dépenses de fonctionnement", "Dépenses d’investissement")
RECURRENCES = ("Ponctuelle", "Permanente", "Récurrente")
NAME_FORMS = (
    "Soutenir {subject}",
    "Appel à projets : {subject}",
    "Accompagnement pour {subject}",
    "Financer {subject}",
)
# Description HTML in the forms the real records have, and markup a sanitiser must remove.
HTML_FORMS = (
    '<p><font face="Segoe UI"><span>Objectifs :&nbsp;</span></font></p><p><font face="Segoe UI">'
    '-Accompagner {subject}</font></p><p><font face="Segoe UI">-Mots-clés : {words}</font></p>'
    '<p dir="ltr"><span></span></p>',
    "<p>\r\n <strong>\r\n  Ambition écologique du projet financé\r\n </strong>\r\n</p>\r\n"
    '<p><span style="text-align: justify;">Cette aide soutient {subject} ({words}).</span></p>',
    "<p>Quelques exemples :&nbsp;</p><ul><li>{words}</li><li>Études préalables &amp; travaux</li></ul>"
    '<p><a href="https://www.example.org/{slug}" target="_blank">En savoir plus</a></p>',
    '<p onclick="steal()">Pour {subject} : {words}.</p><script>alert("x")</script>'
    '<p><a href="javascript:alert(1)">lien</a><img src="x" onerror="alert(2)"></p>',
)


@cache
def real_records() -> tuple[dict[str, Any], dict[str, Any]]:
    """The complete real record (with the two fields added since it was captured) and the partial one."""
    complete, partial = json.loads(REAL_RECORDS.read_text(encoding="utf-8"))["records"]
    return complete | {"european_aid": None, "is_live": True}, partial


def atom(moment: dt.datetime) -> str:
    """`DateTime::ATOM`, as Gen 2 writes dates: `2024-06-19T07:41:07+00:00`."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def drf(moment: dt.datetime) -> str:
    """Gen 1 (DRF): microseconds and the Paris offset, `2023-06-12T10:13:26.154813+02:00`."""
    paris = dt.timezone(dt.timedelta(hours=2))
    return moment.astimezone(paris).isoformat(timespec="microseconds")


def aid_id(index: int) -> int:
    return FIRST_ID + index * 7


def index_of(identifier: int) -> int | None:
    offset = identifier - FIRST_ID
    return offset // 7 if offset >= 0 and offset % 7 == 0 else None


def generate_aid(
    seed: int, index: int, *, today: dt.date, edits: int = 0, broken: bool = False
) -> dict[str, Any]:
    """The aid at `index` of the catalogue of `seed`, after `edits` upstream changes (each one moves
    `date_updated` and changes the name and description); `broken`: a record no client can read (no name,
    a deadline that is not a date)."""
    rng = random.Random(f"{seed}:{index}")  # noqa: S311 (generated test data, not security)
    complete, partial = real_records()
    subject, category_indexes, words = rng.choice(SUBJECTS)
    name = rng.choice(NAME_FORMS).format(subject=subject)
    name = name[0].upper() + name[1:]
    if edits:
        name = f"{name} (mise à jour {edits})"
    identifier = aid_id(index)
    slug = f"{identifier % 0xFFFF:04x}-{slugify(name)}"[:80]
    html = rng.choice(HTML_FORMS).format(subject=subject, words=words, slug=slug)
    if edits:
        html += f"<p>Modifiée {edits} fois.</p>"
    perimeter = rng.choice(PERIMETERS)
    financers = rng.sample(FINANCERS, rng.randint(1, 2))
    audiences = rng.sample(AUDIENCES, rng.randint(1, 4))
    aid_types = rng.sample(AID_TYPES, rng.randint(1, 2))
    created = dt.datetime(2023, 1, 1, 8, tzinfo=dt.UTC) + dt.timedelta(
        days=rng.randint(0, 600), seconds=rng.randint(0, 86_399)
    )
    updated = created + dt.timedelta(days=rng.randint(0, 30), seconds=rng.randint(1, 86_399) + edits * 3_600)
    start = today - dt.timedelta(days=rng.randint(0, 400))
    deadline = None if rng.random() < 0.3 else today + dt.timedelta(days=rng.randint(5, 500))
    programs = rng.sample(PROGRAMS, rng.randint(0, 1))
    record = copy.deepcopy(complete)
    record.update(
        {
            "id": identifier,
            "slug": slug,
            "url": f"/aides/{slug}/",
            "name": f"{name} {LABEL}",
            "name_initial": f"{name} - fiche {index}" if rng.random() < 0.5 else None,
            "short_title": None,
            "financers": [n for _, n in financers],
            "financers_full": [{"id": i, "name": n, "logo": None} for i, n in financers],
            "instructors": ["Préfectures de département"] if rng.random() < 0.4 else [],
            "instructors_full": [{"id": 429, "name": "Préfectures de département", "logo": None}],
            "programs": programs,
            "description": html,
            "eligibility": "<p>Collectivités et leurs groupements.</p>" if rng.random() < 0.5 else None,
            "perimeter": perimeter.name,
            "perimeter_scale": perimeter.aid_scale,
            "mobilization_steps": rng.sample(STEPS, rng.randint(1, 2)),
            "origin_url": f"https://www.example.org/aides/{slug}",
            "categories": [" / ".join(CATEGORIES[i]) for i in category_indexes],
            "is_call_for_project": name.startswith("Appel"),
            "application_url": None,
            "targeted_audiences": [label for _, label in audiences],
            "aid_types": [t[1] for t in aid_types],
            "aid_types_full": [
                {"id": i, "name": n, "group": {"id": g, "name": gn}} for i, n, g, gn in aid_types
            ],
            "is_charged": False,
            "destinations": rng.sample(DESTINATIONS, rng.randint(0, 2)),
            "start_date": start.isoformat(),
            "predeposit_date": None,
            "submission_deadline": deadline.isoformat() if deadline else None,
            "subvention_rate_lower_bound": None,
            "subvention_rate_upper_bound": rng.choice((None, 30, 50, 80)),
            "subvention_comment": None,
            "contact": "<p>Service instructeur (adresse fictive)</p>",
            "recurrence": rng.choice(RECURRENCES),
            "project_examples": None,
            "date_created": atom(created),
            "date_updated": atom(updated),
            "project_references": [],
            "european_aid": "european" if any("LEADER" in p for p in programs) else None,
            "is_live": True,
        }
    )
    quirk = index % 10
    if quirk == 3:  # missing fields: the shape of the partial real record, the rest absent or null
        record = {key: record[key] for key in partial} | {
            "description": None,
            "perimeter": None,
            "perimeter_scale": None,
            "date_updated": None,
        }
    elif quirk == 5:  # Gen 1 date format
        record["date_created"], record["date_updated"] = drf(created), drf(updated)
    elif quirk == 7:  # a field added upstream that no client knows yet
        record["eligibility_criteria_v2"] = {"siren_required": True}
    if broken:
        record["name"] = None
        record["submission_deadline"] = "31/02/2025"
    return record


def perimeter_matches(aid: dict[str, Any], perimeter_id: int) -> bool:
    """`perimeter_id` search semantics: the aid's perimeter is P, one of its ancestors or descendants."""
    target = perimeters_by_id().get(perimeter_id)
    if target is None:
        return True  # an unknown perimeter id silently disables the filter, as upstream
    names = {p.name: p for p in PERIMETERS}
    own = names.get(aid.get("perimeter") or "")
    if own is None:
        return False
    return own.id == target.id or own.id in target.parents or target.id in own.parents
