"""Demo weekly goals (issue 9 §4): two demo users in three set one or two goals eight weeks
ago, with targets near their own median week (so their history is a mix of met and missed
weeks), some raised three weeks ago (two versions). Week totals and goal XP come from the
goals' rebuild over every week (the demo's activities carry no hooks): demo state == rebuild
state."""

from __future__ import annotations

import random
import statistics
from typing import Any

from pymongo import UpdateOne

from documents import Goal
from documents.clock import utcnow
from documents.goal import OPEN_UNTIL
from service.demo.users import DemoUser
from service.goals import rebuild as goals_rebuild
from service.goals import service as goals

WEEKS_BACK = 8


def _target(metric: str, values: list[float], rng: random.Random) -> float:
    low, high = goals.TARGET_BOUNDS[metric]
    middle = statistics.median(values) if values else low
    target = middle * rng.uniform(0.8, 1.2)
    target = round(target) if metric in goals.WHOLE else round(target, 1)
    return float(min(max(target, low), high))


async def load_goals(*, seed: int, users: list[DemoUser]) -> dict[str, int]:
    """Call before the XP rebuild: goal entries are written in bulk and users' `xp` follows
    from that rebuild."""
    rng = random.Random(f"goals:{seed}")
    ids = [u.id for u in users]
    expected = await goals_rebuild.expected_weeks(ids)
    this_week = goals.week_of(utcnow())
    first = this_week - WEEKS_BACK * goals.WEEK
    changed = this_week - 3 * goals.WEEK
    weeks = [first + i * goals.WEEK for i in range(WEEKS_BACK)]
    now = utcnow()
    writes: list[Any] = []
    for user in users:
        if rng.random() < 1 / 3:
            continue
        rows = [expected.get(goals.week_id(user.id, w)) for w in weeks]
        for metric in rng.sample(goals.METRICS, rng.choice([1, 2])):
            target = _target(metric, [goals.value_of(metric, r) for r in rows], rng)
            plan = [(first, target)]
            if rng.random() < 0.3:  # raised three weeks ago
                high = goals.TARGET_BOUNDS[metric][1]
                plan.append((changed, min(high, target + (1 if metric in goals.WHOLE else 2.0))))
            for i, (start, value) in enumerate(plan):
                until = plan[i + 1][0] if i + 1 < len(plan) else OPEN_UNTIL
                writes.append(
                    UpdateOne(
                        {"_id": goals.version_id(user.id, metric, start)},
                        {
                            "$set": {"target": value, "until": until, "updated_at": now},
                            "$setOnInsert": {
                                "user_id": user.id,
                                "metric": metric,
                                "from_week": start,
                                "created_at": now,
                            },
                        },
                        upsert=True,
                    )
                )
    if writes:
        await Goal.get_motor_collection().bulk_write(writes, ordered=False)
    drift = await goals_rebuild.rebuild(
        repair=True, all_weeks=True, user_ids=ids, expected=expected, via_ledger=False
    )
    return {"goal_versions": len(writes), "goals_met": drift.xp_missing}
