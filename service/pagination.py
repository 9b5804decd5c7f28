"""The one list envelope: {"items", "total", "limit", "offset"}."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from beanie import Document, SortDirection
from fastapi import Depends, Query
from pydantic import BaseModel

MAX_LIMIT = 100


T = TypeVar("T")
D = TypeVar("D", bound=Document)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class PageParams:
    limit: int = 20
    offset: int = 0


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


async def fetch_page(
    document: type[D],
    criteria: Mapping[str, Any],
    sort: list[tuple[str, int]],
    page: PageParams,
) -> tuple[list[D], int]:
    """One page of `document` matching `criteria`, and how many match in all.

    Ties are broken by `_id` (in the direction of the last sort key) so pages never overlap.
    """
    order = [(name, SortDirection(direction)) for name, direction in sort]
    if order[-1][0] != "_id":
        order.append(("_id", order[-1][1]))
    total = await document.find(criteria).count()
    rows = await document.find(criteria).sort(order).skip(page.offset).limit(page.limit).to_list()
    return rows, total
