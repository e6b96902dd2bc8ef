"""All SQL of the publications module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.publications.models import Publication, PublicationFile
from planeco_shared.owners import ResolvedOwner

ENTITY = "roadmap_publication"


def _of(owner: ResolvedOwner) -> list[ColumnElement[bool]]:
    return [
        Publication.owner_level == owner.level,
        Publication.owner_code == owner.code,
        Publication.owner_region == owner.region,
    ]


class PublicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def last_number(self, owner: ResolvedOwner) -> int:
        found = await self.session.scalar(
            select(func.max(Publication.number)).where(
                Publication.owner_level == owner.level, Publication.owner_code == owner.code
            )
        )
        return int(found or 0)

    async def add(self, publication: Publication, files: Sequence[PublicationFile]) -> Publication:
        self.session.add(publication)
        await self.session.flush()
        for item in files:
            item.publication_id = publication.id
        self.session.add_all(files)
        await self.session.flush()
        return publication

    def list_statement(self, owner: ResolvedOwner) -> Select[Any]:
        return select(Publication).where(*_of(owner)).order_by(Publication.number, Publication.id)

    async def get(self, owner: ResolvedOwner, number: int) -> Publication | None:
        result: Publication | None = await self.session.scalar(
            select(Publication).where(*_of(owner), Publication.number == number)
        )
        return result

    async def files(self, publication: Publication) -> Sequence[tuple[str, str, int, str]]:
        """(name, media type, size, ETag) of each file, without their bytes."""
        rows = await self.session.execute(
            select(
                PublicationFile.name,
                PublicationFile.media_type,
                func.length(PublicationFile.content),
                PublicationFile.etag,
            )
            .where(PublicationFile.publication_id == publication.id)
            .order_by(PublicationFile.name)
        )
        return [(name, media, int(size), tag) for name, media, size, tag in rows.all()]

    async def file(self, publication: Publication, name: str) -> PublicationFile | None:
        result: PublicationFile | None = await self.session.get(PublicationFile, (publication.id, name))
        return result
