from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from documents.clock import utcnow


class LoginFailure(Document):
    """One failed login for an account key (the identifier as typed, normalised)."""

    account: str
    at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "login_failures"
        indexes = [  # noqa: RUF012
            IndexModel([("account", ASCENDING), ("at", ASCENDING)], name="account_at"),
            # housekeeping only: the login window itself is checked in queries
            IndexModel([("at", ASCENDING)], name="at_ttl", expireAfterSeconds=86400),
        ]
