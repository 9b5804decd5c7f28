"""Time as MongoDB stores it: UTC, to the millisecond (BSON dates keep no microseconds).

Everything written goes through these, so a document reads back exactly as it was returned.
This is the service's one clock: nothing else reads the system time, so tests move it (time-machine,
`CHALLENGE_RUN_NOW`) instead of waiting for a weekday or a midnight.
"""

from datetime import UTC, date, datetime


def as_stored(moment: datetime) -> datetime:
    """`moment` in UTC at BSON precision; a naive datetime is taken as UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def utcnow() -> datetime:
    """Now, as it will be stored."""
    return as_stored(datetime.now(UTC))


def today() -> date:
    """Today's date in UTC."""
    return datetime.now(UTC).date()
