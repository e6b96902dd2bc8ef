"""Audit history reads (planeco_shared.history): the query of one entity's entries, newest first and
paged, and the read shape of a stored entry, on the selected database (JSON values come back as stored)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from planeco_shared.database import create_engine
from planeco_shared.history import FieldChange, field_changes, history_entry, history_page, history_statement
from planeco_shared.models import AuditEntryMixin, new_metadata
from planeco_shared.pagination import PageParams
from planeco_shared.testing import fresh_database_url

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = new_metadata()


class AuditEntry(AuditEntryMixin, Base):
    __tablename__ = "audit_log"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield fresh_database_url("history", tmp_path_factory.mktemp("history"))


@pytest_asyncio.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(database_url, pool_size=1)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            async with async_sessionmaker(bind=connection, expire_on_commit=False)() as session:
                yield session
            await transaction.rollback()
    finally:
        await engine.dispose()


def entry(
    entity_id: str, minutes: int, action: str = "update", changes: Any = None, entity_type: str = "thing"
) -> AuditEntry:
    return AuditEntry(
        id=uuid.uuid4(),
        occurred_at=T0 + dt.timedelta(minutes=minutes),
        actor="test:coordinator:24",
        actor_role="coordinator",
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes={} if changes is None else changes,
        request_id=f"req-{entity_id}-{minutes}",
    )


async def test_one_entitys_entries_newest_first_the_id_breaking_ties_and_paged(session: AsyncSession) -> None:
    tied = [entry("a", 5), entry("a", 5)]
    session.add_all([entry("a", 0, "create"), *tied, entry("b", 1), entry("a", 9, entity_type="other")])
    await session.flush()

    page = await history_page(session, history_statement(AuditEntry, "thing", "a"), PageParams(1, 2))
    assert (page.total, page.page, page.page_size) == (3, 1, 2)
    assert [e.request_id for e in page.items] == ["req-a-5", "req-a-5"]
    ties = sorted(tied, key=lambda e: e.id, reverse=True)
    rows = (await session.execute(history_statement(AuditEntry, "thing", "a"))).scalars().all()
    assert [r.id for r in rows[:2]] == [e.id for e in ties]
    last = await history_page(session, history_statement(AuditEntry, "thing", "a"), PageParams(2, 2))
    assert [(e.action, e.occurred_at) for e in last.items] == [("create", T0)]

    both = await history_page(session, history_statement(AuditEntry, "thing", ["a", "b"]), PageParams(1, 50))
    assert [e.request_id for e in both.items] == ["req-a-5", "req-a-5", "req-b-1", "req-a-0"]


async def test_an_entry_reads_back_with_its_json_values_as_stored(session: AsyncSession) -> None:
    stored = {
        "title": {"old": "Haies", "new": "Haies bocagères"},
        "cost": {"old": None, "new": "1250000.50"},  # a decimal: the string audit.snapshot wrote
        "carriers": {"old": ["Région"], "new": ["Région", "Chambre d'agriculture"]},
        "active": {"old": True, "new": False},
        "year": {"old": 2025, "new": 2026},
        "key": {"old": {"44": "0.5"}, "new": None},
    }
    session.add(entry("a", 0, changes=stored))
    await session.flush()
    session.expunge_all()  # read the row back from the database, not from the identity map
    row = (await session.execute(history_statement(AuditEntry, "thing", "a"))).scalar_one()

    read = history_entry(row, field_order=["title", "year"])
    assert (read.actor, read.actor_role, read.action, read.request_id) == (
        "test:coordinator:24",
        "coordinator",
        "update",
        "req-a-0",
    )
    assert read.occurred_at == T0
    assert [(c.field, c.old, c.new) for c in read.changes] == [
        ("title", "Haies", "Haies bocagères"),  # the given order first…
        ("year", 2025, 2026),
        ("active", True, False),  # …then alphabetically
        ("carriers", ["Région"], ["Région", "Chambre d'agriculture"]),
        ("cost", None, "1250000.50"),
        ("key", {"44": "0.5"}, None),
    ]
    assert read.model_dump(mode="json")["changes"][0] == {
        "field": "title",
        "old": "Haies",
        "new": "Haies bocagères",
    }


def test_a_creation_snapshot_reads_as_null_to_value() -> None:
    snapshot = {"title": "Haies", "lever_id": None, "carriers": [], "status": "proposed"}
    assert field_changes(snapshot, ["title", "status"]) == [
        FieldChange(field="title", old=None, new="Haies"),
        FieldChange(field="status", old=None, new="proposed"),
        FieldChange(field="carriers", old=None, new=[]),  # null → null is no change: lever_id is left out
    ]


def test_changes_that_are_not_an_object_read_as_none() -> None:
    assert field_changes(None) == field_changes(["title"]) == field_changes("x") == []
