"""Workouts: recording, reading, editing and deleting; each change announced once stored.

Every state change is one atomic write (insert, compare-and-set on `revision`, or
find-and-delete) and then exactly one hook, so two concurrent edits can never both announce a
change from the same `before`. Workouts earn no leaderboard score.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId

from documents import Exercise, User, Workout
from documents.clock import as_stored, utcnow
from documents.workout import WorkoutSet
from service import events
from service.errors import Conflict, Forbidden, NotFound, Unprocessable
from service.exercises import service as exercises
from service.leaderboards.buckets import day_of
from service.likes import service as likes
from service.pagination import Page, PageParams, fetch_page, started_criteria
from service.queries import DESC, QueryShape, Shapes
from service.social import access
from service.workouts.schemas import (
    WorkoutCreate,
    WorkoutRead,
    WorkoutSetIn,
    WorkoutSetRead,
    WorkoutUpdate,
)

log = logging.getLogger("service.workouts")

# like runs: a start a few minutes ahead of the server's clock is a clock skew, not the future
FUTURE_SKEW = timedelta(minutes=5)
MEASURES = ("reps", "weight_kg", "duration_s", "distance_m")
USER_DELETION_BATCH = 500
_EDIT_ATTEMPTS = 5


# the lists' query shapes (service.queries): newest start first, `from`/`to` a range
WORKOUTS_OF_USER = QueryShape(
    "workouts_of_user",
    Workout,
    equality=("user_id",),
    sort=(("started_at", DESC),),
    range=("started_at",),
    index="user_started",
)
WORKOUTS_ALL = QueryShape(
    "workouts_all", Workout, sort=(("started_at", DESC),), range=("started_at",), index="started"
)
# another user's workouts as a viewer may see them (access.list_criteria): visible levels only
WORKOUTS_OF_USER_VISIBLE = QueryShape(
    "workouts_of_user_visible",
    Workout,
    equality=("user_id", "visibility"),
    sort=(("started_at", DESC),),
    range=("started_at",),
    index="user_visibility_started",
)
WORKOUTS = Shapes("workouts", (WORKOUTS_OF_USER, WORKOUTS_OF_USER_VISIBLE, WORKOUTS_ALL))
# everyone's workouts as a non-admin may see them: public, own, friends' `friends` ones
WORKOUTS_VISIBLE = QueryShape(
    "workouts_visible",
    Workout,
    sort=(("started_at", DESC),),
    range=("started_at",),
    residual=("visibility", "user_id"),
    exempt=True,
    why="an $or whose every branch has its own index ending (started_at, _id): public rows "
    "visibility_started, the viewer's own user_started, friends' `friends` rows "
    "user_visibility_started; MongoDB merges the sorted branches (SORT_MERGE)",
)


@dataclass(frozen=True)
class WorkoutFilters:
    user_id: PydanticObjectId | None = None
    started_from: datetime | None = None  # inclusive
    started_to: datetime | None = None  # exclusive


# --- reading ----------------------------------------------------------------------------------


def _set_read(s: WorkoutSet, names: dict[PydanticObjectId, str]) -> WorkoutSetRead:
    return WorkoutSetRead(
        exercise_id=str(s.exercise_id),
        exercise_name=names.get(s.exercise_id),
        reps=s.reps,
        weight_kg=s.weight_kg,
        duration_s=s.duration_s,
        distance_m=s.distance_m,
        rpe=s.rpe,
    )


def _to_read(workout: Workout, names: dict[PydanticObjectId, str]) -> WorkoutRead:
    return WorkoutRead(
        id=str(workout.id),
        user_id=str(workout.user_id),
        started_at=workout.started_at,
        duration_s=workout.duration_s,
        name=workout.name,
        notes=workout.notes,
        sets=[_set_read(s, names) for s in workout.sets],
        sets_count=workout.sets_count,
        exercises_count=workout.exercises_count,
        volume_kg=workout.volume_kg,
        likes=workout.likes_count,
        comments=workout.comments_count,
        visibility=workout.visibility,
        revision=workout.revision,
        created_at=workout.created_at,
        updated_at=workout.updated_at,
    )


async def to_reads(workouts: list[Workout], viewer: User | None = None) -> list[WorkoutRead]:
    """Read schemas with each set's exercise name (one lookup for all of them) and whether
    `viewer` liked each (one `_id $in` read of the page's like ids)."""
    names = await exercises.names(s.exercise_id for w in workouts for s in w.sets)
    liked = await likes.liked_by(viewer, "workout", [w.id for w in workouts])
    return [_to_read(w, names).model_copy(update={"liked_by_me": w.id in liked}) for w in workouts]


async def read(workout: Workout, viewer: User | None = None) -> WorkoutRead:
    return (await to_reads([workout], viewer))[0]


async def get(workout_id: PydanticObjectId) -> Workout:
    workout = await Workout.get(workout_id)
    if workout is None:
        raise NotFound(f"Workout {workout_id} not found")
    return workout


async def get_visible(workout_id: PydanticObjectId, viewer: User | None) -> Workout:
    """The workout, if `viewer` may see it; else the same 404 as for one that does not exist."""
    workout = await get(workout_id)
    await access.require_visible(
        viewer, workout.user_id, workout.visibility, f"Workout {workout_id}"
    )
    return workout


async def search(*, filters: WorkoutFilters, page: PageParams, viewer: User) -> Page[WorkoutRead]:
    """Workouts matching every given filter that `viewer` may see, newest start first."""
    criteria = started_criteria(filters.started_from, filters.started_to)
    if filters.user_id is not None:
        criteria["user_id"] = filters.user_id
    # one owner: the levels the viewer may see; everyone's: public, own, friends' `friends`
    criteria |= await access.list_criteria(viewer, filters.user_id)
    # user_started, user_visibility_started or started, all ending in _id
    if "$or" in criteria:
        found = await fetch_page(WORKOUTS_VISIBLE, criteria, page)
    else:
        found = await fetch_page(WORKOUTS, criteria, page)
    return found.page(await to_reads(found.rows, viewer))


# --- validation and derived numbers -----------------------------------------------------------


def _check_started(started_at: datetime, now: datetime) -> None:
    if started_at > now + FUTURE_SKEW:
        raise Unprocessable(
            f"started_at {started_at.isoformat()} is in the future "
            f"(server time {as_stored(now).isoformat()}; 5 minutes of clock skew allowed)",
            loc=("body", "started_at"),
        )


async def _checked_sets(sets: list[WorkoutSetIn], user: User) -> list[WorkoutSet]:
    """The sets as stored, once each names an exercise the user may log and gives exactly its
    measures (422 naming `sets.<i>.<field>` otherwise)."""
    ids = [PydanticObjectId(s.exercise_id) for s in sets]
    known: dict[PydanticObjectId, Exercise] = await exercises.usable(ids, user)
    checked = []
    for i, (given, exercise_id) in enumerate(zip(sets, ids, strict=True)):
        exercise = known.get(exercise_id)
        if exercise is None:
            raise Unprocessable(
                f"sets.{i}.exercise_id: exercise {exercise_id} not found (it must be public "
                "or one of your own)",
                loc=("body", "sets", i, "exercise_id"),
            )
        for measure in MEASURES:
            value = getattr(given, measure)
            if measure in exercise.measures and value is None:
                raise Unprocessable(
                    f"sets.{i}.{measure} is required: {exercise.name!r} is measured in "
                    f"{', '.join(exercise.measures)}",
                    loc=("body", "sets", i, measure),
                )
            if measure not in exercise.measures and value is not None:
                raise Unprocessable(
                    f"sets.{i}.{measure} does not apply: {exercise.name!r} is measured in "
                    f"{', '.join(exercise.measures)} only",
                    loc=("body", "sets", i, measure),
                )
        checked.append(
            WorkoutSet(
                exercise_id=exercise_id,
                reps=given.reps,
                weight_kg=round(given.weight_kg, 3) if given.weight_kg is not None else None,
                duration_s=given.duration_s,
                distance_m=round(given.distance_m, 2) if given.distance_m is not None else None,
                rpe=given.rpe,
            )
        )
    return checked


def derived(sets: list[WorkoutSet]) -> dict[str, Any]:
    """The numbers a workout stores beside its sets."""
    volume = sum((s.reps or 0) * (s.weight_kg or 0.0) for s in sets)
    return {
        "sets_count": len(sets),
        "exercises_count": len({s.exercise_id for s in sets}),
        "volume_kg": round(volume, 3),
    }


# --- recording --------------------------------------------------------------------------------


async def record(*, user: User, data: WorkoutCreate) -> Workout:
    """Store a workout of `user` and announce it (workout_recorded)."""
    assert user.id is not None
    now = utcnow()
    _check_started(data.started_at, now)
    sets = await _checked_sets(data.sets, user)
    workout = Workout(
        user_id=user.id,
        started_at=data.started_at,
        day=day_of(data.started_at),
        duration_s=data.duration_s,
        name=data.name or None,
        notes=data.notes or None,
        sets=sets,
        visibility=data.visibility or user.default_visibility,
        revision=0,
        created_at=now,
        updated_at=now,
        **derived(sets),
    )
    await workout.insert()
    await _exercises_still_there(workout, sets)
    await events.workout_recorded.emit(workout=workout)
    return workout


async def _exercises_still_there(workout: Workout, sets: list[WorkoutSet]) -> None:
    """An exercise deleted between the check of the sets and the write: take the write back.

    Deleting an exercise checks for workouts again after its delete, so one of the two sees
    the other and no stored workout names an exercise that is gone.
    """
    gone = await exercises.missing(s.exercise_id for s in sets)
    if not gone:
        return
    await Workout.get_motor_collection().delete_one({"_id": workout.id})
    index = next(i for i, s in enumerate(sets) if s.exercise_id in gone)
    raise Unprocessable(
        f"sets.{index}.exercise_id: exercise {sets[index].exercise_id} was deleted meanwhile",
        loc=("body", "sets", index, "exercise_id"),
    )


# --- editing ----------------------------------------------------------------------------------


async def update(*, workout: Workout, changes: WorkoutUpdate, actor: User) -> Workout:
    """Edit one's own workout: re-validated, totals recomputed, announced (workout_changed)."""
    if workout.user_id != actor.id:
        raise Forbidden("Only its owner can edit a workout")
    data = changes.model_dump(exclude_unset=True)
    values: dict[str, Any] = {}
    if "started_at" in data:
        _check_started(changes.started_at, utcnow())  # type: ignore[arg-type]
        values["started_at"] = changes.started_at
        values["day"] = day_of(changes.started_at)  # type: ignore[arg-type]
    if "duration_s" in data:
        values["duration_s"] = changes.duration_s
    if "visibility" in data:
        values["visibility"] = changes.visibility
    for text in ("name", "notes"):
        if text in data:
            values[text] = data[text] or None
    if changes.sets is not None:
        sets = await _checked_sets(changes.sets, actor)
        values["sets"] = sets
        values.update(derived(sets))

    collection = Workout.get_motor_collection()
    for _ in range(_EDIT_ATTEMPTS):
        diff = {k: v for k, v in values.items() if getattr(workout, k) != v}
        if not diff:
            return workout
        stored = {k: [s.model_dump() for s in v] if k == "sets" else v for k, v in diff.items()}
        stored["updated_at"] = utcnow()
        stored["revision"] = workout.revision + 1
        result = await collection.update_one(
            {"_id": workout.id, "revision": workout.revision}, {"$set": stored}
        )
        if result.matched_count:
            if "sets" in diff:
                await _sets_still_valid(workout, diff, revision=workout.revision + 1)
            after = workout.model_copy(
                update={**diff, "updated_at": stored["updated_at"], "revision": stored["revision"]}
            )
            await events.workout_changed.emit(before=workout, after=after)
            return after
        # changed or deleted since read: apply the same changes to what is stored now
        workout = await get(workout.id)  # type: ignore[arg-type]
    raise Conflict("The workout is being edited concurrently; retry")


async def _sets_still_valid(before: Workout, diff: dict[str, Any], *, revision: int) -> None:
    """An exercise of the new sets deleted between their check and the edit: put the stored
    workout back as it was (a later revision, so no stale edit can match) and answer 422."""
    sets: list[WorkoutSet] = diff["sets"]
    gone = await exercises.missing(s.exercise_id for s in sets)
    if not gone:
        return
    restored = {k: getattr(before, k) for k in diff}
    restored["sets"] = [s.model_dump() for s in before.sets]
    await Workout.get_motor_collection().update_one(
        {"_id": before.id, "revision": revision},
        {"$set": {**restored, "revision": revision + 1, "updated_at": utcnow()}},
    )
    index = next(i for i, s in enumerate(sets) if s.exercise_id in gone)
    raise Unprocessable(
        f"sets.{index}.exercise_id: exercise {sets[index].exercise_id} was deleted meanwhile",
        loc=("body", "sets", index, "exercise_id"),
    )


# --- deleting ---------------------------------------------------------------------------------


async def delete(*, workout: Workout, actor: User) -> None:
    """Delete a workout (its owner or an admin) and announce it (workout_deleted)."""
    if workout.user_id != actor.id and actor.role != "admin":
        raise Forbidden("Only its owner or an admin can delete a workout")
    raw = await Workout.get_motor_collection().find_one_and_delete({"_id": workout.id})
    if raw is None:  # deleted concurrently: that deletion announced it
        raise NotFound(f"Workout {workout.id} not found")
    await events.workout_deleted.emit(workout=Workout.model_validate(raw))


async def delete_all_of(*, user: User) -> int:
    """Delete every workout of a user, batch by batch (newest first, user_started index):
    each batch announced once with `workouts_deleted` and each workout with `workout_deleted`."""
    collection = Workout.get_motor_collection()
    deleted = 0
    while True:
        batch = [
            Workout.model_validate(raw)
            async for raw in collection.find(WORKOUTS_OF_USER.check({"user_id": user.id}))
            .sort(WORKOUTS_OF_USER.order)
            .limit(USER_DELETION_BATCH)
        ]
        if not batch:
            break
        result = await collection.delete_many({"_id": {"$in": [w.id for w in batch]}})
        deleted += result.deleted_count
        await events.workouts_deleted.emit(user=user, workouts=batch)
        for workout in batch:
            await events.workout_deleted.emit(workout=workout)
    if deleted:
        log.info("Deleted %d workouts of user %s", deleted, user.id)
    return deleted


async def _on_user_deleted(*, user: User) -> None:
    await delete_all_of(user=user)


events.user_deleted.connect(_on_user_deleted)
