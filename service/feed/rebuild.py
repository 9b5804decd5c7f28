"""Rebuild (or only verify) the feed rows from their sources.

Expected rows: one per run, workout and post, one per badge earned (`user_badges`) and one per
challenge participation completed (`challenge_participants.completed_at`), built by the same
functions the listeners use. A row that is missing is inserted, one that differs (visibility,
time, summary) is replaced, one whose source is gone (an orphan) is deleted. The demo, which
writes its activities in bulk without the hooks, derives its feed with it; so can
`scripts/rebuild_feed.py` after a bulk import or a crash between a change and its listener.

Sources are read in chunks of BATCH from one cursor each and compared with the stored rows, read
once up front (in batches too; its memory is about the feed rows' size); the stored rows no
source claimed are the orphans.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from pymongo import DeleteOne, InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from documents import Badge, Challenge, ChallengeParticipant, Post, Run, User, UserBadge, Workout
from documents.clock import utcnow
from documents.feed import FeedItem
from service.feed.service import (
    badge_row,
    badge_visibility,
    challenge_row,
    post_row,
    run_row,
    workout_row,
)

BATCH = 1000
COMPARED = ("actor_id", "type", "object_id", "at", "visibility", "summary")


@dataclass
class FeedDrift:
    missing: int = 0
    stale: int = 0
    orphans: int = 0
    rows: int = 0  # expected rows in all

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.orphans)


async def _batches(
    collection: Any, criteria: dict[str, Any], projection: dict[str, int] | None = None
) -> AsyncIterator[list[dict]]:
    """The matching documents in chunks of BATCH, from one cursor (`batch_size` round trips)."""
    chunk: list[dict[str, Any]] = []
    async for row in collection.find(criteria, projection, batch_size=BATCH):
        chunk.append(row)
        if len(chunk) >= BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# the fields each source's rows are built from, with the defaults of documents stored before
# a field existed (read with this projection: a workout's sets are never copied)
SOURCE_FIELDS: dict[str, dict[str, Any]] = {
    "run": {
        "user_id": None,
        "started_at": None,
        "visibility": "public",
        "distance_km": None,
        "duration_s": None,
        "pace_s_per_km": None,
        "elevation_gain_m": None,
        "source": "manual",
    },
    "workout": {
        "user_id": None,
        "started_at": None,
        "visibility": "public",
        "name": None,
        "duration_s": None,
        "sets_count": None,
        "exercises_count": None,
        "volume_kg": None,
    },
    "post": {
        "user_id": None,
        "created_at": None,
        "visibility": "public",
        "text": "",
        "run_id": None,
        "workout_id": None,
    },
}


def _from(kind: str, builder: Callable[[Any], dict[str, Any]]) -> Callable[[dict], dict]:
    defaults = SOURCE_FIELDS[kind]

    def build(raw: dict[str, Any]) -> dict[str, Any]:
        fields = {**defaults, **{k: v for k, v in raw.items() if k != "_id"}}
        return builder(SimpleNamespace(id=raw["_id"], **fields))

    return build


class _Visibilities:
    """Users' badge/challenge visibility, read per batch of user ids (cached)."""

    def __init__(self) -> None:
        self.known: dict[Any, Any] = {}

    async def load(self, ids: set[Any]) -> None:
        wanted = [i for i in ids if i not in self.known]
        if wanted:
            async for u in User.get_motor_collection().find(
                {"_id": {"$in": wanted}}, {"default_visibility": 1}
            ):
                self.known[u["_id"]] = badge_visibility(u.get("default_visibility", "public"))

    def __getitem__(self, user_id: Any) -> Any:
        return self.known.get(user_id, "friends")


async def _apply(
    expected: list[dict[str, Any]],
    stored: dict[Any, dict[str, Any]],
    drift: FeedDrift,
    repair: bool,
) -> None:
    drift.rows += len(expected)
    writes = []
    for row in expected:
        have = stored.pop(row["_id"], None)
        if have is not None and all(have.get(k) == row[k] for k in COMPARED):
            continue
        if have is None:
            drift.missing += 1
        else:
            drift.stale += 1
        fields = {**row, "updated_at": utcnow()}
        writes.append(
            InsertOne(fields)
            if have is None
            else ReplaceOne({"_id": row["_id"]}, fields, upsert=True)
        )
    if repair and writes:
        try:
            await FeedItem.get_motor_collection().bulk_write(writes, ordered=False)
        except BulkWriteError as exc:
            # a listener inserted the row meanwhile: it is the same row (or newer)
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise


async def rebuild(*, repair: bool = True) -> FeedDrift:
    """Compare (and with `repair`, fix) the feed rows against their sources."""
    drift = FeedDrift()
    # the stored rows, read once (what is left after the sources' pass: the orphans)
    stored: dict[Any, dict[str, Any]] = {}
    async for batch in _batches(FeedItem.get_motor_collection(), {}, {"updated_at": 0}):
        stored.update((row["_id"], row) for row in batch)

    async def apply(rows: list[dict[str, Any]]) -> None:
        await _apply(rows, stored, drift, repair)

    sources: tuple[tuple[str, Any, Any], ...] = (
        ("run", Run, run_row),
        ("workout", Workout, workout_row),
        ("post", Post, post_row),
    )
    for kind, document, builder in sources:
        build = _from(kind, builder)
        projection = dict.fromkeys(SOURCE_FIELDS[kind], 1)
        async for batch in _batches(document.get_motor_collection(), {}, projection):
            await apply([build(raw) for raw in batch])

    visibilities = _Visibilities()
    badges = {
        b["_id"]: {"id": b["_id"], **b}
        async for b in Badge.get_motor_collection().find(
            {}, {"key": 1, "title": 1, "description": 1, "xp_reward": 1}
        )
    }
    async for batch in _batches(UserBadge.get_motor_collection(), {}):
        await visibilities.load({r["user_id"] for r in batch})
        await apply(
            [
                badge_row(
                    r["user_id"], badges[r["badge_id"]], r["earned_at"], visibilities[r["user_id"]]
                )
                for r in batch
                if r["badge_id"] in badges
            ]
        )

    done = {"completed_at": {"$ne": None}}
    async for batch in _batches(ChallengeParticipant.get_motor_collection(), done):
        await visibilities.load({r["user_id"] for r in batch})
        challenges = {
            c["_id"]: {"id": c["_id"], **c}
            async for c in Challenge.get_motor_collection().find(
                {"_id": {"$in": list({r["challenge_id"] for r in batch})}},
                {"title": 1, "metric": 1, "goal": 1, "mode": 1, "ends_at": 1},
            )
        }
        await apply(
            [
                challenge_row(
                    r["user_id"],
                    challenges[r["challenge_id"]],
                    r["completed_at"],
                    visibilities[r["user_id"]],
                )
                for r in batch
                if r["challenge_id"] in challenges
            ]
        )

    orphans = list(stored)
    drift.orphans = len(orphans)
    if repair and orphans:
        await FeedItem.get_motor_collection().bulk_write(
            [DeleteOne({"_id": i}) for i in orphans], ordered=False
        )
    return drift
