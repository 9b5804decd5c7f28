"""Demo challenges (issue 9 §3): active, ended and recurring ones, a weekly city-vs-city
challenge and one challenge per demo city. Participants are inserted here; their progress,
completions and XP come from the challenges' rebuild (the demo's runs carry no hooks), so
demo state == rebuild state."""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import BulkWriteError

from documents import City, Run, User
from documents.challenge import Challenge, ChallengeParticipant
from documents.clock import utcnow
from service.challenges.service import participant_id
from service.demo.users import DemoUser
from service.leaderboards.periods import midnight


def _series(n: int) -> PydanticObjectId:
    # fixed series ids: a second load upserts the same instances
    return PydanticObjectId(f"de3000000000000000{n:06x}")


async def _upsert(doc: dict[str, Any]) -> Any:
    doc.setdefault("description", "")
    doc.setdefault("recurrence", "none")
    doc.setdefault("team_id", None)
    doc.setdefault("city_id", None)
    doc.setdefault("goal", None)
    doc.setdefault("xp_reward", 0)
    doc.setdefault("next_due", None)
    base = {"participants_count": 0, "total": 0.0, "completed_at": None, "created_at": utcnow()}
    found = await Challenge.get_motor_collection().find_one_and_update(
        {"series_id": doc["series_id"], "starts_at": doc["starts_at"]},
        {"$setOnInsert": {**doc, **base, "_id": PydanticObjectId()}},
        upsert=True,
        return_document=True,
    )
    return found


async def load_challenges(*, rng: random.Random, users: list[DemoUser]) -> dict[str, int]:
    """Upsert the demo challenges and their explicit participants; returns counts."""
    if not users:
        return {"challenges": 0}
    now = utcnow()
    today = midnight(now.date())
    monday = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    admin = await User.get_motor_collection().find_one({"role": "admin"}, {"_id": 1})
    creator = admin["_id"] if admin else users[0].id
    common = {"creator_id": creator, "scope": "public", "mode": "individual"}
    docs: list[dict[str, Any]] = [
        {
            **common,
            "title": "Fortnight 30 km",
            "metric": "distance_km",
            "goal": 30.0,
            "xp_reward": 150,
            "starts_at": today - timedelta(days=7),
            "ends_at": today + timedelta(days=7),
            "series_id": _series(1),
        },
        {
            **common,
            "title": "Spring 100 km (ended)",
            "metric": "distance_km",
            "goal": 100.0,
            "xp_reward": 300,
            "starts_at": today - timedelta(days=60),
            "ends_at": today - timedelta(days=5),
            "series_id": _series(2),
        },
        {
            **common,
            "title": "Team effort: 500 km together",
            "mode": "collective",
            "metric": "distance_km",
            "goal": 500.0,
            "xp_reward": 100,
            "starts_at": month,
            "ends_at": next_month,
            "series_id": _series(3),
        },
    ]
    # a weekly series: last week's instance (ended, its successor made) and this week's
    for week, start in enumerate((monday - timedelta(days=7), monday)):
        docs.append(
            {
                **common,
                "title": "Three runs a week",
                "metric": "runs",
                "goal": 3.0,
                "xp_reward": 50,
                "recurrence": "weekly",
                "starts_at": start,
                "ends_at": start + timedelta(days=7),
                "next_due": None if week == 0 else start + timedelta(days=7),
                "series_id": _series(4),
            }
        )
    # the weekly city-vs-city: every runner enrolled by their runs
    docs.append(
        {
            **common,
            "title": "City vs city: weekly distance",
            "scope": "global",
            "mode": "cities",
            "metric": "distance_km",
            "recurrence": "weekly",
            "starts_at": monday,
            "ends_at": monday + timedelta(days=7),
            "next_due": monday + timedelta(days=7),
            "series_id": _series(5),
        }
    )
    city_ids = await Run.get_motor_collection().distinct("city_id", {"started_at": {"$gte": month}})
    cities = (
        await City.get_motor_collection()
        .find({"_id": {"$in": [c for c in city_ids if c is not None]}}, {"name": 1})
        .sort("name", 1)
        .to_list(50)
    )
    for i, city in enumerate(cities):
        docs.append(
            {
                **common,
                "title": f"{city['name']} monthly 40 km",
                "scope": "city",
                "city_id": city["_id"],
                "metric": "distance_km",
                "goal": 40.0,
                "xp_reward": 80,
                "starts_at": month,
                "ends_at": next_month,
                "series_id": _series(100 + i),
            }
        )
    stored = [await _upsert(doc) for doc in docs]
    # explicit participants of the public ones: a seeded third of the demo users each
    participants = ChallengeParticipant.get_motor_collection()
    docs_p: list[dict[str, Any]] = []
    for challenge in stored:
        if challenge["scope"] != "public":
            continue
        for user in rng.sample(users, max(1, len(users) // 3)):
            joined_at: datetime = min(challenge["starts_at"] + timedelta(hours=1), now)
            docs_p.append(
                {
                    "_id": participant_id(challenge["_id"], user.id),
                    "challenge_id": challenge["_id"],
                    "user_id": user.id,
                    "starts_at": challenge["starts_at"],
                    "ends_at": challenge["ends_at"],
                    "progress": 0.0,
                    "completed_at": None,
                    "joined_at": joined_at,
                }
            )
    ids = [d["_id"] for d in docs_p]
    present = {d["_id"] async for d in participants.find({"_id": {"$in": ids}}, {"_id": 1})}
    fresh = [d for d in docs_p if d["_id"] not in present]
    if fresh:
        with contextlib.suppress(BulkWriteError):  # a concurrent load inserted some
            await participants.insert_many(fresh, ordered=False)
    joined = len(fresh)
    return {"challenges": len(stored), "challenge_participants": joined}
