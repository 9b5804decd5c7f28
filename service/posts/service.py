"""Posts: a text, its visibility, and optionally one of the author's runs or workouts.

A post is shown to whoever may see it (service.social.access); an attached activity the viewer
may not see is shown as null. Deleting a post deletes its comments and likes.
"""

from __future__ import annotations

import logging
from typing import Any

from beanie import Document, PydanticObjectId

from documents import Run, Workout
from documents.clock import utcnow
from documents.post import Post
from documents.user import User
from service import events
from service.errors import Forbidden, NotFound, Unprocessable
from service.ids import object_id_or_404
from service.likes import service as likes
from service.pagination import Page, PageParams, fetch_page
from service.posts import subjects
from service.posts.schemas import PostCreate, PostRead, PostUpdate, RunSummary, WorkoutSummary
from service.queries import DESC, QueryShape, Shapes
from service.social import access

log = logging.getLogger(__name__)

# a user's posts as someone who may see only some visibilities sees them: one range per
# visible level, merged on (created_at, _id) (index user_visibility_created)
POSTS_OF_USER_VISIBLE = QueryShape(
    "posts_of_user_visible",
    Post,
    equality=("user_id", "visibility"),
    sort=(("created_at", DESC),),
    index="user_visibility_created",
)
# ... as the author or an admin sees them (every visibility: index user_created)
POSTS_OF_USER_ALL = QueryShape(
    "posts_of_user_all",
    Post,
    equality=("user_id",),
    sort=(("created_at", DESC),),
    index="user_created",
)
POSTS_OF_USER = Shapes("posts_of_user", (POSTS_OF_USER_VISIBLE, POSTS_OF_USER_ALL))
USER_DELETION_BATCH = 200


# --- reading ----------------------------------------------------------------------------------


def _run_summary(raw: dict[str, Any]) -> RunSummary:
    return RunSummary(
        id=str(raw["_id"]),
        started_at=raw["started_at"],
        distance_km=raw["distance_km"],
        duration_s=raw["duration_s"],
        pace_s_per_km=raw.get("pace_s_per_km"),
    )


def _workout_summary(raw: dict[str, Any]) -> WorkoutSummary:
    return WorkoutSummary(
        id=str(raw["_id"]),
        started_at=raw["started_at"],
        name=raw.get("name"),
        duration_s=raw["duration_s"],
        sets_count=raw.get("sets_count", 0),
        volume_kg=raw.get("volume_kg", 0.0),
    )


async def _attached(
    document: type[Document], ids: list[PydanticObjectId], projection: dict[str, int]
) -> dict[PydanticObjectId, dict[str, Any]]:
    if not ids:
        return {}
    rows = document.get_motor_collection().find(
        {"_id": {"$in": list(set(ids))}}, {**projection, "user_id": 1, "visibility": 1}
    )
    return {row["_id"]: row async for row in rows}


RUN_FIELDS = {"started_at": 1, "distance_km": 1, "duration_s": 1, "pace_s_per_km": 1}
WORKOUT_FIELDS = {"started_at": 1, "name": 1, "duration_s": 1, "sets_count": 1, "volume_kg": 1}


async def to_reads(posts: list[Post], viewer: User | None) -> list[PostRead]:
    """Read schemas of a page of posts the viewer may see: authors, attached activities and
    the viewer's likes each in one `_id $in` read (bounded by the page)."""
    if not posts:
        return []
    refs = await subjects.user_refs([p.user_id for p in posts])
    liked = await likes.liked_by(viewer, "post", [p.id for p in posts])
    runs = await _attached(Run, [p.run_id for p in posts if p.run_id], RUN_FIELDS)
    workouts = await _attached(
        Workout, [p.workout_id for p in posts if p.workout_id], WORKOUT_FIELDS
    )
    levels: dict[PydanticObjectId, tuple[str, ...]] = {}

    async def shown(raw: dict[str, Any] | None) -> bool:
        if raw is None:
            return False
        owner = raw["user_id"]
        if owner not in levels:
            levels[owner] = access.visible_levels(await access.relation(viewer, owner))
        return raw.get("visibility", "public") in levels[owner]

    reads = []
    for post in posts:
        run = runs.get(post.run_id) if post.run_id else None
        workout = workouts.get(post.workout_id) if post.workout_id else None
        reads.append(
            PostRead(
                id=str(post.id),
                author=subjects.user_ref(refs, post.user_id),
                text=post.text,
                visibility=post.visibility,
                run=_run_summary(run) if run is not None and await shown(run) else None,
                workout=(
                    _workout_summary(workout)
                    if workout is not None and await shown(workout)
                    else None
                ),
                likes=post.likes_count,
                comments=post.comments_count,
                liked_by_me=post.id in liked,
                created_at=post.created_at,
                updated_at=post.updated_at,
            )
        )
    return reads


async def read(post: Post, viewer: User | None) -> PostRead:
    return (await to_reads([post], viewer))[0]


async def get(post_id: str) -> Post:
    post = await Post.get(object_id_or_404(post_id, "Post"))
    if post is None:
        raise NotFound("Post not found")
    return post


async def get_visible(post_id: str, viewer: User | None) -> Post:
    """The post, or 404 when it does not exist or the viewer may not see it."""
    post = await get(post_id)
    await access.require_visible(viewer, post.user_id, post.visibility, "Post")
    return post


async def of_user(*, owner: User, viewer: User | None, page: PageParams) -> Page[PostRead]:
    """A user's posts the viewer may see, newest first."""
    criteria: dict[str, Any] = {"user_id": owner.id}
    criteria.update(await access.list_criteria(viewer, owner.id))
    found = await fetch_page(POSTS_OF_USER, criteria, page)
    return found.page(await to_reads(found.rows, viewer))


# --- writing ----------------------------------------------------------------------------------


async def _own(
    document: type[Document], raw_id: str | None, user: User, field: str, what: str
) -> PydanticObjectId | None:
    if raw_id is None:
        return None
    oid = PydanticObjectId(raw_id)
    found = await document.get_motor_collection().find_one(
        {"_id": oid, "user_id": user.id}, {"_id": 1}
    )
    if found is None:  # someone else's or no such activity: the same answer for both
        raise Unprocessable(f"{field} is not one of your {what}s", loc=("body", field))
    return oid


async def create(*, user: User, data: PostCreate) -> Post:
    """Publish a post (visibility: as given, else the author's default)."""
    assert user.id is not None
    run_id = await _own(Run, data.run_id, user, "run_id", "run")
    workout_id = await _own(Workout, data.workout_id, user, "workout_id", "workout")
    post = Post(
        user_id=user.id,
        text=data.text,
        visibility=data.visibility or user.default_visibility,
        run_id=run_id,
        workout_id=workout_id,
    )
    await post.insert()
    await events.post_created.emit(post=post)
    return post


async def _require_author(post: Post, actor: User, action: str) -> None:
    if post.user_id != actor.id:
        # someone who may not see it learns nothing: 404; others 403
        await access.require_visible(actor, post.user_id, post.visibility, "Post")
        raise Forbidden(f"Only its author can {action} a post")


async def update(*, post: Post, changes: PostUpdate, actor: User) -> Post:
    """Change the text or visibility of one's own post."""
    await _require_author(post, actor, "edit")
    diff = {
        k: v for k, v in changes.model_dump(exclude_unset=True).items() if getattr(post, k) != v
    }
    if not diff:
        return post
    diff["updated_at"] = utcnow()
    diff["revision"] = post.revision + 1
    raw = await Post.get_motor_collection().find_one_and_update(
        {"_id": post.id},
        {"$set": diff},
        return_document=True,
    )
    if raw is None:
        raise NotFound("Post not found")
    after = Post.model_validate(raw)
    await events.post_changed.emit(before=post, after=after)
    return after


async def delete(*, post: Post, actor: User) -> None:
    """Delete a post (its author or an admin) with its comments and likes."""
    if actor.role != "admin":
        await _require_author(post, actor, "delete")
    raw = await Post.get_motor_collection().find_one_and_delete({"_id": post.id})
    if raw is None:  # deleted concurrently: that deletion announced it
        raise NotFound("Post not found")
    await subjects.delete_rows_of("post", [post.id])
    await events.post_deleted.emit(post=Post.model_validate(raw))


async def delete_all_of(*, user: User) -> int:
    """Delete every post of a user with their comments and likes, batch by batch."""
    collection = Post.get_motor_collection()
    deleted = 0
    while True:
        batch = [
            Post.model_validate(raw)
            async for raw in collection.find(POSTS_OF_USER_ALL.check({"user_id": user.id}))
            .sort(POSTS_OF_USER_ALL.order)
            .limit(USER_DELETION_BATCH)
        ]
        if not batch:
            break
        ids = [p.id for p in batch]
        result = await collection.delete_many({"_id": {"$in": ids}})
        deleted += result.deleted_count
        await subjects.delete_rows_of("post", ids)
        for post in batch:
            await events.post_deleted.emit(post=post)
    return deleted
