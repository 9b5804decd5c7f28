"""`GET /users/me/export`: everything a user made, as one zip streamed to them.

Memory stays flat however much the user has: every collection is read in keyset batches of
EXPORT_BATCH_SIZE documents (an index range each, never a skip), each JSON array is written as
its documents arrive, one GPX route at a time, and the archive goes out chunk by chunk
(`service.export.zipstream`). The files come from the registered contributors
(`service.export.registry`); the built-in ones are in `service.export.contributors`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from beanie import Document
from bson import ObjectId

from documents import User
from documents.clock import as_stored, utcnow
from service.export.registry import ExportContext, ExportFile, contributors
from service.export.zipstream import CHUNK_SIZE, stream_archive
from service.pagination import keyset
from service.settings import Settings


def _default(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return as_stored(value).isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any, *, indent: int | None = None) -> bytes:
    """JSON of plain documents: ObjectIds as strings, datetimes as ISO 8601 UTC ("...Z")."""
    return json.dumps(value, default=_default, ensure_ascii=False, indent=indent).encode()


def plain(document: dict[str, Any], *, drop: Sequence[str] = ()) -> dict[str, Any]:
    """A stored document as the export shows it: `id` first instead of `_id`, internals dropped."""
    out: dict[str, Any] = {"id": document["_id"]}
    out.update((k, v) for k, v in document.items() if k != "_id" and k not in drop)
    return out


def json_file(path: str, value: Any) -> ExportFile:
    """A small file built whole (an object of bounded size)."""
    data = to_json(value, indent=2) + b"\n"

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return ExportFile(path, chunks(), size=len(data))


def json_array_file(path: str, items: AsyncIterable[dict[str, Any]]) -> ExportFile:
    """A JSON array written item by item as `items` produces them (one item a line)."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        first = True
        async for item in items:
            yield (b"\n" if first else b",\n") + to_json(item)
            first = False
        yield b"]\n" if first else b"\n]\n"

    return ExportFile(path, chunks())


async def read_batches(
    context: ExportContext,
    document: type[Document],
    query: dict[str, Any],
    *,
    order: Sequence[tuple[str, int]],
    hint: str,
    projection: dict[str, Any] | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The documents matching `query` in `order`, as lists of at most `context.batch_size`.

    Keyset batches: each is one bounded read of the index `hint` names (its keys must be the
    sort keys, ending in _id), starting after the last document of the previous batch. A
    document inserted meanwhile may or may not appear; none appears twice.
    """
    collection = document.get_motor_collection()
    keys = [name for name, _ in order]
    after: dict[str, Any] | None = None
    while True:
        condition = query if after is None else {"$and": [query, after]}
        batch = (
            await collection.find(condition, projection)
            .sort(list(order))
            .hint(hint)
            .limit(context.batch_size)
            .to_list(context.batch_size)
        )
        context.reads.append(len(batch))
        if batch:
            yield batch
        if len(batch) < context.batch_size:
            return
        after = keyset(order, [batch[-1][k] for k in keys])


async def _files(context: ExportContext) -> AsyncIterator[ExportFile]:
    for contributor in contributors():
        async for file in contributor(context):
            yield file


def export_context(*, user: User, settings: Settings) -> ExportContext:
    return ExportContext(user=user, batch_size=settings.export_batch_size, started_at=utcnow())


def archive(context: ExportContext, *, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """The user's export, a zip produced chunk by chunk while the files are read."""
    return stream_archive(_files(context), modified_at=context.started_at, chunk_size=chunk_size)


def filename(context: ExportContext) -> str:
    return f"challenge-run-export-{context.started_at.date().isoformat()}.zip"
