from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from documents.post import SubjectKind
from service.posts.subjects import UserRef
from service.validation import NoControlMultiline, StrictModel

MAX_COMMENT_LENGTH = 2_000

CommentText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_COMMENT_LENGTH),
    NoControlMultiline,
]


class CommentCreate(StrictModel):
    text: CommentText


class CommentUpdate(StrictModel):
    text: CommentText


class SubjectRef(BaseModel):
    kind: SubjectKind
    id: str


class CommentRead(BaseModel):
    id: str
    subject: SubjectRef
    author: UserRef
    text: str
    created_at: datetime
    updated_at: datetime
