"""The award job of a badge created (or whose rule changed): everyone who already meets it
gets it, without waiting for their next activity.

Started by the create as an asyncio task of the process; it walks the users in keyset batches
of AWARD_BATCH by `_id` and awards each batch in bulk (`service.award_met`). Awards are
idempotent (unique "<user>:<badge>"), so a job cut short by a restart is simply re-run:
`python -m scripts.rebuild_gamification --only badges` awards every badge met but missing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from documents import Badge, User
from service.badges import service as badges

log = logging.getLogger("service.badges.jobs")

AWARD_BATCH = 500

_tasks: set[asyncio.Task[int]] = set()


async def award_to_all(badge: dict[str, Any], *, batch: int = AWARD_BATCH) -> int:
    """Award `badge` to every user who meets it and lacks it; returns how many were awarded."""
    users = User.get_motor_collection()
    awarded = 0
    last = None
    while True:
        criteria: dict[str, Any] = {} if last is None else {"_id": {"$gt": last}}
        ids = [
            doc["_id"] async for doc in users.find(criteria, {"_id": 1}).sort("_id", 1).limit(batch)
        ]
        if not ids:
            return awarded
        # the badge as stored now: deleted meanwhile, nothing more to award
        current = await Badge.get_motor_collection().find_one({"_id": badge["_id"]})
        if current is None:
            return awarded
        awarded += await badges.award_met(ids, [current])
        last = ids[-1]


async def _run(badge: dict[str, Any]) -> int:
    try:
        awarded = await award_to_all(badge)
    except Exception:  # a job runs detached: log, the rebuild script re-runs it
        log.exception("Award job of badge %s failed", badge.get("key"))
        raise
    log.info("Badge %s awarded to %d users already meeting it", badge.get("key"), awarded)
    return awarded


def start_award(badge: Badge) -> asyncio.Task[int]:
    """Start the award job of `badge` in the background; `wait_idle()` awaits every job."""
    task = asyncio.create_task(_run(badge.model_dump(by_alias=True)))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


async def wait_idle() -> None:
    """Wait for every award job started so far (tests; a graceful shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)
