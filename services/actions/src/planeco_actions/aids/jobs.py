"""The aids module's job: the Aides-territoires sync (`sync-aids`, daily; `planeco actions sync-aides`)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from planeco_actions.aids import service
from planeco_actions.aids.client import AidesTerritoiresClient, AidesTerritoiresError
from planeco_actions.settings import ActionsSettings
from planeco_shared.clients.base import UpstreamFailed
from planeco_shared.jobs import JobContext


async def sync_aids_job(context: JobContext) -> Mapping[str, int]:
    settings = context.runtime.settings
    if not isinstance(settings, ActionsSettings):  # pragma: no cover (the actions registry's runtime)
        raise TypeError("sync-aids runs in the actions service")
    # A client of its own: the API's timeouts (30 s) are not the services' (5 s), and it follows no redirect.
    async with httpx.AsyncClient(follow_redirects=False) as http:
        try:
            client = AidesTerritoiresClient.from_settings(settings, http)
        except AidesTerritoiresError as error:
            raise UpstreamFailed(str(error)) from error
        return await service.sync_catalogue(context, client)
