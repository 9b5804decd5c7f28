"""The one list envelope: {"items", "total", "limit", "offset", "next"}, and the one paged query.

Two ways through a list, both served by an index whose keys are the list's sort ending in `_id`:
- `offset` (at most MAX_OFFSET: skipping costs as much as reading), and
- `after=<cursor>` (keyset pagination): the opaque `next` of the previous page. The next page
  starts right after that row in the list's order, so rows inserted or deleted meanwhile never
  make a page repeat or skip one, and its cost does not grow with how deep the page is.

A cursor is url-safe base64 of JSON `{"k": [sort keys], "v": [the row's values, then its _id]}`.
It is not signed: it only positions a page inside the same filter the caller may read anyway,
so it is validated (shape, keys of this list's sort, value types) and anything else is a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar, overload

from beanie import Document, SortDirection
from bson import ObjectId
from fastapi import Depends, Query
from pydantic import BaseModel, Field
from pymongo.errors import ExecutionTimeout

from documents.clock import as_stored
from service.errors import ServiceUnavailable, Unprocessable
from service.queries import QueryShape, Shapes
from service.validation import IsoDateTime

MAX_LIMIT = 100
# deeper than this, `offset` answers 422 and points to `after`
MAX_OFFSET = 10_000
MAX_CURSOR_CHARS = 1024


T = TypeVar("T")
D = TypeVar("D", bound=Document)


class OffsetPage(BaseModel, Generic[T]):
    """A page reached by offset only (the ranked leaderboards)."""

    items: list[T]
    total: int
    limit: int
    offset: int


class Page(OffsetPage[T], Generic[T]):
    """A list page; `next` continues it by keyset (`after=<next>`)."""

    next: str | None = Field(
        default=None,
        description="Cursor of the next page (pass it as `after`); null on the last page",
    )


@dataclass(frozen=True)
class PageParams:
    limit: int = 20
    offset: int = 0
    after: str | None = None


async def offset_page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> PageParams:
    """Paging by offset only (the leaderboards, which rank rows and take no cursor)."""
    return PageParams(limit=limit, offset=offset)


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 20,
    offset: Annotated[
        int, Query(ge=0, description=f"Items to skip (at most {MAX_OFFSET:,}: use `after`)")
    ] = 0,
    after: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_CHARS,
            description="The `next` cursor of the previous page: the page after that row",
        ),
    ] = None,
) -> PageParams:
    if offset > MAX_OFFSET:
        raise Unprocessable(
            f"offset may be at most {MAX_OFFSET:,}; page further with the `after` cursor "
            "(each page's `next`)",
            loc=("query", "offset"),
        )
    if after is not None and offset:
        raise Unprocessable(
            "Use either `offset` or `after`, not both",
            locs=[("query", "offset"), ("query", "after")],
        )
    return PageParams(limit=limit, offset=offset, after=after)


PageDep = Annotated[PageParams, Depends(page_params)]
OffsetPageDep = Annotated[PageParams, Depends(offset_page_params)]


# --- a list's `from`/`to` range of start times ------------------------------------------------

StartedRange = tuple[datetime | None, datetime | None]


def started_range_params(noun: str) -> Callable[..., Awaitable[StartedRange]]:
    """The `from`/`to` query parameters of a list of `noun` (runs, workouts) by start time."""

    async def started_range(
        started_from: IsoDateTime | None = Query(
            None,
            alias="from",
            description=f"{noun} that started at or after (ISO 8601 date or time)",
        ),
        started_to: IsoDateTime | None = Query(
            None, alias="to", description=f"{noun} that started before (exclusive)"
        ),
    ) -> StartedRange:
        return started_from, started_to

    return started_range


def started_criteria(started_from: datetime | None, started_to: datetime | None) -> dict[str, Any]:
    """Criteria selecting `started_at` in [started_from, started_to) (either end optional; {}
    for neither); a 422 naming both parameters when the range is empty or reversed."""
    if started_from is not None and started_to is not None and started_from >= started_to:
        raise Unprocessable(
            "`from` must be before `to` (the range is [from, to))",
            locs=[("query", "from"), ("query", "to")],
        )
    bounds: dict[str, datetime] = {}
    if started_from is not None:
        # times are stored to the millisecond, so this is `$gte: from`; written as `$gt` because
        # the test server drops the boundary of `$gte` on a descending index key
        # (tests/wire_server_bugs.py, gte-on-descending-compound-key)
        bounds["$gt"] = as_stored(started_from) - timedelta(milliseconds=1)
    if started_to is not None:
        bounds["$lt"] = started_to
    return {"started_at": bounds} if bounds else {}


@dataclass(frozen=True)
class Fetched(Generic[D]):
    """One page of documents, with what the envelope needs besides the items."""

    rows: list[D]
    total: int
    params: PageParams
    next: str | None

    def page(self, items: Sequence[T]) -> Page[T]:
        """The envelope around `items` (the rows turned into their read schema)."""
        return Page[T](
            items=list(items),
            total=self.total,
            limit=self.params.limit,
            offset=self.params.offset,
            next=self.next,
        )


def _encode_value(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return {"o": str(value)}
    if isinstance(value, datetime):
        return {"d": value.isoformat()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot page on a {type(value).__name__} sort key")


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "o" and isinstance(raw, str) and ObjectId.is_valid(raw) and len(raw) == 24:
            return ObjectId(raw)
        if tag == "i" and isinstance(raw, str):  # a string _id (encode_cursor)
            return raw
        if tag == "d" and isinstance(raw, str):
            return datetime.fromisoformat(raw)  # ValueError on garbage: caught by the caller
        raise ValueError("unknown tagged value")
    if isinstance(value, bool | int | float | str):
        return value
    raise ValueError("unsupported value")


def _is_string_id(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("i"), str)


def encode_cursor(keys: Sequence[str], values: Sequence[Any]) -> str:
    encoded = [_encode_value(v) for v in values]
    if values and isinstance(values[-1], str):  # a natural string _id (likes): tagged
        encoded[-1] = {"i": values[-1]}
    payload = {"k": list(keys), "v": encoded}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, keys: Sequence[str]) -> list[Any]:
    """The values a cursor of a list sorted by `keys` carries; 422 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("k") != list(keys):
            raise ValueError("cursor of another list")
        values = payload.get("v")
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong number of values")
        decoded = [_decode_value(v) for v in values]
        # an ObjectId, or a natural string key tagged as one (likes: `_id` built from ids)
        if not isinstance(decoded[-1], ObjectId) and not _is_string_id(values[-1]):
            raise ValueError("last value is not an id")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise Unprocessable(
            "`after` is not a cursor of this list: pass the `next` of one of its pages",
            loc=("query", "after"),
        ) from exc
    return decoded


def keyset(order: Sequence[tuple[str, int]], values: Sequence[Any]) -> dict[str, Any]:
    """Rows strictly after `values` in `order`: an $or of ranges on the sort keys (index-served).

    For keys (a, b, _id): a beyond v_a, or a == v_a and b beyond v_b, or both equal and _id beyond.
    """
    clauses = []
    for i, (name, direction) in enumerate(order):
        clause: dict[str, Any] = {n: v for (n, _), v in zip(order[:i], values[:i], strict=True)}
        clause[name] = {"$gt" if direction > 0 else "$lt": values[i]}
        clauses.append(clause)
    return {"$or": clauses}


def _sort_value(row: Document, name: str) -> Any:
    return row.id if name == "_id" else getattr(row, name)


async def count(
    document: type[Document], criteria: Mapping[str, Any], *, max_time_ms: int | None = None
) -> int:
    """How many documents match: the collection's metadata count when nothing filters (the
    estimated count, exact after a clean shutdown), else a count over the filter's index."""
    collection = document.get_motor_collection()
    if not criteria:
        return int(await collection.estimated_document_count())
    if max_time_ms is None:
        return int(await collection.count_documents(dict(criteria)))
    return int(await collection.count_documents(dict(criteria), maxTimeMS=max_time_ms))


@overload
async def fetch_page(
    source: QueryShape | Shapes,
    criteria: Mapping[str, Any],
    page: PageParams,
    /,
    *,
    max_time_ms: int | None = None,
) -> Fetched[Any]: ...


@overload
async def fetch_page(
    source: type[D],
    criteria: Mapping[str, Any],
    sort: list[tuple[str, int]],
    page: PageParams,
    /,
    *,
    max_time_ms: int | None = None,
) -> Fetched[D]: ...


async def fetch_page(
    source: Any,
    criteria: Mapping[str, Any],
    *args: Any,
    max_time_ms: int | None = None,
) -> Fetched[Any]:
    """One page of the list `source` (a registered query shape, see `service.queries`)
    matching `criteria`, how many match in all, and the next cursor.

    `fetch_page(shape, criteria, page)` takes the sort from the shape (a `Shapes` picks its
    shape by the criteria) and checks the criteria are of that shape; the older
    `fetch_page(Document, criteria, sort, page)` still works for code not yet declared there.
    """
    if isinstance(source, QueryShape | Shapes):
        (page,) = args
        shape = source.pick(criteria) if isinstance(source, Shapes) else source
        shape.check(criteria)
        return await _fetch_page(
            shape.document, criteria, shape.order, page, max_time_ms=max_time_ms
        )
    sort, page = args
    return await _fetch_page(source, criteria, sort, page, max_time_ms=max_time_ms)


async def _fetch_page(
    document: type[D],
    criteria: Mapping[str, Any],
    sort: list[tuple[str, int]],
    page: PageParams,
    *,
    max_time_ms: int | None = None,
) -> Fetched[D]:
    """One page of `document` matching `criteria`, how many match in all, and the next cursor.

    Ties are broken by `_id` (in the direction of the last sort key) so pages never overlap;
    every call site's sort, `_id` included, is the key prefix of an index of `document`.
    `max_time_ms` bounds a query that cannot be index-served (a substring search): past it the
    server stops it and the caller gets a 503 problem (the embedded store ignores the limit).
    """
    order = [(name, int(direction)) for name, direction in sort]
    if order[-1][0] != "_id":
        order.append(("_id", order[-1][1]))
    keys = [name for name, _ in order]
    query: dict[str, Any] = dict(criteria)
    if page.after is not None:
        after = keyset(order, decode_cursor(page.after, keys))
        query = {"$and": [query, after]} if query else after
    sorting = [(name, SortDirection(direction)) for name, direction in order]
    limits: dict[str, Any] = {} if max_time_ms is None else {"max_time_ms": max_time_ms}
    try:
        total = await count(document, criteria, max_time_ms=max_time_ms)
        rows = (
            await document.find(query, **limits)
            .sort(sorting)
            .skip(page.offset)
            .limit(page.limit + 1)  # one more tells whether there is a next page
            .to_list()
        )
    except ExecutionTimeout as exc:
        raise ServiceUnavailable(
            "This search takes too long; narrow it (a name prefix is served by an index)",
            retry_after=5,
        ) from exc
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        next_cursor = encode_cursor(keys, [_sort_value(last, name) for name in keys])
    return Fetched(rows=rows, total=total, params=page, next=next_cursor)
