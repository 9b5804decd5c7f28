"""The XP ledger: one entry per source of experience points, so nothing counts twice."""

from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow

XpKind = Literal["run", "workout", "badge", "challenge", "goal"]


class XpEntry(Document):
    """XP credited to a user for one source.

    The id is the source's natural key (`service.xp.ledger.entry_id`): "run:<run id>",
    "workout:<id>", "badge:<user>:<badge>", "challenge:<challenge>:<user>",
    "goal:<goal>:<week>". Unique by construction, so a source is credited at most once;
    `users.xp` is the sum of a user's entries, moved with $inc by every change of one.
    """

    id: str  # type: ignore[assignment]
    user_id: PydanticObjectId
    kind: XpKind
    source_id: str
    amount: int
    # when the source happened (a run's start, a badge's award): the ledger's order and the
    # window an `xp` challenge counts in
    at: datetime
    formula_version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "xp_entries"
        use_revision = False
        indexes = [  # noqa: RUF012
            # the ledger, newest first
            IndexModel(
                [("user_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
                name="user_at",
            ),
        ]
