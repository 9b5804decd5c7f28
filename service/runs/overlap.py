"""A runner's runs never overlap in time: the rule, and the lease that makes it atomic.

A run occupies the half-open interval [started_at, started_at + duration_s): one that ends
exactly when the next starts does not overlap it. Whoever stores a run or moves one in time
(POST /runs, PATCH /runs/{id}, and any later importer) does so inside `runner_timeline(user)`:
a per-user lease in the `run_slot_leases` collection, so "no overlapping run exists" and "store
this run" cannot interleave with another writer's, on any number of API processes and without
transactions (the embedded store has none).

The lease is one upsert, atomic on MongoDB: `{_id: user, until <= now}` either matches an
expired lease (taken over) or matches nothing, and then the upsert's insert of `_id: user`
succeeds (no lease yet) or fails with a duplicate key (someone holds it: wait and retry).
Only the holder's token releases it; a crashed holder's lease expires after LEASE_SECONDS.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents import Run, RunSlotLease
from documents.clock import as_stored, utcnow
from service.errors import Conflict
from service.runs.limits import MAX_DURATION_S

# longer than any check-and-write takes (a 20,000-point route included), short enough that a
# crashed holder blocks its runner only briefly
LEASE_SECONDS = 30
# how long a request waits for a busy lease before answering 409 (retry). A holder keeps it
# for one indexed find and one insert, but a burst of one runner's writes queues behind it, and
# a loaded server makes each turn slower: 5 s ran out for 10 parallel posts on a busy 2-core
# machine. Waiting costs a sleeping coroutine, so be generous.
WAIT_SECONDS = 20.0
# documents/run.py: (user_id, started_at desc, _id desc)
USER_STARTED_INDEX = "user_started"
_FIRST_BACKOFF_S = 0.005
_MAX_BACKOFF_S = 0.1


def ends_at(started_at: datetime, duration_s: int) -> datetime:
    return started_at + timedelta(seconds=duration_s)


async def _try_acquire(user_id: PydanticObjectId, holder: str) -> bool:
    now = utcnow()
    try:
        await RunSlotLease.get_motor_collection().update_one(
            {"_id": user_id, "until": {"$lte": now}},
            {"$set": {"holder": holder, "until": now + timedelta(seconds=LEASE_SECONDS)}},
            upsert=True,
        )
    except DuplicateKeyError:
        return False  # held by another request, and not expired
    return True


@asynccontextmanager
async def runner_timeline(user_id: PydanticObjectId) -> AsyncIterator[None]:
    """Hold the runner's lease: overlap checks and run writes inside are atomic together."""
    holder = secrets.token_hex(8)
    deadline = time.monotonic() + WAIT_SECONDS
    backoff = _FIRST_BACKOFF_S
    while not await _try_acquire(user_id, holder):
        if time.monotonic() >= deadline:
            raise Conflict(
                "Another change to your runs is in progress; retry in a moment",
                headers={"Retry-After": "1"},
            )
        await asyncio.sleep(backoff * random.uniform(0.5, 1.5))  # jittered, so waiters spread
        backoff = min(_MAX_BACKOFF_S, backoff * 2)
    try:
        yield
    finally:
        await RunSlotLease.get_motor_collection().delete_one({"_id": user_id, "holder": holder})


def conflict_query(
    *,
    user_id: PydanticObjectId,
    started_at: datetime,
    duration_s: int,
    exclude: PydanticObjectId | None = None,
) -> dict[str, Any]:
    """The filter of the runs of `user_id` that may overlap [started_at, +duration_s).

    `user_id` equality and `started_at` bounded on both sides: an index scan of the
    `user_started` index over at most MAX_DURATION_S + duration_s of that runner's runs.
    """
    end = ends_at(started_at, duration_s)
    query: dict[str, Any] = {
        "user_id": user_id,
        "started_at": {"$lt": end, "$gt": started_at - timedelta(seconds=MAX_DURATION_S)},
        "$or": [{"ends_at": {"$gt": started_at}}, {"ends_at": None}],
    }
    if exclude is not None:
        query["_id"] = {"$ne": exclude}
    return query


def conflict_cursor(
    *,
    user_id: PydanticObjectId,
    started_at: datetime,
    duration_s: int,
    exclude: PydanticObjectId | None = None,
) -> Any:
    """The cursor `find_conflict` reads (tests explain it on a real server)."""
    query = conflict_query(
        user_id=user_id, started_at=started_at, duration_s=duration_s, exclude=exclude
    )
    return (
        Run.get_motor_collection()
        .find(query, {"started_at": 1, "duration_s": 1, "ends_at": 1})
        .sort([("started_at", 1), ("_id", 1)])
        # the planner would pick it anyway (the only index led by user_id); the hint makes the
        # bounded scan a guarantee rather than a plan choice
        .hint(USER_STARTED_INDEX)
    )


async def find_conflict(
    *,
    user_id: PydanticObjectId,
    started_at: datetime,
    duration_s: int,
    exclude: PydanticObjectId | None = None,
) -> PydanticObjectId | None:
    """The id of a stored run of this user overlapping [started_at, +duration_s), if any.

    Served by the `user_started` index: user_id equality and started_at bounded on both sides,
    since no stored run lasts longer than MAX_DURATION_S (a run starting earlier has ended).
    Runs stored before `ends_at` existed have it null: their end is computed here.
    """
    start = as_stored(started_at)
    cursor = conflict_cursor(
        user_id=user_id, started_at=start, duration_s=duration_s, exclude=exclude
    )
    async for doc in cursor:
        stored_end = doc.get("ends_at") or ends_at(doc["started_at"], doc["duration_s"])
        if as_stored(stored_end) > start:
            return PydanticObjectId(doc["_id"])
    return None


def overlap_conflict(conflicting: PydanticObjectId) -> Conflict:
    return Conflict(
        f"This run overlaps your run {conflicting} in time: a runner's runs cannot overlap "
        "(a run occupies [started_at, started_at + duration_s))",
        extra={"conflicting_run_id": str(conflicting)},
    )


async def backfill_ends_at(*, batch: int = 1000) -> int:
    """Set `ends_at` on runs stored before it existed; returns how many were updated.

    Each update is conditional on the start and duration it was computed from, so an edit
    racing the backfill keeps its own (correct) ends_at.
    """
    collection = Run.get_motor_collection()
    updated = 0
    last_id: Any = None
    while True:
        query: dict[str, Any] = {"ends_at": None}
        if last_id is not None:
            query["_id"] = {"$gt": last_id}
        docs = [
            doc
            async for doc in collection.find(query, {"started_at": 1, "duration_s": 1})
            .sort("_id", 1)
            .limit(batch)
        ]
        if not docs:
            return updated
        for doc in docs:
            result = await collection.update_one(
                {
                    "_id": doc["_id"],
                    "ends_at": None,
                    "started_at": doc["started_at"],
                    "duration_s": doc["duration_s"],
                },
                {"$set": {"ends_at": ends_at(as_stored(doc["started_at"]), doc["duration_s"])}},
            )
            updated += result.modified_count
        last_id = docs[-1]["_id"]
