"""Reports (service.reports): a user flags a post, a comment or a user for the admins.

At most one open report per reporter and subject: `open_key` ("<reporter>|<kind>|<id>") is set
while the report is open (unique where it is a string) and nulled when it is resolved, so the
reporter may report the same thing again later.
"""

from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow

ReportKind = Literal["post", "comment", "user"]
ContextKind = Literal["post", "run", "workout"]
ReportStatus = Literal["open", "resolved"]
ReportAction = Literal["dismiss", "remove"]


class ReportSubject(BaseModel):
    kind: ReportKind
    id: PydanticObjectId


class ReportContext(BaseModel):
    """What a reported comment is on: deleting that deletes the comment (and resolves)."""

    kind: ContextKind
    id: PydanticObjectId


def open_key(reporter_id: PydanticObjectId, kind: str, subject_id: PydanticObjectId) -> str:
    return f"{reporter_id}|{kind}|{subject_id}"


class Report(Document):
    reporter_id: PydanticObjectId
    subject: ReportSubject
    subject_owner_id: PydanticObjectId  # the author of the post or comment, or the user
    context: ReportContext | None = None  # a comment's post, run or workout
    reason: str  # 1-1,000 characters
    status: ReportStatus = "open"
    open_key: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    resolved_by: PydanticObjectId | None = None  # null: resolved because the content went
    action: ReportAction | None = None

    class Settings:
        name = "reports"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("open_key", ASCENDING)],
                name="open_key_unique",
                unique=True,
                partialFilterExpression={"open_key": {"$type": "string"}},
            ),
            # the admins' queue: a status, newest first
            IndexModel(
                [("status", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="status_created",
            ),
            # removing content resolves every open report on it; deletions of users
            IndexModel(
                [("subject.id", ASCENDING), ("subject.kind", ASCENDING), ("status", ASCENDING)],
                name="subject",
            ),
            # a post, run or workout deleted takes its comments along: their open reports resolve
            IndexModel([("context.id", ASCENDING), ("status", ASCENDING)], name="context"),
            IndexModel([("reporter_id", ASCENDING)], name="reporter"),
            IndexModel([("subject_owner_id", ASCENDING)], name="subject_owner"),
        ]
