"""Recompute `likes_count` and `comments_count` of every post, run and workout from the likes
and comments collections, or only report the subjects where they drifted.

Moved with `$inc` as rows are inserted or deleted, these never drift through the API; a hand
edit, a bulk load or a crash between a row's write and its `$inc` can still leave them wrong.
Used by `python -m scripts.rebuild_social_counts [--verify]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo import UpdateOne

from documents.post import Comment, Like, SubjectKind
from service.bulk import BulkWrites
from service.posts.subjects import DOCUMENTS

BATCH = 1000
COUNTERS = {"likes_count": Like, "comments_count": Comment}


@dataclass
class Drift:
    checked: int = 0
    changed: list[tuple[SubjectKind, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.changed


async def _counted(document: type[Like] | type[Comment]) -> dict[tuple[str, Any], int]:
    """Rows per subject: one streamed `$group` over the collection."""
    # order does not matter: the rows become a dict
    pipeline = [{"$group": {"_id": {"k": "$subject_kind", "s": "$subject_id"}, "n": {"$sum": 1}}}]
    cursor = document.get_motor_collection().aggregate(pipeline)
    return {(row["_id"]["k"], row["_id"]["s"]): row["n"] async for row in cursor}


async def _scan(*, repair: bool) -> Drift:
    wanted = {name: await _counted(document) for name, document in COUNTERS.items()}
    drift = Drift()
    for kind, document in DOCUMENTS.items():
        collection = document.get_motor_collection()
        fixes = BulkWrites(collection, BATCH)
        cursor = collection.find({}, dict.fromkeys(COUNTERS, 1)).sort("_id", 1).batch_size(BATCH)
        async for doc in cursor:
            drift.checked += 1
            diff = {
                name: counts.get((kind, doc["_id"]), 0)
                for name, counts in wanted.items()
                if doc.get(name, 0) != counts.get((kind, doc["_id"]), 0)
            }
            if not diff:
                continue
            drift.changed.append((kind, doc["_id"]))
            if repair:
                # only if the counts are still those read: a like meanwhile moved them
                stored = {name: doc.get(name, {"$exists": False}) for name in diff}
                await fixes.add(UpdateOne({"_id": doc["_id"], **stored}, {"$set": diff}))
        await fixes.flush()
    return drift


async def verify() -> Drift:
    """The posts, runs and workouts whose stored counts differ from their rows."""
    return await _scan(repair=False)


async def repair() -> Drift:
    """Rewrite the drifted counts; returns what drifted."""
    return await _scan(repair=True)
