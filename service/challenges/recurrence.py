"""Recurring challenges: when an instance ends, the series' next instance exists.

Each recurring instance carries `next_due` (its end) until its successor is inserted. `tick()`
takes the due instances (index `next_due`), inserts the successor — the first window of the
series ending after now, so a long outage skips the windows nobody could take part in — and
clears `next_due`. The unique index (series_id, starts_at) makes the insert happen once however
many ticks (the background loop, reads, other processes) race.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents.challenge import Challenge
from documents.clock import utcnow
from service.challenges.service import next_window
from service.queries import ASC, QueryShape

log = logging.getLogger("service.challenges.recurrence")

BATCH = 100
DUE = QueryShape(
    "challenges_next_due",
    Challenge,
    sort=(("next_due", ASC),),
    range=("next_due",),
    index="next_due",
    tie_break=False,
)


async def spawn_next(row: dict[str, Any]) -> bool:
    """Insert the successor of the ended instance `row` (once); True when this call did."""
    now = utcnow()
    steps = 1
    starts, ends = next_window(row["recurrence"], row["starts_at"], row["ends_at"], steps)
    while ends <= now:
        steps += 1
        starts, ends = next_window(row["recurrence"], row["starts_at"], row["ends_at"], steps)
    doc = {
        k: row[k]
        for k in (
            "title",
            "description",
            "metric",
            "goal",
            "scope",
            "team_id",
            "city_id",
            "mode",
            "recurrence",
            "series_id",
            "xp_reward",
            "creator_id",
        )
    }
    doc.update(
        _id=PydanticObjectId(),
        starts_at=starts,
        ends_at=ends,
        next_due=ends,
        participants_count=0,
        total=0.0,
        completed_at=None,
        created_at=now,
    )
    created = True
    try:
        await Challenge.get_motor_collection().insert_one(doc)
    except DuplicateKeyError:
        created = False
    await Challenge.get_motor_collection().update_one(
        {"_id": row["_id"]}, {"$set": {"next_due": None}}
    )
    return created


async def tick() -> int:
    """Create the successors due now (bounded batches); returns how many this call created."""
    created = 0
    collection = Challenge.get_motor_collection()
    while True:
        crit = DUE.check({"next_due": {"$lte": utcnow()}})
        rows = await collection.find(crit, sort=DUE.order).limit(BATCH).to_list(None)
        for row in rows:
            created += await spawn_next(row)
        if len(rows) < BATCH:
            return created


async def loop(interval_s: float) -> None:
    """The lifespan's background job: tick every `interval_s` seconds until cancelled."""
    while True:
        try:
            await tick()
        except Exception:  # a failed tick is retried at the next one
            log.exception("challenge recurrence tick failed")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def running(interval_s: float) -> Any:
    task = asyncio.create_task(loop(interval_s))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
