"""`/docs`: Swagger UI on the public contract, with every asset served by the gateway itself.

FastAPI's default page loads Swagger UI from cdn.jsdelivr.net: where a browser cannot reach that CDN
(administration networks), the page stayed blank. The JS and CSS come from the `fastapi-offline`
package, which ships a current Swagger UI 5 (OpenAPI 3.1); only its asset files are used. The page
starts Swagger UI from a script file, not an inline one, so its Content-Security-Policy allows scripts
and styles from the gateway only (`data:` images: the icons Swagger UI's CSS embeds).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"  # swagger-ui-bundle.js, swagger-ui.css, favicon
ASSETS_PATH = "/docs/assets"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
ASSET_CACHE = "public, max-age=86400"  # the files change with the package version only

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>planeco API</title>
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon.png">
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
"""


class _Assets(StaticFiles):
    """The package's files with the page's policy and a day of caching."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = ASSET_CACHE
        response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
        return response


def install(app: FastAPI) -> None:
    headers = {"content-security-policy": CONTENT_SECURITY_POLICY}

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(PAGE, headers=headers)

    @app.get("/docs/init.js", include_in_schema=False)
    async def init() -> Response:
        return Response(INIT, media_type="text/javascript", headers=headers | {"cache-control": ASSET_CACHE})

    app.mount(ASSETS_PATH, _Assets(directory=ASSETS), name="docs-assets")
