"""Notifications: one row per event a user should hear about, created by hook listeners.

- Created after the announcing change is stored, by `notify`: never for the recipient's own
  action (actor == recipient), never between blocked users (either direction, checked at
  creation), and at most once per event `key` (unique index): a like notifies once per like id
  (an unlike keeps the notification, a re-like does not notify again), a badge once per award,
  a challenge once per completion, a goal once per goal and week.
- Deleting a comment removes its notification, deleting a post, run or workout the
  notifications about it (likes, comments); a block removes the pair's notifications both
  ways; deleting an account removes the notifications it received and those it caused.
- Kept 90 days (TTL index on created_at; a TTL option is fixed at index creation).
- `unread_count` is an index count on `user_read_created`, capped at UNREAD_COUNT_CAP.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents import Notification, User
from documents.clock import utcnow
from documents.notification import NotificationKind, NotificationSubject
from service import events
from service.notifications.schemas import (
    ActorRef,
    MarkedRead,
    MarkRead,
    NotificationPage,
    NotificationRead,
    UnreadCount,
)
from service.pagination import PageParams, fetch_page
from service.queries import DESC, QueryShape, Shapes
from service.social import access

log = logging.getLogger("service.notifications")

UNREAD_COUNT_CAP = 1000
EXCERPT_CHARS = 140

NOTIFICATIONS_OF_USER = QueryShape(
    "notifications_of_user",
    Notification,
    equality=("user_id",),
    sort=(("created_at", DESC),),
    index="user_created",
)
NOTIFICATIONS_BY_READ = QueryShape(
    "notifications_by_read",
    Notification,
    equality=("user_id", "read"),
    sort=(("created_at", DESC),),
    index="user_read_created",
)
NOTIFICATIONS = Shapes("notifications", (NOTIFICATIONS_OF_USER, NOTIFICATIONS_BY_READ))


def _oid(value: Any) -> PydanticObjectId:
    return value if isinstance(value, PydanticObjectId) else PydanticObjectId(str(value))


async def notify(
    *,
    user_id: Any,
    kind: NotificationKind,
    actor_id: Any | None = None,
    subject: tuple[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> Notification | None:
    """Store a notification for `user_id`, unless it is their own action, the two are blocked
    either way, or the event (`key`) was already notified; None when nothing was stored."""
    recipient = _oid(user_id)
    actor = None if actor_id is None else _oid(actor_id)
    if actor is not None:
        if actor == recipient:
            return None
        if await access.is_blocked_between(actor, recipient):
            return None
    notification = Notification(
        user_id=recipient,
        kind=kind,
        actor_id=actor,
        subject=None
        if subject is None
        else NotificationSubject(kind=subject[0], id=str(subject[1])),
        data=dict(data or {}),
        key=key,
        created_at=utcnow(),
    )
    try:
        await notification.insert()
    except DuplicateKeyError:
        return None  # this event was notified already
    return notification


# --- reading and marking ----------------------------------------------------------------------


async def unread_count(user_id: PydanticObjectId) -> UnreadCount:
    n = await Notification.get_motor_collection().count_documents(
        {"user_id": user_id, "read": False}, limit=UNREAD_COUNT_CAP + 1
    )
    return UnreadCount(
        unread_count=min(n, UNREAD_COUNT_CAP), unread_count_capped=n > UNREAD_COUNT_CAP
    )


async def _actors(rows: list[Notification]) -> dict[PydanticObjectId, str]:
    ids = list({row.actor_id for row in rows if row.actor_id is not None})
    if not ids:
        return {}
    found = (
        await User.get_motor_collection().find({"_id": {"$in": ids}}, {"name": 1}).to_list(len(ids))
    )
    return {row["_id"]: row["name"] for row in found}


def to_read(row: Notification, names: Mapping[PydanticObjectId, str]) -> NotificationRead:
    actor = None
    if row.actor_id is not None and row.actor_id in names:
        actor = ActorRef(id=str(row.actor_id), name=names[row.actor_id])
    return NotificationRead(
        id=str(row.id),
        kind=row.kind,
        actor=actor,
        subject=row.subject,
        data=row.data,
        created_at=row.created_at,
        read=row.read,
    )


async def list_for(*, user: User, unread: bool | None, page: PageParams) -> NotificationPage:
    """A user's notifications, newest first (`unread`: only unread, or only read ones)."""
    assert user.id is not None
    criteria: dict[str, Any] = {"user_id": user.id}
    if unread is not None:
        criteria["read"] = not unread
    fetched = await fetch_page(NOTIFICATIONS, criteria, page)
    names = await _actors(fetched.rows)
    counted = await unread_count(user.id)
    return NotificationPage(
        items=[to_read(row, names) for row in fetched.rows],
        total=fetched.total,
        limit=page.limit,
        offset=page.offset,
        next=fetched.next,
        **counted.model_dump(),
    )


async def mark_read(*, user: User, data: MarkRead) -> MarkedRead:
    """Mark some of the user's notifications (others' ids are ignored) or all of them read."""
    assert user.id is not None
    criteria: dict[str, Any] = {"user_id": user.id, "read": False}
    if data.ids is not None:
        criteria["_id"] = {"$in": list(dict.fromkeys(data.ids))}
    result = await Notification.get_motor_collection().update_many(
        criteria, {"$set": {"read": True}}
    )
    counted = await unread_count(user.id)
    return MarkedRead(marked=result.modified_count, **counted.model_dump())


# --- listeners --------------------------------------------------------------------------------


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


async def _friend_request_sent(*, request: Any, **_: Any) -> None:
    await notify(
        user_id=request.to_id,
        kind="friend_request",
        actor_id=request.from_id,
        subject=("friend_request", request.id),
        key=f"friend_request:{request.id}",
    )


async def _friendship_started(*, requester_id: Any, accepter_id: Any, **_: Any) -> None:
    await notify(
        user_id=requester_id,
        kind="friend_accepted",
        actor_id=accepter_id,
        subject=("user", accepter_id),
    )


async def _like_added(*, like: Any, **_: Any) -> None:
    await notify(
        user_id=like.subject_owner_id,
        kind="like",
        actor_id=like.user_id,
        subject=(like.subject_kind, like.subject_id),
        key=f"like:{like.id}",
    )


async def _comment_added(*, comment: Any, **_: Any) -> None:
    await notify(
        user_id=comment.subject_owner_id,
        kind="comment",
        actor_id=comment.user_id,
        subject=(comment.subject_kind, comment.subject_id),
        data={"comment_id": str(comment.id), "excerpt": _excerpt(comment.text)},
        key=f"comment:{comment.id}",
    )


async def _comment_deleted(*, comment: Any, **_: Any) -> None:
    await Notification.get_motor_collection().delete_one({"key": f"comment:{comment.id}"})


async def _invitation_created(*, invitation: Any, team: Any, **_: Any) -> None:
    await notify(
        user_id=invitation.user_id,
        kind="team_invitation",
        actor_id=invitation.invited_by,
        subject=("team", team.id),
        data={"invitation_id": str(invitation.id), "team_name": team.name},
        key=f"invitation:{invitation.id}",
    )


async def _badge_earned(*, user_id: Any, badge: Any, **_: Any) -> None:
    await notify(
        user_id=user_id,
        kind="badge_earned",
        subject=("badge", badge.id),
        data={"key": badge.key, "title": badge.title},
        key=f"badge:{user_id}:{badge.id}",
    )


async def _challenge_completed(
    *, user_id: Any, challenge_id: Any, challenge: Any, **_: Any
) -> None:
    await notify(
        user_id=user_id,
        kind="challenge_completed",
        subject=("challenge", challenge_id),
        data={"title": challenge.title},
        key=f"challenge:{user_id}:{challenge_id}",
    )


async def _goal_met(
    *, user_id: Any, metric: str, week: date, target: float, value: float, **_: Any
) -> None:
    await notify(
        user_id=user_id,
        kind="goal_met",
        data={"metric": metric, "week": week.isoformat(), "target": target, "value": value},
        key=f"goal:{user_id}:{metric}:{week.isoformat()}",
    )


# runs and workouts a batch (account deletion) already cleaned: their own announcement skips
_cleaned_in_batch: set[Any] = set()


async def _subject_deleted(kind: str, subject_id: Any) -> None:
    if subject_id in _cleaned_in_batch:
        _cleaned_in_batch.discard(subject_id)
        return
    await Notification.get_motor_collection().delete_many(
        {"subject.id": str(subject_id), "subject.kind": kind}
    )


async def _subjects_deleted(kind: str, subject_ids: list[Any]) -> None:
    """A batch in one `delete_many`; each item's own announcement that follows skips it."""
    await Notification.get_motor_collection().delete_many(
        {"subject.id": {"$in": [str(i) for i in subject_ids]}, "subject.kind": kind}
    )
    _cleaned_in_batch.update(subject_ids)


async def _post_deleted(*, post: Any, **_: Any) -> None:
    await _subject_deleted("post", post.id)


async def _run_deleted(*, run: Any, **_: Any) -> None:
    await _subject_deleted("run", run.id)


async def _workout_deleted(*, workout: Any, **_: Any) -> None:
    await _subject_deleted("workout", workout.id)


async def _runs_deleted(*, runs: Any, **_: Any) -> None:
    await _subjects_deleted("run", [r.id for r in runs])


async def _workouts_deleted(*, workouts: Any, **_: Any) -> None:
    await _subjects_deleted("workout", [w.id for w in workouts])


async def _user_blocked(*, blocker_id: Any, blocked_id: Any, **_: Any) -> None:
    a, b = _oid(blocker_id), _oid(blocked_id)
    await Notification.get_motor_collection().delete_many(
        {"$or": [{"actor_id": a, "user_id": b}, {"actor_id": b, "user_id": a}]}
    )


async def _user_deleted(*, user: User, **_: Any) -> None:
    collection = Notification.get_motor_collection()
    await collection.delete_many({"user_id": user.id})
    await collection.delete_many({"actor_id": user.id})


def connect() -> None:
    events.friend_request_sent.connect(_friend_request_sent)
    events.friendship_started.connect(_friendship_started)
    events.like_added.connect(_like_added)
    events.comment_added.connect(_comment_added)
    events.comment_deleted.connect(_comment_deleted)
    events.post_deleted.connect(_post_deleted)
    events.run_deleted.connect(_run_deleted)
    events.workout_deleted.connect(_workout_deleted)
    events.runs_deleted.connect(_runs_deleted)
    events.workouts_deleted.connect(_workouts_deleted)
    events.invitation_created.connect(_invitation_created)
    events.badge_earned.connect(_badge_earned)
    events.challenge_completed.connect(_challenge_completed)
    events.goal_met.connect(_goal_met)
    events.user_blocked.connect(_user_blocked)
    events.user_deleted.connect(_user_deleted)


connect()
