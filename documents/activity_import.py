from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from documents.clock import utcnow


class ActivityImport(Document):
    """One activity file a user imported: id is "<user_id>:<sha256 of the decompressed file>".

    Inserted (unique _id) before the file's runs are stored, with their pre-generated ids, so of
    two identical uploads exactly one stores runs; the other is told which runs the file made.
    A claim whose runs are all gone (deleted since) no longer blocks the file, and neither does
    one whose upload stopped half-way (`stored_at` still None after STALE_IMPORT_CLAIM).
    """

    id: str  # type: ignore[assignment]
    user_id: PydanticObjectId
    run_ids: list[PydanticObjectId]  # at most MAX_ACTIVITIES_PER_FILE
    created_at: datetime = Field(default_factory=utcnow)
    stored_at: datetime | None = None  # set once every run of the file is stored and counted

    class Settings:
        name = "activity_imports"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("user_id", ASCENDING)], name="user"),
        ]
