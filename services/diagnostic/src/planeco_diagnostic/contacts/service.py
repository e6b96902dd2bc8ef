"""Contacts: the people the diagnostic writes to, several per collectivité, one of them primary.

Contacts are personal data (RGPD): only those in charge of a territory read them (admins all; a
coordinator its région's or département's; a contributor its own collectivité's; readers and anonymous
callers none), and a deleted contact is erased, not archived: its history keeps who deleted it and when,
never its e-mail. The collectivité (région, département, EPCI by SIREN, commune by INSEE code) is checked
against the levers service, which gives its name and where it lies, when the contact is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.contacts.models import Contact, ContactLevel
from planeco_diagnostic.contacts.repository import ContactRepository, ContactScope
from planeco_diagnostic.contacts.schemas import (
    CollectiviteCode,
    ContactCreate,
    ContactFilters,
    ContactRead,
    ContactUpdate,
    Email,
    Function,
    PersonName,
    check_code,
)
from planeco_diagnostic.db import AuditEntry
from planeco_shared import audit
from planeco_shared.clients.base import ReferenceCheck, UpstreamNotFound
from planeco_shared.clients.levers import LeversClient
from planeco_shared.history import HistoryEntry, history_page
from planeco_shared.identity import Principal, Role
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.problems import Conflict, Forbidden, NotFound
from planeco_shared.scopes import Level, ScopeResolver, Territory, ensure_may_act_on, may_act_on, scope_ref
from planeco_shared.sheets import RowErrors, SheetRow, read_sheet, validate_rows
from planeco_shared.tabular import Column, Metadata, Table

ENTITY = "contact"
FIELDS = [
    "level",
    "code",
    "collectivite_name",
    "region_code",
    "departement_code",
    "email",
    "name",
    "function",
    "is_primary",
]
MAX_IMPORT_ROWS = 5_000
MAX_EXPORT_ROWS = 50_000
LOOKUP_CONCURRENCY = 8


@dataclasses.dataclass(frozen=True, slots=True)
class Collectivite:
    """A collectivité as the levers service knows it."""

    level: ContactLevel
    code: str
    name: str
    region: str
    departement: str | None
    territory: Territory


async def resolve(levers: LeversClient, level: ContactLevel, code: str) -> Collectivite:
    """The collectivité, through the levers service (`UpstreamNotFound` when it has none by that code)."""
    if level is ContactLevel.region:
        region = await levers.get_region(code)
        return Collectivite(level, code, region.name, code, None, Territory.region(code))
    if level is ContactLevel.departement:
        departement = await levers.get_departement(code)
        territory = Territory.departement(code, region=departement.region)
        return Collectivite(level, code, departement.name, departement.region, code, territory)
    if level is ContactLevel.epci:
        epci = await levers.get_epci(code)
        territory = Territory(
            Level.epci,
            code,
            regions=frozenset(epci.regions),
            departements=frozenset(epci.departements),
            epcis=frozenset({code}),
            siren=code,
        )
        return Collectivite(level, code, epci.name, epci.region, epci.departement, territory)
    commune = await levers.get_commune(code)
    territory = Territory(
        Level.commune,
        code,
        regions=frozenset({commune.region}),
        departements=frozenset({commune.departement}),
        epcis=frozenset({commune.epci}) if commune.epci else frozenset(),
        siren=commune.siren,
    )
    return Collectivite(level, code, commune.name, commune.region, commune.departement, territory)


async def scope_of(principal: Principal, scopes: ScopeResolver) -> ContactScope:
    """What the caller may read and change: see the module's docstring."""
    if principal.role is Role.admin:
        return ContactScope(everything=True)
    if principal.role is Role.coordinator:
        ref = scope_ref(principal)
        if ref is None:
            return ContactScope()
        if ref.level is Level.region:
            return ContactScope(region=ref.identifier)
        return ContactScope(departement=ref.identifier)
    if principal.role is Role.contributor:
        territory = await scopes.territory_of(principal)
        if territory is None or territory.level.value not in ContactLevel.__members__:
            return ContactScope()
        return ContactScope(collectivite=(ContactLevel(territory.level.value), territory.code))
    raise Forbidden("Contacts are personal data: only admins, coordinators and contributors read them")


def _covers(scope: ContactScope, contact: Contact) -> bool:
    return scope.covers(
        level=contact.level,
        code=contact.code,
        region=contact.region_code,
        departement=contact.departement_code,
    )


async def _demote_others(
    session: AsyncSession, contact: Contact, *, principal: Principal, action: str
) -> None:
    for other in await ContactRepository(session).others_primary(contact):
        audit.apply_update(
            session,
            AuditEntry,
            other,
            {"is_primary": False},
            principal=principal,
            entity_type=ENTITY,
            entity_id=str(other.id),
            action=action,
        )


async def create_contact(
    session: AsyncSession, *, data: ContactCreate, principal: Principal, levers: LeversClient
) -> Contact:
    check = ReferenceCheck()
    found = await check.exists(
        resolve(levers, data.collectivite_level, data.collectivite),
        loc=["body", "collectivite"],
        what=f"{data.collectivite_level.value} {data.collectivite}",
    )
    check.raise_if_any()
    assert found is not None
    ensure_may_act_on(principal, found.territory)
    repository = ContactRepository(session)
    if await repository.find(found.level, found.code, data.email) is not None:
        raise Conflict(f"{found.name} already has the contact {data.email}")
    first = not await repository.has_any(found.level, found.code)
    contact = await repository.add(_new_contact(found, data.email, data.name, data.function, principal))
    contact.is_primary = data.primary or first
    if data.primary:
        await _demote_others(session, contact, principal=principal, action="update")
    await session.flush()
    _audit_created(session, contact, principal=principal, action="create")
    return contact


def _new_contact(found: Collectivite, email: str, name: str, function: str, principal: Principal) -> Contact:
    return Contact(
        level=found.level,
        code=found.code,
        collectivite_name=found.name,
        region_code=found.region,
        departement_code=found.departement,
        email=email,
        name=name,
        function=function,
        is_primary=False,
        created_by=principal.subject,
    )


def _audit_created(session: AsyncSession, contact: Contact, *, principal: Principal, action: str) -> None:
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action=action,
        entity_type=ENTITY,
        entity_id=str(contact.id),
        changes=audit.snapshot(contact, FIELDS),
    )


async def get_contact(
    session: AsyncSession, contact_id: uuid.UUID, *, principal: Principal, scopes: ScopeResolver
) -> Contact:
    """The contact, if the caller may see it (a 404 otherwise, as for one that does not exist)."""
    scope = await scope_of(principal, scopes)
    contact = await ContactRepository(session).get(contact_id)
    if contact is None or not _covers(scope, contact):
        raise NotFound(f"No contact {contact_id}")
    return contact


async def update_contact(
    session: AsyncSession, contact: Contact, *, data: ContactUpdate, principal: Principal
) -> Contact:
    """`contact` from `get_contact` (the caller's scope: its readers are those who may change it)."""
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "primary" in changes:
        changes["is_primary"] = changes.pop("primary")
    email: str | None = changes.get("email")
    if (
        email is not None
        and email != contact.email
        and await ContactRepository(session).find(contact.level, contact.code, email)
    ):
        raise Conflict(f"{contact.collectivite_name} already has the contact {email}")
    audit.apply_update(
        session,
        AuditEntry,
        contact,
        changes,
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(contact.id),
    )
    if changes.get("is_primary"):
        await _demote_others(session, contact, principal=principal, action="update")
    await session.flush()
    return contact


async def delete_contact(session: AsyncSession, contact: Contact, *, principal: Principal) -> None:
    """Erased (personal data); the history keeps who deleted it, not what it held."""
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="delete",
        entity_type=ENTITY,
        entity_id=str(contact.id),
        changes={},
    )
    await ContactRepository(session).delete(contact)


async def list_contacts(
    session: AsyncSession,
    filters: ContactFilters,
    *,
    principal: Principal,
    scopes: ScopeResolver,
    params: PageParams,
) -> Page[ContactRead]:
    scope = await scope_of(principal, scopes)
    statement = ContactRepository(session).list_statement(filters, scope=scope)
    return await paginate_into(session, statement, params, ContactRead.model_validate)


async def all_contacts(
    session: AsyncSession, filters: ContactFilters, *, principal: Principal, scopes: ScopeResolver
) -> list[ContactRead]:
    """Every contact the list would show, for the export (at most MAX_EXPORT_ROWS)."""
    scope = await scope_of(principal, scopes)
    repository = ContactRepository(session)
    contacts = await repository.all(repository.list_statement(filters, scope=scope), limit=MAX_EXPORT_ROWS)
    return [ContactRead.model_validate(contact) for contact in contacts]


async def contact_history(
    session: AsyncSession, contact_id: uuid.UUID, *, params: PageParams
) -> Page[HistoryEntry]:
    return await history_page(
        session, ContactRepository(session).history_statement(contact_id), params, field_order=FIELDS
    )


# --- files: import and export share these columns, so that an export re-imports unchanged -------------

COLUMNS = [
    Column("collectivite_level", description="region, departement, epci or commune"),
    Column("collectivite", description="INSEE code (région, département, commune) or SIREN (EPCI)"),
    Column("collectivite_name", description="As the levers service names it (ignored on import)"),
    Column("email", description="E-mail address"),
    Column("name", description="Name of the person"),
    Column("function", description="Function in the collectivité"),
    Column("primary", description="true for the collectivité's primary contact"),
]
COLUMN_NAMES = [column.name for column in COLUMNS]
REQUIRED_COLUMNS = ["collectivite_level", "collectivite", "email"]
_TRUE = {"true", "1", "oui", "yes", "vrai", "x"}
_FALSE = {"false", "0", "non", "no", "faux"}


def _flag(value: object) -> object:
    if isinstance(value, str):
        folded = value.strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        if not folded:
            return None
    return value


class ContactRow(BaseModel):
    """One row of a contacts file."""

    model_config = ConfigDict(extra="forbid")

    collectivite_level: ContactLevel
    collectivite: CollectiviteCode
    collectivite_name: str = ""
    email: Email
    name: PersonName = ""
    function: Function = ""
    # Empty: a new contact is primary if it is its collectivité's first; a known one keeps its flag.
    primary: Annotated[bool | None, BeforeValidator(_flag)] = None


class ContactImportResult(BaseModel):
    rows: int = Field(description="Rows read (blank rows skipped)", examples=[120])
    created: int = Field(description="Contacts added", examples=[80])
    updated: int = Field(description="Contacts whose name, function or primary flag changed", examples=[3])
    unchanged: int = Field(description="Rows that matched a contact as it was", examples=[37])
    collectivites: int = Field(description="Distinct collectivités in the file", examples=[79])


async def import_contacts(
    session: AsyncSession,
    content: bytes,
    media_type: str,
    *,
    principal: Principal,
    levers: LeversClient,
) -> ContactImportResult:
    """Every row applied, or none (422 listing each row's errors). Idempotent by (collectivité, e-mail): a
    row for a known contact updates its name, function and primary flag; the same file twice changes nothing.
    A row marked primary makes the collectivité's other contacts not primary; a collectivité's first contact
    is primary when the file marks none; an empty `primary` cell keeps a known contact's flag. Each distinct
    collectivité is resolved once through levers."""
    errors = RowErrors("the contacts file", code="invalid_contacts")
    rows = read_sheet(
        content,
        media_type,
        columns=COLUMN_NAMES,
        required=REQUIRED_COLUMNS,
        max_rows=MAX_IMPORT_ROWS,
        errors=errors,
        skip_metadata=True,
    )
    valid = validate_rows(rows, ContactRow, errors, prepare=_prepare)
    valid = _check_file(valid, errors)
    keys = sorted({(row.collectivite_level, row.collectivite) for _, row in valid})
    found = await _resolve_all(levers, keys)
    for sheet_row, row in valid:
        collectivite = found.get((row.collectivite_level, row.collectivite))
        if collectivite is None:
            errors.add(
                ["row", sheet_row.number, "collectivite"],
                f"no {row.collectivite_level.value} {row.collectivite} exists",
                "not_found",
            )
        elif not may_act_on(principal, collectivite.territory):
            errors.add(
                ["row", sheet_row.number, "collectivite"],
                f"{collectivite.name} is outside your territory",
                "forbidden",
            )
    errors.raise_if_any()
    return await _apply(session, [row for _, row in valid], found, principal=principal, read=len(rows))


def _prepare(values: Mapping[str, str]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}


def _check_file(
    valid: list[tuple[SheetRow, ContactRow]], errors: RowErrors
) -> list[tuple[SheetRow, ContactRow]]:
    seen: dict[tuple[str, str, str], int] = {}
    primary: dict[tuple[str, str], int] = {}
    kept = []
    for sheet_row, row in valid:
        try:
            check_code(row.collectivite_level, row.collectivite)
        except ValueError as exc:
            errors.add(["row", sheet_row.number, "collectivite"], str(exc), "value_error")
            continue
        key = (row.collectivite_level.value, row.collectivite, row.email)
        if key in seen:
            errors.add(
                ["row", sheet_row.number, "email"],
                f"{row.email} is already given for this collectivité on row {seen[key]}",
                "duplicate",
            )
            continue
        seen[key] = sheet_row.number
        if row.primary:
            collectivite = (row.collectivite_level.value, row.collectivite)
            if collectivite in primary:
                errors.add(
                    ["row", sheet_row.number, "primary"],
                    f"row {primary[collectivite]} already marks this collectivité's primary contact",
                    "duplicate_primary",
                )
                continue
            primary[collectivite] = sheet_row.number
        kept.append((sheet_row, row))
    return kept


async def _resolve_all(
    levers: LeversClient, keys: Iterable[tuple[ContactLevel, str]]
) -> dict[tuple[ContactLevel, str], Collectivite]:
    """Each distinct collectivité once; the unknown ones are left out."""
    gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)
    found: dict[tuple[ContactLevel, str], Collectivite] = {}

    async def one(key: tuple[ContactLevel, str]) -> None:
        async with gate:
            with contextlib.suppress(UpstreamNotFound):
                found[key] = await resolve(levers, *key)

    await asyncio.gather(*(one(key) for key in keys))
    return found


async def _apply(
    session: AsyncSession,
    rows: Sequence[ContactRow],
    found: Mapping[tuple[ContactLevel, str], Collectivite],
    *,
    principal: Principal,
    read: int,
) -> ContactImportResult:
    repository = ContactRepository(session)
    existing: dict[tuple[str, str], list[Contact]] = defaultdict(list)
    for contact in await repository.of_collectivites({(level.value, code) for level, code in found}):
        existing[(contact.level.value, contact.code)].append(contact)
    by_collectivite: dict[tuple[ContactLevel, str], list[ContactRow]] = defaultdict(list)
    for row in rows:
        by_collectivite[(row.collectivite_level, row.collectivite)].append(row)
    created = updated = unchanged = 0
    for key, group in by_collectivite.items():
        collectivite = found[key]
        contacts = existing[(key[0].value, key[1])]
        had_any = bool(contacts)
        by_email = {contact.email: contact for contact in contacts}
        marked = next((row.email for row in group if row.primary), None)
        for row in group:
            known = by_email.get(row.email)
            if known is None:
                contact = await repository.add(
                    _new_contact(collectivite, row.email, row.name, row.function, principal)
                )
                contact.is_primary = bool(row.primary) or (
                    marked is None and row.primary is None and not had_any and row is group[0]
                )
                by_email[row.email] = contact
                _audit_created(session, contact, principal=principal, action="import")
                created += 1
                continue
            changes: dict[str, Any] = {
                "name": row.name,
                "function": row.function,
                "collectivite_name": collectivite.name,
            }
            if row.primary is not None:
                changes["is_primary"] = row.primary
            changed = audit.apply_update(
                session,
                AuditEntry,
                known,
                changes,
                principal=principal,
                entity_type=ENTITY,
                entity_id=str(known.id),
                action="import",
            )
            if changed:
                updated += 1
            else:
                unchanged += 1
        if marked is not None:
            for email, contact in by_email.items():
                if email != marked and contact.is_primary:
                    audit.apply_update(
                        session,
                        AuditEntry,
                        contact,
                        {"is_primary": False},
                        principal=principal,
                        entity_type=ENTITY,
                        entity_id=str(contact.id),
                        action="import",
                    )
    await session.flush()
    return ContactImportResult(
        rows=read, created=created, updated=updated, unchanged=unchanged, collectivites=len(by_collectivite)
    )


def contacts_table(contacts: Sequence[ContactRead]) -> Table:
    """The export: the import's columns, so that it re-imports unchanged."""
    metadata = Metadata(
        title="Contacts du diagnostic",
        source="planeco diagnostic",
        version="contacts",
        licence="Données personnelles (RGPD) : pour les invitations du diagnostic de la COP uniquement",
        notes=("primary: true pour le contact principal de la collectivité",),
    )
    records = [
        {
            "collectivite_level": contact.collectivite_level.value,
            "collectivite": contact.collectivite,
            "collectivite_name": contact.collectivite_name,
            "email": contact.email,
            "name": contact.name,
            "function": contact.function,
            "primary": "true" if contact.primary else "false",
        }
        for contact in contacts
    ]
    return Table.from_records(metadata, COLUMNS, records)
