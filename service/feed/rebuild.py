"""Rebuild (or only verify) the feed rows from their sources.

Expected rows: one per run, workout and post, one per badge earned (`user_badges`) and one per
challenge participation completed (`challenge_participants.completed_at`), built by the same
functions the listeners use. A row that is missing is inserted, one that differs (visibility,
time, summary) is replaced, one whose source is gone (an orphan) is deleted. The demo, which
writes its activities in bulk without the hooks, derives its feed with it; so can
`scripts/rebuild_feed.py` after a bulk import or a crash between a change and its listener.

Sources are read in `_id` keyset batches of BATCH, each batch's existing rows with one
`_id $in` read; the orphans are found by one pass over the feed rows' ids (projection `_id`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pymongo import DeleteOne, ReplaceOne

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
    last = None
    while True:
        query = dict(criteria)
        if last is not None:
            query["_id"] = {"$gt": last}
        rows = await collection.find(query, projection).sort("_id", 1).limit(BATCH).to_list(None)
        if not rows:
            return
        yield rows
        last = rows[-1]["_id"]


def _from(document: Any, builder: Callable[[Any], dict[str, Any]]) -> Callable[[dict], dict]:
    def build(raw: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in raw.items() if k != "_id"}
        return builder(document.model_construct(id=raw["_id"], **fields))

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


async def _apply(expected: list[dict[str, Any]], drift: FeedDrift, repair: bool) -> None:
    drift.rows += len(expected)
    collection = FeedItem.get_motor_collection()
    stored = {
        row["_id"]: row
        async for row in collection.find({"_id": {"$in": [r["_id"] for r in expected]}})
    }
    writes = []
    for row in expected:
        have = stored.get(row["_id"])
        if have is not None and all(have.get(k) == row[k] for k in COMPARED):
            continue
        if have is None:
            drift.missing += 1
        else:
            drift.stale += 1
        writes.append(ReplaceOne({"_id": row["_id"]}, {**row, "updated_at": utcnow()}, upsert=True))
    if repair and writes:
        await collection.bulk_write(writes, ordered=False)


async def rebuild(*, repair: bool = True) -> FeedDrift:
    """Compare (and with `repair`, fix) the feed rows against their sources."""
    drift = FeedDrift()
    expected_ids: set[Any] = set()

    async def apply(rows: list[dict[str, Any]]) -> None:
        expected_ids.update(r["_id"] for r in rows)
        await _apply(rows, drift, repair)

    for document, builder in ((Run, run_row), (Workout, workout_row), (Post, post_row)):
        build = _from(document, builder)
        async for batch in _batches(document.get_motor_collection(), {}):
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

    orphans: list[Any] = []
    async for batch in _batches(FeedItem.get_motor_collection(), {}, {"_id": 1}):
        orphans.extend(r["_id"] for r in batch if r["_id"] not in expected_ids)
    drift.orphans = len(orphans)
    if repair and orphans:
        await FeedItem.get_motor_collection().bulk_write(
            [DeleteOne({"_id": i}) for i in orphans], ordered=False
        )
    return drift
