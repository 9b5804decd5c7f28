"""What goes when something social hangs on is deleted (issue 10 §7).

- A run or workout: its comments and likes (a `runs_deleted`/`workouts_deleted` batch in one
  `delete_many` each; the batch's own per-run announcements then skip the trip).
- A user: their posts (with their comments and likes), their comments and likes on anything
  else (each subject's counts decremented), and whatever others wrote on their things.
"""

from __future__ import annotations

from collections.abc import Sequence

from beanie import PydanticObjectId

from documents import Run, Workout
from documents.post import Comment, Like, SubjectKind
from documents.user import User
from service import events
from service.comments import service as comments
from service.likes import service as likes
from service.posts import service as posts
from service.posts import subjects

# subject ids a batch already cleaned: their own per-item announcement skips the trip
_cleaned_in_batch: set[PydanticObjectId] = set()


async def _clean_one(kind: SubjectKind, subject_id: PydanticObjectId | None) -> None:
    if subject_id is None:
        return
    if subject_id in _cleaned_in_batch:
        _cleaned_in_batch.discard(subject_id)
        return
    await subjects.delete_rows_of(kind, [subject_id])


async def _on_run_deleted(*, run: Run) -> None:
    await _clean_one("run", run.id)


async def _on_runs_deleted(*, user: User, runs: Sequence[Run]) -> None:
    ids = [r.id for r in runs if r.id is not None]
    await subjects.delete_rows_of("run", ids)
    _cleaned_in_batch.update(ids)


async def _on_workout_deleted(*, workout: Workout) -> None:
    await _clean_one("workout", workout.id)


async def _on_workouts_deleted(*, user: User, workouts: Sequence[Workout]) -> None:
    ids = [w.id for w in workouts if w.id is not None]
    await subjects.delete_rows_of("workout", ids)
    _cleaned_in_batch.update(ids)


async def _on_user_deleted(*, user: User) -> None:
    await posts.delete_all_of(user=user)
    await comments.delete_all_of(user=user)
    await likes.delete_all_of(user=user)
    # others' comments and likes on the user's runs and workouts (their subjects go too)
    for document in (Comment, Like):
        await document.get_motor_collection().delete_many({"subject_owner_id": user.id})


def connect() -> None:
    events.run_deleted.connect(_on_run_deleted)
    events.runs_deleted.connect(_on_runs_deleted)
    events.workout_deleted.connect(_on_workout_deleted)
    events.workouts_deleted.connect(_on_workouts_deleted)
    events.user_deleted.connect(_on_user_deleted)


connect()
