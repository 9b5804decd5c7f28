"""What personal records read: derived rows kept in step with runs and workouts by hooks.

All are derived data (service.records.service keeps them, scripts/rebuild_records.py recomputes
and verifies them); a record is read with an indexed find_one, or one row per exercise.
"""

from datetime import datetime
from typing import Any

from beanie import Document, PydanticObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel


class BestEffort(Document):
    """One run's fastest stretch of one standard distance (service.records.efforts).

    id: "<run_id>:<distance name>", so recomputing a run's efforts overwrites them in place and
    the fastest of ties is the earliest recorded run.
    """

    id: str  # type: ignore[assignment]
    user_id: PydanticObjectId
    run_id: PydanticObjectId
    distance: str  # "400m", "1k", "1mile", "5k", "10k", "half_marathon", "marathon"
    seconds: float
    started_at: datetime  # the run's start (the date the record shows)
    start_m: float  # where the stretch starts in the route, metres from its start

    class Settings:
        name = "best_efforts"
        use_revision = False
        indexes = [  # noqa: RUF012
            # a record: find_one(user, distance) sorted by (seconds, _id)
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("distance", ASCENDING),
                    ("seconds", ASCENDING),
                    ("_id", ASCENDING),
                ],
                name="user_distance_seconds",
            ),
            IndexModel([("run_id", ASCENDING)], name="run"),
        ]


class StrengthSummary(Document):
    """One exercise within one workout, summed up: what the strength records aggregate.

    id: "<workout_id>:<exercise_id>". Weights are kg; `best_1rm_kg` is Epley's estimate of the
    best set (w x (1 + reps / 30), w itself for a single rep); None where no set had a weight.
    """

    id: str  # type: ignore[assignment]
    user_id: PydanticObjectId
    workout_id: PydanticObjectId
    exercise_id: PydanticObjectId
    started_at: datetime  # the workout's start
    heaviest_kg: float | None = None
    heaviest_reps: int | None = None  # reps of that heaviest set (most of them on ties)
    most_reps: int | None = None
    most_reps_kg: float | None = None  # weight of that set (the heaviest on ties)
    best_1rm_kg: float | None = None
    best_1rm_weight_kg: float | None = None
    best_1rm_reps: int | None = None
    volume_kg: float = 0.0  # sum of reps x weight over the exercise's sets in this workout

    class Settings:
        name = "strength_summaries"
        use_revision = False
        # one per record: the best row of a (user, exercise) is the first of its index range
        # (ties: the earliest workout)
        indexes = [  # noqa: RUF012
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("exercise_id", ASCENDING),
                    ("heaviest_kg", DESCENDING),
                    ("heaviest_reps", DESCENDING),
                    ("started_at", ASCENDING),
                    ("_id", ASCENDING),
                ],
                name="user_exercise_heaviest",
            ),
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("exercise_id", ASCENDING),
                    ("most_reps", DESCENDING),
                    ("most_reps_kg", DESCENDING),
                    ("started_at", ASCENDING),
                    ("_id", ASCENDING),
                ],
                name="user_exercise_reps",
            ),
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("exercise_id", ASCENDING),
                    ("best_1rm_kg", DESCENDING),
                    ("started_at", ASCENDING),
                    ("_id", ASCENDING),
                ],
                name="user_exercise_1rm",
            ),
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("exercise_id", ASCENDING),
                    ("volume_kg", DESCENDING),
                    ("started_at", ASCENDING),
                    ("_id", ASCENDING),
                ],
                name="user_exercise_volume",
            ),
            IndexModel([("workout_id", ASCENDING)], name="workout"),
        ]


class StrengthRecord(Document):
    """A user's records on one exercise, each the best `strength_summaries` row by its metric.

    id: "<user_id>:<exercise_id>". Recomputed from the summaries (four index seeks) whenever a
    workout with that exercise is recorded, changed or deleted, so a read is one row per
    exercise. Each record is the metric's fields (as in StrengthSummary) plus `workout_id` and
    `started_at`; None when no row has the metric.
    """

    id: str  # type: ignore[assignment]
    user_id: PydanticObjectId
    exercise_id: PydanticObjectId
    heaviest: dict[str, Any] | None = None
    most_reps: dict[str, Any] | None = None
    best_1rm: dict[str, Any] | None = None
    volume: dict[str, Any] | None = None
    # bumped by every write: writes are compare-and-set on it (service.records.service)
    version: int = 0

    class Settings:
        name = "strength_records"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("user_id", ASCENDING), ("exercise_id", ASCENDING)], name="user_exercise"),
        ]
