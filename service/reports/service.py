"""Reports: a user flags a post, a comment or a user; an admin dismisses it or removes the content.

- The subject must exist and be visible to the reporter (else 404, as for any other read);
  one's own things cannot be reported (422). At most one open report per reporter and subject
  (409: the unique `open_key`); MAX_REPORTS_PER_DAY a UTC day per reporter (429; admins exempt).
- Resolving claims the open report first (compare-and-set on `status`: of two admins resolving
  at once, one gets 409). `remove` then deletes the content through its owner's service
  (service.posts / service.comments delete, the account deletion for a user) and resolves every
  other open report on it; if the removal is refused (the last admin: 409) the claim is undone.
- Content deleted otherwise (its author, a cascade announcing post_deleted / comment_deleted;
  comments going with their post, run or workout: the report's `context`) resolves its open
  reports with action `remove` and no admin. Deleting an account removes
  the reports it made and those about it or its content.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from documents import Comment, Post, Report, Run, User, Workout
from documents.clock import utcnow
from documents.report import ReportAction, ReportContext, ReportStatus, open_key
from service import events
from service.accounts import service as accounts
from service.comments import service as comments
from service.errors import AppError, Conflict, NotFound, Unprocessable
from service.pagination import Page, PageParams, fetch_page
from service.posts import service as posts
from service.posts import subjects
from service.queries import DESC, QueryShape
from service.quotas import claim as claim_quota
from service.reports.schemas import (
    ReportCreate,
    ReportRead,
    ReportResolve,
    ReportSubjectRead,
    UserRef,
)
from service.settings import Settings

log = logging.getLogger("service.reports")

REPORTS_BY_STATUS = QueryShape(
    "reports_by_status",
    Report,
    equality=("status",),
    sort=(("created_at", DESC),),
    index="status_created",
)
# the admin whose `remove` is deleting content right now: the deletion's hooks credit them
_removing_admin: ContextVar[PydanticObjectId | None] = ContextVar("removing_admin", default=None)


async def get(report_id: PydanticObjectId) -> Report:
    report = await Report.get(report_id)
    if report is None:
        raise NotFound(f"Report {report_id} not found")
    return report


# --- reading ----------------------------------------------------------------------------------


async def _names(ids: Iterable[PydanticObjectId | None]) -> dict[PydanticObjectId, str]:
    wanted = list({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = User.get_motor_collection().find({"_id": {"$in": wanted}}, {"name": 1})
    return {row["_id"]: row["name"] async for row in rows}


def _ref(names: dict[PydanticObjectId, str], user_id: PydanticObjectId) -> UserRef:
    return UserRef(id=str(user_id), name=names.get(user_id, "(deleted user)"))


async def to_reads(reports: list[Report]) -> list[ReportRead]:
    """A page of reports with the names of reporters, owners and resolvers (one `$in` read)."""
    names = await _names(
        i for r in reports for i in (r.reporter_id, r.subject_owner_id, r.resolved_by)
    )
    return [
        ReportRead(
            id=str(r.id),
            reporter=_ref(names, r.reporter_id),
            subject=ReportSubjectRead(kind=r.subject.kind, id=str(r.subject.id)),
            subject_owner=_ref(names, r.subject_owner_id),
            context=None
            if r.context is None
            else ReportSubjectRead(kind=r.context.kind, id=str(r.context.id)),
            reason=r.reason,
            status=r.status,
            created_at=r.created_at,
            resolved_at=r.resolved_at,
            resolved_by=None if r.resolved_by is None else _ref(names, r.resolved_by),
            action=r.action,
        )
        for r in reports
    ]


async def read(report: Report) -> ReportRead:
    return (await to_reads([report]))[0]


async def list_reports(*, status: ReportStatus, page: PageParams) -> Page[ReportRead]:
    fetched = await fetch_page(REPORTS_BY_STATUS, {"status": status}, page)
    return fetched.page(await to_reads(fetched.rows))


# --- reporting --------------------------------------------------------------------------------


async def _owner_of(
    kind: str, subject_id: PydanticObjectId, reporter: User
) -> tuple[PydanticObjectId, ReportContext | None]:
    """The owner of a subject the reporter may see (and a comment's context), else NotFound
    (as for any read)."""
    if kind == "user":
        user = await User.get(subject_id)
        if user is None:
            raise NotFound(f"User {subject_id} not found")
        assert user.id is not None
        return user.id, None
    if kind == "post":
        return (await subjects.visible("post", str(subject_id), reporter)).owner_id, None
    comment = await Comment.get(subject_id)
    if comment is None:
        raise NotFound("Comment not found")
    try:  # a comment is visible with its subject
        await subjects.visible(comment.subject_kind, str(comment.subject_id), reporter)
    except NotFound:
        raise NotFound("Comment not found") from None
    return comment.user_id, ReportContext(kind=comment.subject_kind, id=comment.subject_id)


async def create(*, data: ReportCreate, reporter: User, settings: Settings) -> Report:
    assert reporter.id is not None
    kind, subject_id = data.subject.kind, data.subject.id
    owner_id, context = await _owner_of(kind, subject_id, reporter)
    if owner_id == reporter.id:
        what = "yourself" if kind == "user" else f"your own {kind}"
        raise Unprocessable(f"You cannot report {what}", loc=("body", "subject"))
    key = open_key(reporter.id, kind, subject_id)
    duplicate = Conflict(f"You already reported this {kind}; the report is open")
    if await Report.get_motor_collection().find_one({"open_key": key}, {"_id": 1}):
        raise duplicate
    if reporter.role != "admin":
        cap = settings.max_reports_per_day
        await claim_quota(
            action="reports",
            user_id=reporter.id,
            cap=cap,
            detail=f"You sent {cap} reports today (UTC), the most allowed; try again tomorrow",
        )
    report = Report(
        reporter_id=reporter.id,
        subject=data.subject,
        subject_owner_id=owner_id,
        context=context,
        reason=data.reason,
        open_key=key,
        created_at=utcnow(),
    )
    try:
        await report.insert()
    except DuplicateKeyError:  # a parallel report of the same subject by the same reporter
        raise duplicate from None
    return report


# --- resolving --------------------------------------------------------------------------------


async def _remove_post(post_id: PydanticObjectId, admin: User) -> None:
    post = await Post.get(post_id)
    if post is not None:
        await posts.delete(post=post, actor=admin)


async def _remove_comment(comment_id: PydanticObjectId, admin: User) -> None:
    comment = await Comment.get(comment_id)
    if comment is None:
        return
    subject = await subjects.load(comment.subject_kind, comment.subject_id)
    await comments.delete(comment=comment, subject=subject, actor=admin)


async def _remove_user(user_id: PydanticObjectId, admin: User) -> None:
    user = await User.get(user_id)
    if user is not None:
        await accounts.delete(user=user)


REMOVERS = {"post": _remove_post, "comment": _remove_comment, "user": _remove_user}


def _resolution(action: ReportAction, admin_id: PydanticObjectId | None) -> dict[str, Any]:
    return {
        "status": "resolved",
        "open_key": None,
        "resolved_at": utcnow(),
        "resolved_by": admin_id,
        "action": action,
    }


async def resolve(*, report: Report, data: ReportResolve, admin: User) -> Report:
    """Dismiss the report, or remove what it is about (and resolve its other open reports)."""
    collection = Report.get_motor_collection()
    raw = await collection.find_one_and_update(
        {"_id": report.id, "status": "open"},
        {"$set": _resolution(data.action, admin.id)},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        raise Conflict("This report is already resolved")
    resolved = Report.model_validate(raw)
    if data.action == "dismiss":
        return resolved
    kind, subject_id = report.subject.kind, report.subject.id
    token = _removing_admin.set(admin.id)
    try:
        await REMOVERS[kind](subject_id, admin)
    except NotFound:
        pass  # gone meanwhile: removed all the same
    except AppError:
        await _undo_claim(report)
        raise
    finally:
        _removing_admin.reset(token)
    await _resolve_open_about(kind, subject_id, admin.id)
    return resolved


async def _undo_claim(report: Report) -> None:
    reopened = {
        "status": "open",
        "open_key": report.open_key,
        "resolved_at": None,
        "resolved_by": None,
        "action": None,
    }
    try:
        await Report.get_motor_collection().update_one({"_id": report.id}, {"$set": reopened})
    except DuplicateKeyError:  # the reporter reported it again meanwhile: that one is open
        log.info("Report %s stays resolved: its reporter reported the subject again", report.id)


async def _resolve_open_about(
    kind: str, subject_id: PydanticObjectId, admin_id: PydanticObjectId | None
) -> None:
    await Report.get_motor_collection().update_many(
        {"subject.id": subject_id, "subject.kind": kind, "status": "open"},
        {"$set": _resolution("remove", admin_id)},
    )


# --- listeners --------------------------------------------------------------------------------


# runs and workouts a batch (account deletion) already handled: their own announcement skips
_done_in_batch: set[Any] = set()


async def _resolve_comments_on(context_id: PydanticObjectId | None) -> None:
    """Comments go with their post, run or workout (without comment_deleted each)."""
    if context_id in _done_in_batch:
        _done_in_batch.discard(context_id)
        return
    await Report.get_motor_collection().update_many(
        {"context.id": context_id, "status": "open"},
        {"$set": _resolution("remove", _removing_admin.get())},
    )


async def _resolve_comments_on_many(context_ids: list[Any]) -> None:
    """A batch in one `update_many`; each item's own announcement that follows skips it."""
    await Report.get_motor_collection().update_many(
        {"context.id": {"$in": context_ids}, "status": "open"},
        {"$set": _resolution("remove", _removing_admin.get())},
    )
    _done_in_batch.update(context_ids)


async def _post_deleted(*, post: Post, **_: Any) -> None:
    assert post.id is not None
    await _resolve_open_about("post", post.id, _removing_admin.get())
    await _resolve_comments_on(post.id)


async def _run_deleted(*, run: Run, **_: Any) -> None:
    await _resolve_comments_on(run.id)


async def _workout_deleted(*, workout: Workout, **_: Any) -> None:
    await _resolve_comments_on(workout.id)


async def _runs_deleted(*, runs: Any, **_: Any) -> None:
    await _resolve_comments_on_many([r.id for r in runs])


async def _workouts_deleted(*, workouts: Any, **_: Any) -> None:
    await _resolve_comments_on_many([w.id for w in workouts])


async def _comment_deleted(*, comment: Comment, **_: Any) -> None:
    assert comment.id is not None
    await _resolve_open_about("comment", comment.id, _removing_admin.get())


async def _user_deleted(*, user: User, **_: Any) -> None:
    collection = Report.get_motor_collection()
    await collection.delete_many({"reporter_id": user.id})
    await collection.delete_many({"subject_owner_id": user.id})


def connect() -> None:
    events.post_deleted.connect(_post_deleted)
    events.comment_deleted.connect(_comment_deleted)
    events.run_deleted.connect(_run_deleted)
    events.workout_deleted.connect(_workout_deleted)
    events.runs_deleted.connect(_runs_deleted)
    events.workouts_deleted.connect(_workouts_deleted)
    events.user_deleted.connect(_user_deleted)


connect()
