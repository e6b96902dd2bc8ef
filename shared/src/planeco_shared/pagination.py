"""Bounded pagination: `page` (from 1) and `page_size` (default 50, maximum 500)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Number of items matching the filters, all pages together")
    page: int
    page_size: int

    @classmethod
    def of(cls, items: list[T], total: int, params: PageParams) -> Page[T]:
        """The page a list endpoint answers: these items, the total, and the page asked for."""
        return cls(items=items, total=total, page=params.page, page_size=params.page_size)


async def paginate_into(
    session: AsyncSession, statement: Select[Any], params: PageParams, shape: Callable[[Any], T]
) -> Page[T]:
    """`paginate`, each row shaped into its read model (`XRead.model_validate` or a function)."""
    rows, total = await paginate(session, statement, params)
    return Page.of([shape(row) for row in rows], total, params)


@dataclass(frozen=True, slots=True)
class PageParams:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def page_params(  # async: no thread-pool hand-off (see planeco_shared.identity)
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page (max {MAX_PAGE_SIZE})")
    ] = DEFAULT_PAGE_SIZE,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


PageDep = Annotated[PageParams, Depends(page_params)]


async def paginate(
    session: AsyncSession, statement: Select[Any], params: PageParams
) -> tuple[list[Any], int]:
    """Run a page of `statement` (which must have a stable, unique ORDER BY) and its total count."""
    count_stmt = select(func.count()).select_from(statement.order_by(None).subquery())
    total = int((await session.execute(count_stmt)).scalar_one())
    rows = (await session.execute(statement.limit(params.page_size).offset(params.offset))).scalars().all()
    return list(rows), total
