"""All SQL of the contacts module."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.contacts.models import Contact, ContactLevel
from planeco_diagnostic.contacts.schemas import ContactFilters
from planeco_diagnostic.db import AuditEntry
from planeco_shared.history import history_statement


class ContactScope:
    """The contacts a caller may see and change: all (admin), a région's or a département's (coordinator),
    one collectivité's (contributor), none (anyone else)."""

    def __init__(
        self,
        *,
        everything: bool = False,
        region: str | None = None,
        departement: str | None = None,
        collectivite: tuple[ContactLevel, str] | None = None,
    ) -> None:
        self.everything = everything
        self.region = region
        self.departement = departement
        self.collectivite = collectivite

    def clause(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        if self.region is not None:
            return Contact.region_code == self.region
        if self.departement is not None:
            return Contact.departement_code == self.departement
        if self.collectivite is not None:
            level, code = self.collectivite
            return and_(Contact.level == level, Contact.code == code)
        return false()

    def covers(self, *, level: ContactLevel, code: str, region: str, departement: str | None) -> bool:
        if self.everything:
            return True
        if self.region is not None:
            return region == self.region
        if self.departement is not None:
            return departement == self.departement
        return self.collectivite == (level, code)


class ContactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, contact_id: uuid.UUID) -> Contact | None:
        return await self.session.get(Contact, contact_id)

    def list_statement(self, filters: ContactFilters, *, scope: ContactScope) -> Select[Any]:
        statement = select(Contact).where(scope.clause())
        if filters.region is not None:
            statement = statement.where(Contact.region_code == filters.region)
        if filters.departement is not None:
            statement = statement.where(Contact.departement_code == filters.departement)
        if filters.collectivite_level is not None:
            statement = statement.where(Contact.level == filters.collectivite_level)
        if filters.collectivite is not None:
            statement = statement.where(Contact.code == filters.collectivite)
        return statement.order_by(
            Contact.region_code,
            Contact.departement_code.asc().nulls_first(),  # a région first, on both databases
            Contact.level,
            Contact.code,
            Contact.is_primary.desc(),
            Contact.email,
            Contact.id,
        )

    async def all(self, statement: Select[Any], *, limit: int) -> Sequence[Contact]:
        return (await self.session.scalars(statement.limit(limit))).all()

    async def of_collectivites(self, keys: Collection[tuple[str, str]]) -> list[Contact]:
        """The contacts of these (level, code) collectivités."""
        if not keys:
            return []
        found: list[Contact] = []
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            statement = select(Contact).where(tuple_(Contact.level, Contact.code).in_(chunk))
            found.extend((await self.session.scalars(statement)).all())
        return found

    async def find(self, level: ContactLevel, code: str, email: str) -> Contact | None:
        statement = select(Contact).where(
            Contact.level == level, Contact.code == code, Contact.email == email
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def others_primary(self, contact: Contact) -> list[Contact]:
        statement = select(Contact).where(
            Contact.level == contact.level,
            Contact.code == contact.code,
            Contact.is_primary.is_(True),
            Contact.id != contact.id,
        )
        return list((await self.session.scalars(statement)).all())

    async def has_any(self, level: ContactLevel, code: str) -> bool:
        statement = select(Contact.id).where(Contact.level == level, Contact.code == code).limit(1)
        return (await self.session.scalar(statement)) is not None

    async def add(self, contact: Contact) -> Contact:
        self.session.add(contact)
        await self.session.flush()
        return contact

    async def delete(self, contact: Contact) -> None:
        await self.session.delete(contact)
        await self.session.flush()

    def history_statement(self, contact_id: uuid.UUID) -> Select[Any]:
        return history_statement(AuditEntry, "contact", str(contact_id))
