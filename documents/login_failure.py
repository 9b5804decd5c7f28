from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel


class Attempt(BaseModel):
    id: PydanticObjectId  # so one attempt can be taken back without touching its twin in time
    at: datetime


class LoginFailure(Document):
    """The recent failed logins of one key: an (account, client IP) pair or a whole account.

    `_id` is the key ("user:<id>|ip:<address>" or "user:<id>"; "unknown:<digest>" for names
    without an account). `failures` holds the newest first and never more than the key's limit
    (LOGIN_MAX_FAILURES for a pair, LOGIN_ACCOUNT_MAX_FAILURES for an account): one conditional
    `$push` claims an attempt only while the limit-th newest failure is outside the window, so
    claiming is atomic on the server however many attempts arrive at once.
    """

    id: str  # type: ignore[assignment]
    account: str
    failures: list[Attempt] = Field(default_factory=list)
    # the newest failure + the window: nothing about the key matters after that
    expires_at: datetime

    class Settings:
        name = "login_failures"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("account", ASCENDING)], name="account"),  # forgetting an account
            IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0),
        ]
