"""Daily per-user caps on actions that can be used to spam others (e.g. invitations sent)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents import DailyQuota
from documents.clock import utcnow
from service.errors import TooManyRequests


async def claim(*, action: str, user_id: PydanticObjectId | None, cap: int, detail: str) -> None:
    """Count one more `action` by this user today (UTC), or 429 with `Retry-After` past `cap`.

    One conditional `$inc`: it only matches while the day's count is below the cap, so
    parallel requests cannot pass it together. When it matches nothing the upsert inserts the
    day's document, which fails on the existing `_id` when the cap is reached (or when a
    parallel first claim of the day created it: then the plain update decides).
    """
    now = utcnow()
    day_ends = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)
    below_cap = {"_id": f"{action}:{user_id}:{now.date().isoformat()}", "used": {"$lt": cap}}
    quotas = DailyQuota.get_motor_collection()
    try:
        await quotas.update_one(
            below_cap,
            {"$inc": {"used": 1}, "$setOnInsert": {"expires_at": day_ends}},
            upsert=True,
        )
        return
    except DuplicateKeyError:
        pass
    if (await quotas.update_one(below_cap, {"$inc": {"used": 1}})).modified_count:
        return
    raise TooManyRequests(detail, retry_after=math.ceil((day_ends - now).total_seconds()))
