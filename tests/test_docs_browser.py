"""`/docs` in a real browser with no network but loopback: Debian's chromium, headless, every host name
but 127.0.0.1 unresolvable (a CDN asset would fail to load). The page must list the operations, and the
browser must report no Content-Security-Policy violation. CI installs chromium (.ci/run)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile

import httpx
import pytest

from planeco_gateway.docs import CONTENT_SECURITY_POLICY

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (apt-get install chromium)",
)
SUMMARY = "Each lever's objective declined to the EPCI attached to the région (public)"  # one operation


async def render(url: str) -> tuple[str, str]:
    """The DOM after the page's scripts ran (virtual time: no wall-clock wait), and the browser's log."""
    assert CHROMIUM is not None, "chromium is required on CI"
    with tempfile.TemporaryDirectory(prefix="planeco-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # the network is closed
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=60000",
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    return stdout.decode(), stderr.decode(errors="replace")


async def test_docs_list_the_operations_with_no_cdn_reachable(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        # Built once from the services' documents, then cached: built before the browser asks for it, so
        # that a loaded machine cannot make the page's fetch outlast the browser's time budget.
        assert (await client.get("/openapi.json")).status_code == 200
        page = await client.get("/docs")
        assets = [
            await client.get(f"/docs/assets/{name}") for name in ("swagger-ui-bundle.js", "swagger-ui.css")
        ]
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "cdn." not in page.text and "<script>" not in page.text  # no CDN, no inline script
    assert all(asset.status_code == 200 for asset in assets)

    for _attempt in range(3):  # a busy machine may need another render; a broken page never shows one
        dom, log = await render(f"{gateway}/docs")
        if "opblock" in dom:
            break
    assert "opblock" in dom, log[-3000:]
    assert SUMMARY in dom
    assert "Content Security Policy" not in log, log[-3000:]
