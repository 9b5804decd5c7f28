from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from documents.report import ReportAction, ReportStatus, ReportSubject
from service.validation import NoControlMultiline, StrictModel

MAX_REASON = 1000

Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON),
    NoControlMultiline,
]


class ReportCreate(StrictModel):
    subject: ReportSubject = Field(description="{kind: post|comment|user, id}")
    reason: Reason = Field(description=f"Why (1-{MAX_REASON:,} characters)")


class ReportResolve(StrictModel):
    action: ReportAction = Field(
        description="dismiss: keep the content; remove: delete the post, comment or account"
    )


class UserRef(BaseModel):
    id: str
    name: str


class ReportSubjectRead(BaseModel):
    kind: str
    id: str


class ReportRead(BaseModel):
    id: str
    reporter: UserRef
    subject: ReportSubjectRead
    subject_owner: UserRef = Field(description="The author of the post or comment, or the user")
    context: ReportSubjectRead | None = Field(
        description="A reported comment's post, run or workout; null for posts and users"
    )
    reason: str
    status: ReportStatus
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: UserRef | None = Field(
        description="The admin who resolved it; null while open, or when it was resolved "
        "because the content was deleted"
    )
    action: ReportAction | None
