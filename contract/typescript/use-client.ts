// What a front-end team writes with the types openapi-typescript generates from openapi.json, through
// openapi-fetch: contract/check type-checks it (tsc --strict), so that a contract change that breaks such code
// (a schema dropped, a field renamed or made required, a file parsed as JSON) fails CI.
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/typescript/api";

type RegionPanorama = components["schemas"]["RegionPanoramaRead"];
type ActionCreate = components["schemas"]["ActionCreate"];

const VERSION = "2024-07-24";
const api = createClient<paths>({ baseUrl: "http://localhost:8000" });

export async function regionalObjectives(): Promise<Map<string, string>> {
  const { data, error } = await api.GET("/api/v1/panoramas/{version}/regions/{code}", {
    params: { path: { version: VERSION, code: "24" } },
  });
  if (error) throw new Error(`${error.status} ${error.title}: ${error.detail ?? ""}`);
  const panorama: RegionPanorama = data;
  return new Map(panorama.levers.map((lever) => [lever.lever_id, lever.objective_ktco2e]));
}

export async function mainReads(): Promise<void> {
  const regions = await api.GET("/api/v1/territories/regions", { params: { query: { page_size: 20 } } });
  const names: string[] = regions.data?.items.map((region) => region.name) ?? [];
  const declined = await api.GET("/api/v1/panoramas/{version}/regions/{code}/departements", {
    params: { path: { version: VERSION, code: "24" }, query: { lever_id: ["augm_voitelec"], precision: "0.1" } },
  });
  const shares = declined.data?.levers[0]?.children.map((child) => [child.code, child.objective_ktco2e]);
  const lever = await api.GET("/api/v1/panoramas/{version}/regions/{code}/levers/{lever_id}", {
    params: { path: { version: VERSION, code: "24", lever_id: "augm_voitelec" } },
  });
  const unit: string | null | undefined = lever.data?.unit;
  const file = await api.GET("/api/v1/panoramas/{version}/regions/{code}/export", {
    params: { path: { version: VERSION, code: "24" }, query: { format: "csv" } },
    parseAs: "text",
  });
  const csv: string | undefined = file.data;
  console.log(names, shares, unit, csv?.length);
}

export async function oneWrite(key: string): Promise<string> {
  const body: ActionCreate = {
    title: "Plan régional de plantation de haies",
    territory: { level: "region", code: "24" },
  };
  const { data, error, response } = await api.POST("/api/v1/actions", {
    body,
    headers: { "X-API-Key": key },
  });
  if (error) throw new Error(`${error.status} ${error.code}`);
  const etag = response.headers.get("etag");
  const updated = await api.PATCH("/api/v1/actions/{action_id}", {
    params: { path: { action_id: data.id }, header: { "If-Match": etag ?? "*" } },
    body: { status: "retenue" },
    headers: { "X-API-Key": key },
  });
  return updated.data?.status ?? "unchanged";
}
