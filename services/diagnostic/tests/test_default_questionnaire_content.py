"""The default questionnaire's content (`data/default-questionnaire/questionnaire.json`) against the levers
data the repository ships: the latest SGPE panorama file. Plain file checks, no database.

The levers service's code is not imported (no service imports another's): the two rules it owns are restated
here from the data, and pinned by explicit expected sets so that a change in the data shows up as a failure:
- a lever is *mainland* when a row of a mainland région has it (`panoramas.regions.OVERSEAS_REGIONS`);
- a physical unit is *intensive* (not summable across collectivités) when it is per inhabitant, per car,
  per 100 km, per MWh or an average (`declination.service.INTENSIVE_UNIT`); the others are extensive.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

SERVICES = Path(__file__).resolve().parents[2]
QUESTIONNAIRE = SERVICES / "diagnostic" / "data" / "default-questionnaire" / "questionnaire.json"
PANORAMAS = SERVICES / "levers" / "data" / "sgpe-panorama"

FORMAT = "planeco-questionnaire/1"
RESPONDENT_TYPES = {"region", "departement", "epci", "commune"}
KINDS = {"action", "text", "number", "single_choice", "multiple_choice"}
KEY = re.compile(r"[a-z0-9-]{2,60}")
DECIMAL = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")

OVERSEAS_REGION_NAMES = {"Guadeloupe", "Martinique", "Guyane", "La Réunion", "Réunion", "Mayotte"}
DEMONSTRATION_REGION_NAMES = {"Région exemple"}
INTENSIVE_UNIT = re.compile(r"/\s*(hab|voiture|100\s*km|MWh)\b|\bmoyen(ne)?\b", re.IGNORECASE)

# Fields every item has, and those of each kind (the format allows nothing else).
ITEM_FIELDS = {"key", "kind", "label", "help", "lever_ids", "respondent_types"}
KIND_FIELDS = {
    "action": {"quantity"},
    "text": {"max_length"},
    "number": {"unit", "minimum", "maximum"},
    "single_choice": {"options"},
    "multiple_choice": {"options"},
}
SECTION_FIELDS = {"key", "title", "description", "lever_ids", "items"}
DOCUMENT_FIELDS = {"format", "title", "description", "respondent_types", "sections"}

# The 30 mainland levers of the 2024-07-24 panorama, and those of them with an extensive physical unit.
EXPECTED_MAINLAND = {
    "augm_voitelec", "reduc_consovp", "augm_buselec", "augm_depla", "augm_covoit", "augm_vélotc",
    "augm_fret", "augm_logi", "reduc_rconso", "reduc_rfioul", "reduc_rgaz", "reduc_tconso", "reduc_tfioul",
    "reduc_tgaz", "augm_valodma", "reduc_proddma", "co2_isdnd", "reduc_azote", "co2_elevage",
    "reduc_eneragri", "augm_couverts", "augm_haies", "augm_prairies", "co2_foret", "reduc_artif",
    "co2_indus", "co2_prodbois", "co2_enr", "co2_biogaz", "reduc_chal",
}  # fmt: skip
EXPECTED_EXTENSIVE = {
    "augm_voitelec", "augm_buselec", "augm_fret", "augm_logi", "reduc_rconso", "reduc_rfioul", "reduc_rgaz",
    "reduc_tconso", "reduc_tfioul", "reduc_tgaz", "reduc_azote", "reduc_eneragri", "augm_couverts",
    "augm_haies", "augm_prairies", "reduc_artif",
}  # fmt: skip


def latest_panorama() -> Path:
    files = sorted(PANORAMAS.glob("panorama-*.json"))
    assert files, f"no panorama file in {PANORAMAS}"
    return files[-1]


def panorama_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(latest_panorama().read_text(encoding="utf-8"))
    return [row for row in rows if row["regionName"] not in DEMONSTRATION_REGION_NAMES]


def all_lever_ids() -> set[str]:
    return {row["id"] for row in panorama_rows()}


def mainland_rows() -> dict[str, list[dict[str, Any]]]:
    by_lever: dict[str, list[dict[str, Any]]] = {}
    for row in panorama_rows():
        if row["regionName"] not in OVERSEAS_REGION_NAMES:
            by_lever.setdefault(row["id"], []).append(row)
    return by_lever


def physical_unit(rows: list[dict[str, Any]]) -> str | None:
    """The lever's physical unit as most mainland régions have it (None when it has none there)."""
    has_unit = Counter(not row["noTranslation"] for row in rows).most_common(1)[0][0]
    if not has_unit:
        return None
    units = Counter(" ".join(row["unitPhys"].split()) for row in rows if row.get("unitPhys"))
    return units.most_common(1)[0][0]


def extensive_levers() -> set[str]:
    extensive = set()
    for lever_id, rows in mainland_rows().items():
        unit = physical_unit(rows)
        if unit is not None and not INTENSIVE_UNIT.search(unit):
            extensive.add(lever_id)
    return extensive


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(QUESTIONNAIRE.read_bytes().decode("utf-8"))
    return loaded


def items() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (section, item) pair, in the document's order."""
    return [(section, item) for section in document()["sections"] for item in section["items"]]


def lever_ids_of(section: dict[str, Any], item: dict[str, Any]) -> list[str]:
    ids: list[str] = item.get("lever_ids", section["lever_ids"])
    return ids


def respondent_types_of(item: dict[str, Any]) -> list[str]:
    types: list[str] = item.get("respondent_types", document()["respondent_types"])
    return types


def actions() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(section, item) for section, item in items() if item["kind"] == "action"]


def test_the_file_is_utf8_json_with_two_space_indent_in_a_stable_form() -> None:
    raw = QUESTIONNAIRE.read_bytes()
    text = raw.decode("utf-8")
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"


def test_the_document_has_the_format_and_its_fields() -> None:
    doc = document()
    assert doc["format"] == FORMAT
    assert set(doc) == DOCUMENT_FIELDS
    assert doc["title"].strip() and doc["description"].strip()
    assert len(doc["respondent_types"]) == len(set(doc["respondent_types"]))
    assert set(doc["respondent_types"]) == RESPONDENT_TYPES
    assert doc["sections"]


def test_the_reference_data_is_the_latest_panorama_and_its_levers_are_known() -> None:
    assert latest_panorama().name == "panorama-2024-07-24.json"
    assert set(mainland_rows()) == EXPECTED_MAINLAND
    assert extensive_levers() == EXPECTED_EXTENSIVE


def test_keys_are_well_formed_and_unique_in_the_document() -> None:
    keys = [section["key"] for section in document()["sections"]] + [item["key"] for _, item in items()]
    for key in keys:
        assert KEY.fullmatch(key), key
    duplicates = [key for key, count in Counter(keys).items() if count > 1]
    assert duplicates == []


def test_sections_and_items_have_only_their_fields_and_clear_texts() -> None:
    for section in document()["sections"]:
        assert set(section) <= SECTION_FIELDS and {"key", "title", "lever_ids", "items"} <= set(section)
        assert section["title"].strip() and section["items"], section["key"]
    for _, item in items():
        assert item["kind"] in KINDS, item["key"]
        assert set(item) <= ITEM_FIELDS | KIND_FIELDS[item["kind"]], item["key"]
        assert {"key", "kind", "label"} <= set(item)
        # Short labels and a help of a sentence or two keep the questionnaire under an hour.
        assert item["label"].strip() and len(item["label"]) <= 100, item["key"]
        assert len(item.get("help", "")) <= 240, item["key"]


def test_every_lever_id_exists_and_is_a_mainland_lever() -> None:
    known, mainland = all_lever_ids(), set(mainland_rows())
    for section in document()["sections"]:
        assert section["lever_ids"], section["key"]
        assert len(section["lever_ids"]) == len(set(section["lever_ids"])), section["key"]
        assert set(section["lever_ids"]) <= known, section["key"]
        assert set(section["lever_ids"]) <= mainland, section["key"]


def test_item_lever_ids_are_within_their_section() -> None:
    for section, item in items():
        if "lever_ids" in item:
            assert item["lever_ids"], item["key"]
            assert len(item["lever_ids"]) == len(set(item["lever_ids"])), item["key"]
            assert set(item["lever_ids"]) <= set(section["lever_ids"]), item["key"]


def test_every_mainland_lever_is_covered_by_an_action() -> None:
    covered = {lever_id for section, item in actions() for lever_id in lever_ids_of(section, item)}
    assert set(mainland_rows()) - covered == set()


def test_every_lever_of_an_action_section_has_an_action_of_its_own() -> None:
    for section in document()["sections"]:
        section_actions = [item for item in section["items"] if item["kind"] == "action"]
        if section_actions:
            covered = {lever_id for item in section_actions for lever_id in lever_ids_of(section, item)}
            assert covered == set(section["lever_ids"]), section["key"]


def test_the_general_section_covers_every_mainland_lever_and_asks_each_kind_of_question() -> None:
    general = [section for section in document()["sections"] if section["key"] == "votre-collectivite"]
    assert len(general) == 1
    assert set(general[0]["lever_ids"]) == set(mainland_rows())
    kinds = Counter(item["kind"] for item in general[0]["items"])
    assert set(kinds) == {"text", "number", "single_choice", "multiple_choice"}
    assert 5 <= sum(kinds.values()) <= 10


def test_respondent_types_are_within_the_document() -> None:
    allowed = set(document()["respondent_types"])
    for _, item in items():
        if "respondent_types" in item:
            types = item["respondent_types"]
            assert types and len(types) == len(set(types)), item["key"]
            assert set(types) <= allowed, item["key"]


def test_about_a_hundred_actions_and_each_respondent_type_is_asked_a_fair_share() -> None:
    assert 95 <= len(actions()) <= 110
    for respondent_type in RESPONDENT_TYPES:
        asked = [item for _, item in items() if respondent_type in respondent_types_of(item)]
        assert 40 <= len(asked) <= 100, (respondent_type, len(asked))


@pytest.mark.parametrize(
    ("key", "types"),
    [
        ("renovation-colleges", ["departement"]),
        ("renovation-lycees", ["region"]),
        ("zan-documents-urbanisme", ["epci", "commune"]),
        ("zan-sraddet", ["region"]),
        ("tarification-incitative", ["epci"]),
    ],
)
def test_competence_specific_actions_go_to_the_collectivites_that_hold_the_competence(
    key: str, types: list[str]
) -> None:
    [item] = [item for _, item in items() if item["key"] == key]
    assert respondent_types_of(item) == types


def test_quantities_only_on_levers_with_an_extensive_unit_with_a_positive_decimal_factor() -> None:
    extensive = extensive_levers()
    with_quantity = [(section, item) for section, item in actions() if "quantity" in item]
    assert with_quantity
    for section, item in with_quantity:
        quantity = item["quantity"]
        assert set(quantity) == {"label", "unit", "lever_unit_factor"}, item["key"]
        assert quantity["label"].strip() and quantity["unit"].strip(), item["key"]
        # One lever: the factor converts to that lever's unit.
        [lever_id] = lever_ids_of(section, item)
        assert lever_id in extensive, item["key"]
        factor = quantity["lever_unit_factor"]
        assert isinstance(factor, str) and DECIMAL.fullmatch(factor), item["key"]
        assert Decimal(factor) > 0, item["key"]


# Extensive levers whose quantity is no collectivité's own figure (SOURCES.md, « Quantities »): road freight
# tonne-km avoided, nitrogen fertiliser delivered, fossil energy burnt on farms.
NOT_COLLECTIVITES_FIGURES = {"augm_fret", "augm_logi", "reduc_azote", "reduc_eneragri"}


def test_every_extensive_lever_asks_a_quantity_but_those_collectivites_cannot_measure() -> None:
    asked = {lever_ids_of(section, item)[0] for section, item in actions() if "quantity" in item}
    assert extensive_levers() - asked == NOT_COLLECTIVITES_FIGURES
    assert not asked & NOT_COLLECTIVITES_FIGURES


@pytest.mark.parametrize(
    ("key", "lever_unit", "factor"),
    [
        ("planter-haies", "milliers de km de linéaires de haies supplémentaires (en 2030 par rapport à 2019)",
         "0.001"),
        ("flotte-electrique", "milliers de véhicules électriques dans le parc régional (en 2030)", "0.001"),
        ("bus-cars-decarbones", "bus et cars décarbonés dans le parc régional (en 2030)", "1"),
        ("renovation-colleges", "TWh corr. consommés dans le secteur tertiaire (en 2030)", "0.000001"),
        ("renaturer", "kha d'espace naturel, agricole ou forestier artificialisés (en 2030)", "0.0000001"),
    ],
)  # fmt: skip
def test_factors_convert_to_the_levers_physical_unit(key: str, lever_unit: str, factor: str) -> None:
    [(section, item)] = [(section, item) for section, item in actions() if item["key"] == key]
    [lever_id] = lever_ids_of(section, item)
    assert physical_unit(mainland_rows()[lever_id]) == lever_unit
    assert item["quantity"]["lever_unit_factor"] == factor


def test_choice_questions_have_two_options_or_more_with_unique_keys() -> None:
    choices = [item for _, item in items() if item["kind"] in {"single_choice", "multiple_choice"}]
    assert choices
    for item in choices:
        options = item["options"]
        assert len(options) >= 2, item["key"]
        keys = [option["key"] for option in options]
        assert len(keys) == len(set(keys)), item["key"]
        for option in options:
            assert set(option) == {"key", "label"} and KEY.fullmatch(option["key"]), item["key"]
            assert option["label"].strip(), item["key"]


def test_number_questions_have_ordered_decimal_bounds_and_a_unit() -> None:
    numbers = [item for _, item in items() if item["kind"] == "number"]
    assert numbers
    for item in numbers:
        bounds: list[Decimal] = []
        for name in ("minimum", "maximum"):
            value = item.get(name)
            if value is not None:
                assert isinstance(value, str), (item["key"], name)
                try:
                    bounds.append(Decimal(value))
                except InvalidOperation:
                    pytest.fail(f"{item['key']}: {name} {value!r} is not a decimal")
        assert bounds == sorted(bounds), item["key"]
        assert item.get("unit", "").strip(), item["key"]


def test_text_questions_have_a_positive_maximum_length() -> None:
    for _, item in items():
        if item["kind"] == "text":
            assert isinstance(item["max_length"], int) and 0 < item["max_length"] <= 10000, item["key"]
