"""Updating one stored document: the change lands on what is stored now, or fails as a 404/409.

Beanie's `Document.set()` has two failure modes that become 500s under concurrency: when the
document was deleted meanwhile it merges `None` into the instance (AttributeError), and when a
unique index refuses the change it raises RevisionIdWasChanged instead of DuplicateKeyError.
`update_or_404` is the one place that turns them into what the client should hear.
"""

from __future__ import annotations

from typing import Any, TypeVar

from beanie import Document, UpdateResponse
from pymongo.errors import DuplicateKeyError

from service.errors import Conflict, NotFound

D = TypeVar("D", bound=Document)


async def update_or_404(
    document: D,
    update: dict[str, Any],
    *,
    where: dict[str, Any] | None = None,
    what: str | None = None,
    conflict: str = "This change conflicts with another stored document",
    changed: str = "It was changed concurrently; read it again and retry",
) -> D:
    """Apply a MongoDB update (`{"$set": ...}`, `{"$inc": ...}`) and return the stored result.

    404 ("<what> <id> not found") if the document is gone; 409 (`conflict`) if a unique index
    refuses the change; with `where` (extra conditions on the stored document, e.g. the value
    a transfer starts from), 409 (`changed`) if the document no longer satisfies them.
    `document` itself is left as it was (callers keep it as "before").
    """
    model = type(document)
    try:
        stored = await model.find_one({"_id": document.id, **(where or {})}).update(
            update, response_type=UpdateResponse.NEW_DOCUMENT
        )
    except DuplicateKeyError as exc:
        raise Conflict(conflict) from exc
    if stored is None:
        if where and await model.get_motor_collection().find_one({"_id": document.id}, {"_id": 1}):
            raise Conflict(changed)
        raise NotFound(f"{what or model.__name__} {document.id} not found")
    assert isinstance(stored, model)
    return stored
