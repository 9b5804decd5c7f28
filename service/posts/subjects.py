"""What comments and likes attach to: a post, a run or a workout (a "subject").

One small read (`_id`, projection owner + visibility + counts) loads a subject; its counters
(`likes_count`, `comments_count`) move with `$inc` only after a comment/like row was really
inserted or deleted, so they stay exact under concurrent requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from beanie import Document, PydanticObjectId
from pydantic import BaseModel
from pymongo import UpdateOne

from documents import Run, Workout
from documents.post import Comment, Like, Post, SubjectKind
from documents.user import User
from service.errors import NotFound
from service.ids import object_id_or_404
from service.social import access

DOCUMENTS: dict[SubjectKind, type[Document]] = {"post": Post, "run": Run, "workout": Workout}
WHAT: dict[SubjectKind, str] = {"post": "Post", "run": "Run", "workout": "Workout"}
# the path segment of each kind: /posts/{id}/comments, /runs/{id}/likes, ...
PATHS: dict[SubjectKind, str] = {"post": "posts", "run": "runs", "workout": "workouts"}
Counter = Literal["likes_count", "comments_count"]


class UserRef(BaseModel):
    id: str
    name: str


async def user_refs(ids: list[PydanticObjectId]) -> dict[PydanticObjectId, UserRef]:
    """Authors of a page (at most a page of distinct ids): one `_id $in` read of their names."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = User.get_motor_collection().find({"_id": {"$in": wanted}}, {"name": 1})
    return {row["_id"]: UserRef(id=str(row["_id"]), name=row["name"]) async for row in rows}


def user_ref(refs: dict[PydanticObjectId, UserRef], user_id: PydanticObjectId) -> UserRef:
    # a user deleted meanwhile (their rows are being removed): still a well-formed reference
    return refs.get(user_id) or UserRef(id=str(user_id), name="(deleted user)")


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    id: PydanticObjectId
    owner_id: PydanticObjectId
    visibility: str

    @property
    def what(self) -> str:
        return WHAT[self.kind]


async def load(kind: SubjectKind, subject_id: str | PydanticObjectId) -> Subject:
    """The subject, or NotFound("<What> not found")."""
    what = WHAT[kind]
    oid = subject_id if isinstance(subject_id, PydanticObjectId) else None
    if oid is None:
        oid = object_id_or_404(str(subject_id), what)
    raw = (
        await DOCUMENTS[kind]
        .get_motor_collection()
        .find_one({"_id": oid}, {"user_id": 1, "visibility": 1})
    )
    if raw is None:
        raise NotFound(f"{what} not found")
    return Subject(kind, oid, raw["user_id"], raw.get("visibility", "public"))


async def visible(kind: SubjectKind, subject_id: str, viewer: User | None) -> Subject:
    """The subject if `viewer` may see it, else 404 (access.require_visible)."""
    subject = await load(kind, subject_id)
    await access.require_visible(viewer, subject.owner_id, subject.visibility, subject.what)
    return subject


async def interactable(kind: SubjectKind, subject_id: str, viewer: User) -> Subject:
    """The subject if `viewer` may comment on / like it: 404 unseen, 403 blocked either way."""
    subject = await load(kind, subject_id)
    await access.require_interaction(viewer, subject.owner_id, subject.visibility, subject.what)
    return subject


async def bump(kind: SubjectKind, subject_id: Any, counter: Counter, delta: int) -> bool:
    """Move one counter of a subject; False when the subject is gone (nothing to count on)."""
    result = (
        await DOCUMENTS[kind]
        .get_motor_collection()
        .update_one({"_id": subject_id}, {"$inc": {counter: delta}})
    )
    return bool(result.matched_count)


async def uncount(counter: Counter, rows: list[dict[str, Any]]) -> None:
    """Take deleted comment or like `rows` (a deleted user's: `subject_kind`, `subject_id`) off
    their subjects' `counter`: one bulk write per kind, one `$inc` per subject."""
    deltas: dict[tuple[SubjectKind, Any], int] = {}
    for row in rows:
        key = (row["subject_kind"], row["subject_id"])
        deltas[key] = deltas.get(key, 0) - 1
    for kind, document in DOCUMENTS.items():
        ops = [
            UpdateOne({"_id": subject_id}, {"$inc": {counter: delta}})
            for (k, subject_id), delta in deltas.items()
            if k == kind and delta
        ]
        if ops:
            await document.get_motor_collection().bulk_write(ops, ordered=False)


async def delete_rows_of(kind: SubjectKind, ids: list[Any]) -> None:
    """Remove every comment and like of these subjects (being deleted: their counters go with
    them)."""
    if not ids:
        return
    for document in (Comment, Like):
        await document.get_motor_collection().delete_many(
            {"subject_kind": kind, "subject_id": {"$in": ids}}
        )
