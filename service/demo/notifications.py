"""Demo notifications: runner001's recent ones, as the hooks would have made them.

The demo writes its activities, likes, comments, requests and badges in bulk without the hooks
(service.demo), so no listener of service.notifications ran. This derives the hub's (runner001's)
notifications of the last DAYS days from the rows, with the same kinds, subjects and event keys
the listeners use (a rerun upserts by key: nothing twice); the older half is marked read.
Other demo users get none (the demo keeps startup quick).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import UpdateOne

from documents import Badge, Comment, FriendRequest, Like, Notification, UserBadge
from documents.clock import utcnow
from service.demo.users import DemoUser

DAYS = 14
# at most this many of each kind (newest first): the hub's list stays a few pages long
PER_KIND = 60
EXCERPT_CHARS = 140


def _subject(kind: str, subject_id: Any) -> dict[str, str]:
    return {"kind": kind, "id": str(subject_id)}


async def load_notifications(*, users: list[DemoUser]) -> dict[str, int]:
    if not users:
        return {"notifications": 0}
    hub = users[0].id
    now = utcnow()
    since = now - timedelta(days=DAYS)
    rows: list[dict[str, Any]] = []

    def recent(collection: Any, criteria: dict[str, Any], field: str) -> Any:
        return (
            collection.get_motor_collection()
            .find({**criteria, field: {"$gte": since}})
            .sort([(field, -1), ("_id", -1)])
            .limit(PER_KIND)
        )

    mine = {"subject_owner_id": hub, "user_id": {"$ne": hub}}
    async for like in recent(Like, mine, "created_at"):
        rows.append(
            {
                "kind": "like",
                "actor_id": like["user_id"],
                "subject": _subject(like["subject_kind"], like["subject_id"]),
                "data": {},
                "key": f"like:{like['_id']}",
                "created_at": like["created_at"],
            }
        )
    async for comment in recent(Comment, mine, "created_at"):
        text = comment["text"]
        rows.append(
            {
                "kind": "comment",
                "actor_id": comment["user_id"],
                "subject": _subject(comment["subject_kind"], comment["subject_id"]),
                "data": {
                    "comment_id": str(comment["_id"]),
                    "excerpt": text
                    if len(text) <= EXCERPT_CHARS
                    else text[: EXCERPT_CHARS - 1] + "…",
                },
                "key": f"comment:{comment['_id']}",
                "created_at": comment["created_at"],
            }
        )
    async for request in FriendRequest.get_motor_collection().find({"to_id": hub}).limit(PER_KIND):
        rows.append(
            {
                "kind": "friend_request",
                "actor_id": request["from_id"],
                "subject": _subject("friend_request", request["_id"]),
                "data": {},
                "key": f"friend_request:{request['_id']}",
                "created_at": request["created_at"],
            }
        )
    earned = [b async for b in recent(UserBadge, {"user_id": hub}, "earned_at")]
    titles = {
        b["_id"]: b
        async for b in Badge.get_motor_collection().find(
            {"_id": {"$in": [e["badge_id"] for e in earned]}}, {"key": 1, "title": 1}
        )
    }
    for award in earned:
        badge = titles.get(award["badge_id"])
        if badge is None:
            continue
        rows.append(
            {
                "kind": "badge_earned",
                "actor_id": None,
                "subject": _subject("badge", award["badge_id"]),
                "data": {"key": badge["key"], "title": badge["title"]},
                "key": f"badge:{hub}:{award['badge_id']}",
                "created_at": award["earned_at"],
            }
        )
    if not rows:
        return {"notifications": 0}
    rows.sort(key=lambda row: row["created_at"])
    read_before = rows[len(rows) // 2]["created_at"]
    writes = [
        UpdateOne(
            {"key": row["key"]},
            {
                "$setOnInsert": {
                    **{k: v for k, v in row.items() if k != "key"},  # the filter sets the key
                    "user_id": hub,
                    "read": row["created_at"] < read_before,
                }
            },
            upsert=True,
        )
        for row in rows
    ]
    await Notification.get_motor_collection().bulk_write(writes, ordered=False)
    return {"notifications": len(rows)}
