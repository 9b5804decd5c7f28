"""Demo posts, comments and likes, so the feed of runner001@demo.challenge.run is full.

After the demo friendships (service.demo.friends) and activities: runner001's friends (and
runner001) write posts over the last two weeks, some about their latest run; the author's
friends and runner001 comment on and like them, and like and comment on the friends' latest
runs. Drawn from a generator of its own (seeded from the demo seed). Every document has an id
drawn from it (likes: `like_id`), written by upsert, so a re-run adds nothing; the posts' and
runs' likes_count/comments_count are then set from the rows. The feed rows come from
`service.feed.rebuild`, which `load_demo` runs last.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReplaceOne, UpdateOne

from documents import Comment, Friendship, Like, Post, Run
from documents.clock import utcnow
from documents.post import like_id
from service.demo.users import DemoUser

POSTS_PER_FRIEND = 2
HUB_POSTS = 3
DAYS = 14
TEXTS = (
    "Early start today, the river path was empty.",
    "New shoes, first 10k in them: no blisters!",
    "Intervals in the rain. Who else is training for the spring half?",
    "Recovery week: easy miles only.",
    "Hill repeats done. Legs are jelly.",
    "Anyone up for a long run on Sunday morning?",
    "Finally under 25 minutes for 5k!",
    "Strength day: squats and lunges, then a short jog.",
    "Sunset run along the lake, worth every step.",
    "Back after two weeks off, slow but happy.",
)
COMMENTS = (
    "Great work!",
    "Nice pace 👏",
    "Count me in.",
    "Looks like a lovely route.",
    "Rest well!",
    "Inspiring, keep it up.",
    "Which shoes?",
    "See you on Sunday.",
)


def _oid(rng: random.Random) -> PydanticObjectId:
    return PydanticObjectId(rng.randbytes(12))


async def load_social(*, seed: int, users: list[DemoUser]) -> dict[str, int]:
    if not users:
        return {"posts": 0, "comments": 0, "likes": 0}
    rng = random.Random(f"social-{seed}")
    now = utcnow().replace(microsecond=0)
    hub = users[0]
    friends_of: dict[PydanticObjectId, list[PydanticObjectId]] = defaultdict(list)
    async for row in Friendship.get_motor_collection().find({}, {"users": 1}).sort("_id", 1):
        a, b = row["users"]
        friends_of[a].append(b)
        friends_of[b].append(a)
    hub_friends = sorted(friends_of.get(hub.id, []))
    if not hub_friends:
        return {"posts": 0, "comments": 0, "likes": 0}

    # the friends' latest runs (and runner001's): posts mention them, likes and comments go there
    authors = [hub.id, *hub_friends]
    latest: dict[PydanticObjectId, dict[str, Any]] = {}
    for author in authors:
        row = await Run.get_motor_collection().find_one(
            {"user_id": author}, {"visibility": 1}, sort=[("started_at", -1), ("_id", -1)]
        )
        if row is not None:
            latest[author] = row

    posts: list[dict[str, Any]] = []
    for author in authors:
        for _ in range(HUB_POSTS if author == hub.id else POSTS_PER_FRIEND):
            created = now - timedelta(minutes=rng.randint(30, DAYS * 24 * 60))
            run = latest.get(author) if rng.random() < 0.4 else None
            visibility = "friends" if rng.random() < 0.25 else "public"
            if run is not None and run.get("visibility", "public") != "public":
                visibility = "friends"
            posts.append(
                {
                    "_id": _oid(rng),
                    "user_id": author,
                    "text": rng.choice(TEXTS),
                    "visibility": visibility,
                    "run_id": run["_id"] if run is not None else None,
                    "workout_id": None,
                    "likes_count": 0,
                    "comments_count": 0,
                    "revision": 0,
                    "created_at": created,
                    "updated_at": created,
                }
            )

    comments: list[dict[str, Any]] = []
    likes: list[dict[str, Any]] = []
    subjects: list[tuple[str, dict[str, Any], Any]] = [("post", p, p["user_id"]) for p in posts] + [
        ("run", r, author)
        for author, r in latest.items()
        if author != hub.id and r.get("visibility", "public") != "private"
    ]
    for kind, subject, owner in subjects:
        # who may see it: the owner's friends (and the owner); runner001 is a friend of all
        audience = [u for u in friends_of.get(owner, []) if u != owner]
        if not audience:
            continue
        start = subject.get("created_at", now - timedelta(days=1))
        for liker in rng.sample(audience, min(len(audience), rng.randint(1, 8))):
            likes.append(
                {
                    "_id": like_id(kind, subject["_id"], liker),  # type: ignore[arg-type]
                    "subject_kind": kind,
                    "subject_id": subject["_id"],
                    "subject_owner_id": owner,
                    "user_id": liker,
                    "created_at": min(now, start + timedelta(minutes=rng.randint(5, 600))),
                }
            )
        for _ in range(rng.randint(0, 4)):
            at = min(now, start + timedelta(minutes=rng.randint(5, 900)))
            comments.append(
                {
                    "_id": _oid(rng),
                    "subject_kind": kind,
                    "subject_id": subject["_id"],
                    "subject_owner_id": owner,
                    "user_id": rng.choice([*audience, owner]),
                    "text": rng.choice(COMMENTS),
                    "created_at": at,
                    "updated_at": at,
                }
            )

    for document, docs in ((Post, posts), (Comment, comments), (Like, likes)):
        if docs:
            await document.get_motor_collection().bulk_write(
                [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False
            )
    await _set_counts(subjects)
    return {"posts": len(posts), "comments": len(comments), "likes": len(likes)}


async def _set_counts(subjects: list[tuple[str, dict[str, Any], Any]]) -> None:
    """likes_count / comments_count of the demo's subjects from the rows (the rebuild's rule)."""
    for kind, document in (("post", Post), ("run", Run)):
        ids = [s["_id"] for k, s, _ in subjects if k == kind]
        if not ids:
            continue
        counts: dict[Any, dict[str, int]] = {
            i: {"likes_count": 0, "comments_count": 0} for i in ids
        }
        for source, field in ((Like, "likes_count"), (Comment, "comments_count")):
            async for row in source.get_motor_collection().find(
                {"subject_kind": kind, "subject_id": {"$in": ids}}, {"subject_id": 1}
            ):
                counts[row["subject_id"]][field] += 1
        await document.get_motor_collection().bulk_write(
            [UpdateOne({"_id": i}, {"$set": c}) for i, c in counts.items()], ordered=False
        )
