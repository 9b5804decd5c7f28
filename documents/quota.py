from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel


class DailyQuota(Document):
    """How often one user did one capped thing on one UTC day; id is "<action>:<user>:<day>".

    Claimed with one conditional `$inc` upsert, so a burst of parallel requests cannot pass
    the cap together; and unlike a count of the action's own documents, deleting those (a
    team takes its invitations with it) gives nothing back.
    """

    id: str  # type: ignore[assignment]
    used: int = 0
    expires_at: datetime  # the end of its day: housekeeping only, the day is in the id

    class Settings:
        name = "daily_quotas"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("expires_at", ASCENDING)], name="expires_ttl", expireAfterSeconds=0),
        ]
