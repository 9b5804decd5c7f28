"""The feed: rows kept by hook listeners, read with one indexed query over the authors.

Writing (fan-out on write of one row per thing, not per follower): every run, workout and post
has one `feed_items` row (`documents.feed`), and so has every badge earned and challenge
completed. Listeners of the hooks in `service.events` upsert the row when the thing is recorded
or changed (a visibility change moves the row's `visibility`) and delete it when the thing is
deleted (or the completion withdrawn); a user's deletion removes their rows. Importing this
module connects them.

Reading (fan-in on read): `GET /feed` finds the caller's authors (themselves, their friends and
the athletes they follow, minus anyone blocked either way) and runs ONE query on the index
`actor_at` (actor_id, at desc, _id desc): `actor_id $in authors`, what the caller may see of
each (own: everything; friends: public and friends; followed non-friends: public), keyset after
the cursor's (at, _id), limit + 1. Counts and liked_by_me are read for the page only: one
`_id $in` read per object type and one read of the caller's like ids.

Badges and challenge completions follow their user's `default_visibility`, capped at friends:
`private` keeps them to the user, otherwise they are shown to friends (never to followers who
are not friends: "badges and challenges completed by friends").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents import ChallengeParticipant, Follow, Like, Post, Run, User, Workout
from documents.clock import utcnow
from documents.feed import FeedItem, FeedType, feed_item_id
from documents.post import like_id
from documents.social import Visibility
from service import events
from service.errors import Unprocessable
from service.feed.schemas import FeedActor, FeedEntry, FeedPage
from service.pagination import decode_cursor, encode_cursor, keyset
from service.queries import DESC, QueryShape
from service.social.access import blocked_either_way, friend_ids

log = logging.getLogger(__name__)

# the longest post text copied into a feed row (the full text is at GET /posts/{id})
POST_EXCERPT_CHARS = 500
LIKEABLE: dict[str, Any] = {"run": Run, "workout": Workout, "post": Post}
CURSOR_KEYS = ("at", "_id")
# How far back from the page's top (the cursor's time, or now) each try of the feed's query
# looks: a busy feed fills its page in the newest hour, a quiet one after a few wider tries; the
# last try has no lower bound. A try that finds more than a page is the answer (every row older
# than its window is older than all of its rows), so pages are exactly those of the unbounded
# query; each try is one index range per author of the same `actor_at` walk, bounded by `at`.
WINDOWS: tuple[timedelta | None, ...] = (
    timedelta(hours=1),
    timedelta(hours=16),
    timedelta(days=10),
    timedelta(days=160),
    timedelta(days=2560),
    None,
)

FEED = QueryShape(
    "feed",
    FeedItem,
    equality=("actor_id",),
    sort=(("at", DESC),),
    index="actor_at",
    range=("at",),
    residual=("visibility",),
    why="which visibilities of each author the caller may see (own: all; friends: public and "
    "friends; followed: public) is tested on the rows of the authors' index ranges",
)
FOLLOWS_OF = QueryShape(
    "feed_follows_of",
    Follow,
    equality=("follower_id",),
    sort=(("created_at", DESC),),
    index="follower_recent",
)


# --- rows -------------------------------------------------------------------------------------


def badge_visibility(default: str) -> Visibility:
    """Badges and challenge completions: the user's default visibility, capped at friends."""
    return "private" if default == "private" else "friends"


def run_row(run: Run) -> dict[str, Any]:
    return {
        "_id": feed_item_id("run", run.id, run.user_id),
        "actor_id": run.user_id,
        "type": "run",
        "object_id": run.id,
        "at": run.started_at,
        "visibility": run.visibility,
        "summary": {
            "id": str(run.id),
            "started_at": run.started_at,
            "distance_km": run.distance_km,
            "duration_s": run.duration_s,
            "pace_s_per_km": run.pace_s_per_km,
            "elevation_gain_m": run.elevation_gain_m,
            "source": run.source,
        },
    }


def workout_row(workout: Workout) -> dict[str, Any]:
    return {
        "_id": feed_item_id("workout", workout.id, workout.user_id),
        "actor_id": workout.user_id,
        "type": "workout",
        "object_id": workout.id,
        "at": workout.started_at,
        "visibility": workout.visibility,
        "summary": {
            "id": str(workout.id),
            "started_at": workout.started_at,
            "name": workout.name,
            "duration_s": workout.duration_s,
            "sets_count": workout.sets_count,
            "exercises_count": workout.exercises_count,
            "volume_kg": workout.volume_kg,
        },
    }


def post_row(post: Post) -> dict[str, Any]:
    text = post.text
    return {
        "_id": feed_item_id("post", post.id, post.user_id),
        "actor_id": post.user_id,
        "type": "post",
        "object_id": post.id,
        "at": post.created_at,
        "visibility": post.visibility,
        "summary": {
            "id": str(post.id),
            "text": text[:POST_EXCERPT_CHARS],
            "truncated": len(text) > POST_EXCERPT_CHARS,
            "run_id": str(post.run_id) if post.run_id else None,
            "workout_id": str(post.workout_id) if post.workout_id else None,
        },
    }


def badge_row(
    user_id: Any, badge: Mapping[str, Any], at: Any, visibility: Visibility
) -> dict[str, Any]:
    """`badge`: a BadgeRead as a dict (id, key, title, description, xp_reward)."""
    badge_id = PydanticObjectId(str(badge["id"]))
    return {
        "_id": feed_item_id("badge", badge_id, user_id),
        "actor_id": user_id,
        "type": "badge",
        "object_id": badge_id,
        "at": at,
        "visibility": visibility,
        "summary": {
            "id": str(badge_id),
            "key": badge["key"],
            "title": badge["title"],
            "description": badge["description"],
            "xp_reward": badge["xp_reward"],
        },
    }


def challenge_row(
    user_id: Any, challenge: Mapping[str, Any], at: Any, visibility: Visibility
) -> dict[str, Any]:
    """`challenge`: a ChallengeRead as a dict (id, title, metric, goal, mode, ends_at)."""
    challenge_id = PydanticObjectId(str(challenge["id"]))
    return {
        "_id": feed_item_id("challenge", challenge_id, user_id),
        "actor_id": user_id,
        "type": "challenge",
        "object_id": challenge_id,
        "at": at,
        "visibility": visibility,
        "summary": {
            "id": str(challenge_id),
            "title": challenge["title"],
            "metric": challenge["metric"],
            "goal": challenge["goal"],
            "mode": challenge["mode"],
            "ends_at": challenge["ends_at"],
        },
    }


async def put_row(row: dict[str, Any], *, upsert: bool = True) -> None:
    """Insert or replace the row (by its derived `_id`: never two rows for one thing)."""
    collection = FeedItem.get_motor_collection()
    fields = {k: v for k, v in row.items() if k != "_id"}
    fields["updated_at"] = utcnow()
    try:
        await collection.update_one({"_id": row["_id"]}, {"$set": fields}, upsert=upsert)
    except DuplicateKeyError:
        # two upserts of the same new row raced: the other inserted it, now it exists
        await collection.update_one({"_id": row["_id"]}, {"$set": fields})


async def drop_rows(type_: FeedType, object_ids: Iterable[Any]) -> None:
    ids = list(object_ids)
    if ids:
        await FeedItem.get_motor_collection().delete_many(
            {"object_id": {"$in": ids}, "type": type_}
        )


async def _visibility_of(user_id: Any) -> Visibility:
    row = await User.get_motor_collection().find_one({"_id": user_id}, {"default_visibility": 1})
    return badge_visibility((row or {}).get("default_visibility", "public"))


# --- listeners --------------------------------------------------------------------------------


async def _run_recorded(*, run: Run, **_: Any) -> None:
    await put_row(run_row(run))


async def _run_changed(*, after: Run, **_: Any) -> None:
    # no upsert: a change racing the run's deletion must not bring the row back (a row missing
    # for another reason is recreated by service.feed.rebuild)
    await put_row(run_row(after), upsert=False)


async def _run_deleted(*, run: Run, **_: Any) -> None:
    await drop_rows("run", [run.id])


async def _runs_deleted(*, runs: list[Run], **_: Any) -> None:
    await drop_rows("run", [r.id for r in runs])


async def _workout_recorded(*, workout: Workout, **_: Any) -> None:
    await put_row(workout_row(workout))


async def _workout_changed(*, after: Workout, **_: Any) -> None:
    await put_row(workout_row(after), upsert=False)


async def _workout_deleted(*, workout: Workout, **_: Any) -> None:
    await drop_rows("workout", [workout.id])


async def _workouts_deleted(*, workouts: list[Workout], **_: Any) -> None:
    await drop_rows("workout", [w.id for w in workouts])


async def _post_created(*, post: Post, **_: Any) -> None:
    await put_row(post_row(post))


async def _post_changed(*, after: Post, **_: Any) -> None:
    await put_row(post_row(after), upsert=False)


async def _post_deleted(*, post: Post, **_: Any) -> None:
    await drop_rows("post", [post.id])


def _as_dict(value: Any) -> Mapping[str, Any]:
    return value.model_dump() if hasattr(value, "model_dump") else value


async def _badge_earned(*, user_id: Any, badge: Any, at: Any, **_: Any) -> None:
    await put_row(badge_row(user_id, _as_dict(badge), at, await _visibility_of(user_id)))


async def _challenge_completed(*, user_id: Any, challenge: Any, at: Any, **_: Any) -> None:
    read = _as_dict(challenge)
    # the participation's completed_at (a collective completion announces a later moment)
    participation = await ChallengeParticipant.get_motor_collection().find_one(
        {"_id": f"{read['id']}:{user_id}"}, {"completed_at": 1}
    )
    at = (participation or {}).get("completed_at") or at
    await put_row(challenge_row(user_id, read, at, await _visibility_of(user_id)))


async def _challenge_withdrawn(*, user_id: Any, challenge_id: Any, **_: Any) -> None:
    await FeedItem.get_motor_collection().delete_one(
        {"_id": feed_item_id("challenge", challenge_id, user_id)}
    )


async def _user_updated(*, before: User, after: User, **_: Any) -> None:
    if before.default_visibility != after.default_visibility:
        await FeedItem.get_motor_collection().update_many(
            {"actor_id": after.id, "type": {"$in": ["badge", "challenge"]}},
            {"$set": {"visibility": badge_visibility(after.default_visibility)}},
        )


async def _user_deleted(*, user: User, **_: Any) -> None:
    await FeedItem.get_motor_collection().delete_many({"actor_id": user.id})


def connect() -> None:
    events.run_recorded.connect(_run_recorded)
    events.run_changed.connect(_run_changed)
    events.run_deleted.connect(_run_deleted)
    events.runs_deleted.connect(_runs_deleted)
    events.workout_recorded.connect(_workout_recorded)
    events.workout_changed.connect(_workout_changed)
    events.workout_deleted.connect(_workout_deleted)
    events.workouts_deleted.connect(_workouts_deleted)
    events.post_created.connect(_post_created)
    events.post_changed.connect(_post_changed)
    events.post_deleted.connect(_post_deleted)
    events.badge_earned.connect(_badge_earned)
    events.challenge_completed.connect(_challenge_completed)
    events.challenge_withdrawn.connect(_challenge_withdrawn)
    events.user_updated.connect(_user_updated)
    events.user_deleted.connect(_user_deleted)


connect()


# --- reading ----------------------------------------------------------------------------------


async def followed_ids(user_id: PydanticObjectId, cap: int) -> list[PydanticObjectId]:
    """The athletes the user follows, the `cap` most recently followed (follows are not capped:
    the feed reads at most `cap` of them)."""
    criteria = FOLLOWS_OF.check({"follower_id": user_id})
    rows = (
        await Follow.get_motor_collection()
        .find(criteria, {"athlete_id": 1})
        .sort(FOLLOWS_OF.order)
        .limit(cap)
        .to_list(None)
    )
    return [row["athlete_id"] for row in rows]


def _decode(cursor: str) -> list[Any]:
    try:
        return decode_cursor(cursor, CURSOR_KEYS)
    except Unprocessable as exc:
        raise Unprocessable(
            "`cursor` is not a cursor of the feed: pass the `next_cursor` of one of its pages",
            loc=("query", "cursor"),
        ) from exc


async def feed(*, user: User, limit: int, cursor: str | None, max_follows: int) -> FeedPage:
    """The caller's feed page, newest first (see the module docstring)."""
    me = user.id
    assert me is not None
    after = _decode(cursor) if cursor is not None else None
    blocked = await blocked_either_way(me)
    friends = [f for f in await friend_ids(me) if f not in blocked]
    friend_set = set(friends)
    followed = [
        a
        for a in await followed_ids(me, max_follows)
        if a != me and a not in friend_set and a not in blocked
    ]
    authors = [me, *friends, *followed]
    seen: list[dict[str, Any]] = [{"actor_id": me}, {"visibility": "public"}]
    if friends:
        seen.append({"actor_id": {"$in": friends}, "visibility": "friends"})
    top = after[0] if after is not None else utcnow()
    collection = FeedItem.get_motor_collection()
    rows: list[dict[str, Any]] = []
    for window in WINDOWS:
        criteria: dict[str, Any] = {"actor_id": {"$in": authors}, "$or": seen}
        if window is not None:
            criteria["at"] = {"$gte": top - window}
        FEED.check(criteria)
        if after is not None:
            criteria["$and"] = [{"$or": criteria.pop("$or")}, keyset(FEED.order, after)]
        rows = await collection.find(criteria).sort(FEED.order).limit(limit + 1).to_list(None)
        if len(rows) > limit:
            break  # every row older than the window is older than these
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(CURSOR_KEYS, [rows[-1]["at"], rows[-1]["_id"]])
    items = await _entries(rows, me=me, friends=friend_set)
    return FeedPage(items=items, next_cursor=next_cursor)


def _levels(actor_id: Any, me: Any, friends: set[Any]) -> tuple[str, ...]:
    if actor_id == me:
        return ("public", "friends", "private")
    if actor_id in friends:
        return ("public", "friends")
    return ("public",)


async def _entries(
    rows: list[dict[str, Any]], *, me: PydanticObjectId, friends: set[Any]
) -> list[FeedEntry]:
    """The page's rows with actors, counts and liked_by_me: one read per object type, one of
    the actors, one of the caller's likes. A row whose object is gone, or no longer visible to
    the caller (a change racing this read), is left out (the cursor is the last row's anyway)."""
    if not rows:
        return []
    actor_ids = list({row["actor_id"] for row in rows})
    names = {
        u["_id"]: u["name"]
        async for u in User.get_motor_collection().find({"_id": {"$in": actor_ids}}, {"name": 1})
    }
    objects: dict[tuple[str, Any], dict[str, Any]] = {}
    for kind, document in LIKEABLE.items():
        ids = [row["object_id"] for row in rows if row["type"] == kind]
        if ids:
            projection = {"likes_count": 1, "comments_count": 1, "visibility": 1}
            async for obj in document.get_motor_collection().find(
                {"_id": {"$in": ids}}, projection
            ):
                objects[(kind, obj["_id"])] = obj
    wanted = [like_id(row["type"], row["object_id"], me) for row in rows if row["type"] in LIKEABLE]
    liked = (
        {
            like["_id"]
            async for like in Like.get_motor_collection().find({"_id": {"$in": wanted}}, {"_id": 1})
        }
        if wanted
        else set()
    )
    entries = []
    for row in rows:
        actor = row["actor_id"]
        if actor not in names:
            continue  # the user is being deleted
        likes = comments = liked_by_me = None
        if row["type"] in LIKEABLE:
            obj = objects.get((row["type"], row["object_id"]))
            if obj is None or obj.get("visibility", "public") not in _levels(actor, me, friends):
                continue
            likes = int(obj.get("likes_count", 0))
            comments = int(obj.get("comments_count", 0))
            liked_by_me = like_id(row["type"], row["object_id"], me) in liked
        entries.append(
            FeedEntry(
                id=str(row["_id"]),
                type=row["type"],
                at=row["at"],
                actor=FeedActor(id=str(actor), name=names[actor]),
                object=row.get("summary", {}),
                likes=likes,
                comments=comments,
                liked_by_me=liked_by_me,
            )
        )
    return entries
