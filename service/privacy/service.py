"""Reading and replacing a user's privacy zones (stored on the user: at most MAX_ZONES)."""

from __future__ import annotations

from documents import User
from documents.user import PrivacyZone
from service.errors import NotFound
from service.privacy.schemas import PrivacyZoneIn, PrivacyZoneRead


def to_read(user: User) -> list[PrivacyZoneRead]:
    return [PrivacyZoneRead(center=z.center, radius_m=z.radius_m) for z in user.privacy_zones]


async def replace(*, user: User, zones: list[PrivacyZoneIn]) -> list[PrivacyZoneRead]:
    """Store `zones` as the user's privacy zones (all of them: [] removes every zone); they
    apply at once to every run, past and future."""
    stored = [PrivacyZone(center=z.center, radius_m=z.radius_m) for z in zones]
    # one field written with $set: a concurrent profile edit (name, bio) is not overwritten
    result = await User.get_motor_collection().update_one(
        {"_id": user.id}, {"$set": {"privacy_zones": [z.model_dump() for z in stored]}}
    )
    if not result.matched_count:  # deleted meanwhile
        raise NotFound("User not found")
    user.privacy_zones = stored
    return to_read(user)
