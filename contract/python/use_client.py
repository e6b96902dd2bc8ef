"""What a regional IT team writes with the Python client generated from openapi.json (openapi-python-client):
contract/check type-checks it with mypy --strict against the generated package, so that a contract change that
breaks such code (a model dropped, a field renamed, a response parsed as the wrong type) fails CI."""

from __future__ import annotations

from decimal import Decimal

from planeco_api_client import AuthenticatedClient, Client
from planeco_api_client.api.actions import create_action, list_actions
from planeco_api_client.api.declination import decline_to_departements, export_departements_declination
from planeco_api_client.api.levers import convert_quantity
from planeco_api_client.api.panoramas import compare_panorama_versions, get_region_lever, get_region_panorama
from planeco_api_client.api.territories import get_collectivite, list_regions
from planeco_api_client.models import (
    ActionCreate,
    ActionRead,
    ActionReadPage,
    ComparisonRead,
    ConversionRead,
    DeclinationRead,
    Problem,
    RegionLeverRead,
    RegionPanoramaRead,
    RegionReadPage,
    TerritoryLevel,
    TerritoryRef,
)
from planeco_api_client.models.tabular_format import TabularFormat
from planeco_api_client.types import File

BASE_URL = "http://localhost:8000"
VERSION = "2024-07-24"


def regional_objectives(public: Client) -> dict[str, Decimal]:
    """Every lever's objective for Centre-Val de Loire, exact."""
    panorama = get_region_panorama.sync(VERSION, "24", client=public)
    if not isinstance(panorama, RegionPanoramaRead):
        raise RuntimeError(f"no panorama: {panorama!r}")
    return {lever.lever_id: Decimal(lever.objective_ktco2e) for lever in panorama.levers}


def main_reads(public: Client) -> None:
    regions = list_regions.sync(client=public, page_size=20)
    assert isinstance(regions, RegionReadPage)
    names: list[str] = [region.name for region in regions.items]
    lever = get_region_lever.sync(VERSION, "24", "augm_voitelec", client=public)
    assert isinstance(lever, RegionLeverRead)
    comparison = compare_panorama_versions.sync(VERSION, client=public, from_="2024-04-08", region="24")
    assert isinstance(comparison, ComparisonRead)
    declined = decline_to_departements.sync(VERSION, "24", client=public, lever_id=["augm_voitelec"])
    assert isinstance(declined, DeclinationRead)
    shares = {child.code: child.objective_ktco2e for child in declined.levers[0].children}
    conversion = convert_quantity.sync("augm_voitelec", client=public, region="24", ktco2e="100")
    assert isinstance(conversion, ConversionRead)
    spreadsheet = export_departements_declination.sync(
        VERSION, "24", client=public, format_=TabularFormat.XLSX
    )
    assert isinstance(spreadsheet, File)
    orleans = get_collectivite.sync("45234", client=public)
    print(names, shares, conversion.physical, orleans, len(spreadsheet.payload.read()))


def one_write(key: str) -> ActionRead:
    client = AuthenticatedClient(base_url=BASE_URL, token=key, prefix="", auth_header_name="X-API-Key")
    created = create_action.sync(
        client=client,
        body=ActionCreate(
            title="Plan régional de plantation de haies",
            territory=TerritoryRef(level=TerritoryLevel.REGION, code="24"),
        ),
    )
    if isinstance(created, Problem):
        raise RuntimeError(created.detail)
    assert isinstance(created, ActionRead)
    mine = list_actions.sync(client=client, region=["24"])
    assert isinstance(mine, ActionReadPage)
    return created


if __name__ == "__main__":
    public = Client(base_url=BASE_URL)
    print(regional_objectives(public))
    main_reads(public)
