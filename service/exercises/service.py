"""The exercise catalogue: seeding, listing, and the create/edit/delete rules.

Public exercises (owner_id None) are the catalogue admins manage; anyone may add private ones,
visible to themselves only. Names are unique per owner, casefolded (`validation.name_key`).
Every list reads one or two ranges of the `owner_name_id` index (the public catalogue, and the
caller's own exercises), both capped, so a search scans at most MAX_PUBLIC + MAX_PRIVATE rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from beanie import PydanticObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from documents import Exercise, User, Workout
from documents.clock import utcnow
from service import events
from service.errors import Conflict, Forbidden, NotFound
from service.exercises.catalogue import STANDARD_EXERCISES
from service.exercises.schemas import ExerciseCreate, ExerciseRead, ExerciseUpdate
from service.pagination import Page, PageParams, fetch_page
from service.queries import ASC, QueryShape
from service.validation import name_key

# caps that keep every catalogue read bounded (a search scans at most both)
MAX_PUBLIC_EXERCISES = 1_000
MAX_PRIVATE_EXERCISES = 200
DUPLICATE_KEY = 11000


# the catalogue list (service.queries): the public range and the caller's own range of
# owner_name_id, merged in name order; the other filters test the rows of those capped ranges
EXERCISES = QueryShape(
    "exercises",
    Exercise,
    equality=("owner_id",),
    sort=(("name_key", ASC),),
    index="owner_name_id",
    residual=("name_key", "category", "primary_muscles", "equipment"),
    why="search (a substring of name_key), category, muscle and equipment are tested on the "
    "rows of the public catalogue and of the caller's own exercises, both capped",
)


def to_read(exercise: Exercise) -> ExerciseRead:
    return ExerciseRead(
        id=str(exercise.id),
        name=exercise.name,
        category=exercise.category,
        primary_muscles=list(exercise.primary_muscles),
        equipment=exercise.equipment,
        measures=list(exercise.measures),
        private=exercise.owner_id is not None,
        owner_id=str(exercise.owner_id) if exercise.owner_id else None,
        created_at=exercise.created_at,
    )


def _is_admin(user: User | None) -> bool:
    return user is not None and user.role == "admin"


# --- seeding ----------------------------------------------------------------------------------


async def seed_catalogue() -> int:
    """Upsert the standard exercises into the public catalogue; returns how many were added.

    Keyed by (owner_id None, name_key), inserted only when missing ($setOnInsert), in one bulk
    write: a restart adds nothing and never overwrites an admin's edit of a standard exercise.
    Two processes starting together may race on one key: the unique index keeps one.
    A restart on a seeded catalogue costs one read (index `owner_name_unique`) and writes nothing.
    """
    now = utcnow()
    collection = Exercise.get_motor_collection()
    keys = [name_key(standard.name) for standard in STANDARD_EXERCISES]
    present = {
        doc["name_key"]
        async for doc in collection.find(
            {"owner_id": None, "name_key": {"$in": keys}}, {"_id": 0, "name_key": 1}
        )
    }
    ops = [
        UpdateOne(
            {"owner_id": None, "name_key": name_key(standard.name)},
            {
                "$setOnInsert": {
                    "owner_id": None,
                    "name": standard.name,
                    "name_key": name_key(standard.name),
                    "category": standard.category,
                    "primary_muscles": list(standard.primary_muscles),
                    "equipment": standard.equipment,
                    "measures": list(standard.measures),
                    "created_at": now,
                }
            },
            upsert=True,
        )
        for standard in STANDARD_EXERCISES
        if name_key(standard.name) not in present
    ]
    if not ops:
        return 0
    try:
        result = await collection.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:
        details = exc.details or {}
        if any(e.get("code") != DUPLICATE_KEY for e in details.get("writeErrors", [])):
            raise
        return int(details.get("nUpserted", 0))
    return int(result.upserted_count)


# --- reading ----------------------------------------------------------------------------------


async def get(exercise_id: PydanticObjectId) -> Exercise:
    exercise = await Exercise.get(exercise_id)
    if exercise is None:
        raise NotFound(f"Exercise {exercise_id} not found")
    return exercise


async def visible(exercise_id: PydanticObjectId, viewer: User | None) -> Exercise:
    """The exercise if public or the viewer's own; a private one of someone else is a 404."""
    exercise = await get(exercise_id)
    if exercise.owner_id is not None and (viewer is None or exercise.owner_id != viewer.id):
        raise NotFound(f"Exercise {exercise_id} not found")
    return exercise


def _owners(viewer: User | None) -> list[PydanticObjectId | None]:
    return [None] if viewer is None else [None, viewer.id]


async def usable(ids: Iterable[PydanticObjectId], user: User) -> dict[PydanticObjectId, Exercise]:
    """The exercises among `ids` that `user` may log: public ones and their own."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    found = await Exercise.find(
        {"_id": {"$in": wanted}, "owner_id": {"$in": _owners(user)}}
    ).to_list()
    return {e.id: e for e in found if e.id is not None}


async def missing(ids: Iterable[PydanticObjectId]) -> list[PydanticObjectId]:
    """Those of `ids` that name no exercise (any more)."""
    wanted = list(dict.fromkeys(ids))
    collection = Exercise.get_motor_collection()
    found = {doc["_id"] async for doc in collection.find({"_id": {"$in": wanted}}, {"_id": 1})}
    return [i for i in wanted if i not in found]


async def names(ids: Iterable[PydanticObjectId]) -> dict[PydanticObjectId, str]:
    """Exercise names by id (for the sets of workouts being read)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    collection = Exercise.get_motor_collection()
    return {
        doc["_id"]: doc["name"]
        async for doc in collection.find({"_id": {"$in": wanted}}, {"name": 1})
    }


async def search(
    *,
    viewer: User | None,
    page: PageParams,
    search: str | None = None,
    category: str | None = None,
    muscle: str | None = None,
    equipment: str | None = None,
) -> Page[ExerciseRead]:
    """The public catalogue and the viewer's own exercises, by name (casefolded), then id.

    The owner_id $in reads the two index ranges merged in name order (owner_name_id); the
    other filters and the name substring test the rows of those ranges only, which are capped.
    """
    criteria: dict[str, Any] = {"owner_id": {"$in": _owners(viewer)}}
    if search and search.strip():
        criteria["name_key"] = {"$regex": re.escape(name_key(search))}
    if category is not None:
        criteria["category"] = category
    if muscle is not None:
        criteria["primary_muscles"] = muscle
    if equipment is not None:
        criteria["equipment"] = equipment
    found = await fetch_page(EXERCISES, criteria, page)
    return found.page([to_read(e) for e in found.rows])


# --- writing ----------------------------------------------------------------------------------


def _name_taken(name: str, private: bool) -> Conflict:
    where = "your exercises" if private else "the public catalogue"
    return Conflict(f"An exercise named {name!r} already exists in {where}")


async def create(*, data: ExerciseCreate, actor: User) -> Exercise:
    """A public exercise (admins) or a private one of the actor's."""
    private = data.private if data.private is not None else not _is_admin(actor)
    if not private and not _is_admin(actor):
        raise Forbidden(
            "Only admins add to the public catalogue; send private: true for your own exercise"
        )
    owner = actor.id if private else None
    cap = MAX_PRIVATE_EXERCISES if private else MAX_PUBLIC_EXERCISES
    if await Exercise.find({"owner_id": owner}).limit(cap).count() >= cap:
        raise Conflict(f"At most {cap:,} exercises per owner: delete one first")
    exercise = Exercise(
        owner_id=owner,
        name=data.name,
        name_key=name_key(data.name),
        category=data.category,
        primary_muscles=list(data.primary_muscles),
        equipment=data.equipment,
        measures=list(data.measures),
    )
    try:
        await exercise.insert()
    except DuplicateKeyError as exc:
        raise _name_taken(data.name, private) from exc
    return exercise


def _require_manager(exercise: Exercise, actor: User, action: str) -> None:
    if exercise.owner_id is None:
        if not _is_admin(actor):
            raise Forbidden(f"Only admins {action} public exercises")
    elif exercise.owner_id != actor.id:
        # someone else's private exercise: not even its existence is shown
        raise NotFound(f"Exercise {exercise.id} not found")


async def in_use(exercise_id: PydanticObjectId) -> bool:
    """Whether any workout has a set of this exercise (the set_exercise index)."""
    # served by the set_exercise index (a dotted key: not a registered shape, whose explain
    # samples read top-level fields)
    return await Workout.find_one({"sets.exercise_id": exercise_id}) is not None


async def update(*, exercise: Exercise, changes: ExerciseUpdate, actor: User) -> Exercise:
    """Rename or re-describe an exercise (its owner; admins for public ones)."""
    _require_manager(exercise, actor, "edit")
    data = changes.model_dump(exclude_unset=True)
    values = {k: v for k, v in data.items() if getattr(exercise, k) != v}
    if not values:
        return exercise
    if "measures" in values and await in_use(exercise.id):  # type: ignore[arg-type]
        raise Conflict(
            "The measures of an exercise cannot change while workouts use it "
            "(their sets were recorded with the old ones)"
        )
    if "name" in values:
        values["name_key"] = name_key(values["name"])
    try:
        # not Document.set(): Beanie turns the duplicate key into RevisionIdWasChanged
        await Exercise.get_motor_collection().update_one({"_id": exercise.id}, {"$set": values})
    except DuplicateKeyError as exc:
        raise _name_taken(values["name"], exercise.owner_id is not None) from exc
    return exercise.model_copy(update=values)


async def delete(*, exercise: Exercise, actor: User) -> None:
    """Delete an exercise no workout uses (409 otherwise)."""
    _require_manager(exercise, actor, "delete")
    assert exercise.id is not None
    in_use_detail = "This exercise is used by workouts and cannot be deleted; rename it instead"
    if await in_use(exercise.id):
        raise Conflict(in_use_detail)
    collection = Exercise.get_motor_collection()
    raw = await collection.find_one_and_delete({"_id": exercise.id})
    if raw is None:
        raise NotFound(f"Exercise {exercise.id} not found")
    # A workout recorded between the check and the delete: put the exercise back. (Recording
    # checks again after its insert, so one of the two always sees the other.)
    if await in_use(exercise.id):
        await collection.insert_one(raw)
        raise Conflict(in_use_detail)


async def _on_user_deleted(*, user: User) -> None:
    # their workouts go too (service.workouts), so none of these is still in use
    await Exercise.get_motor_collection().delete_many({"owner_id": user.id})


events.user_deleted.connect(_on_user_deleted)
