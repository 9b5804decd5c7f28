"""Path ids: a malformed id is simply an id that names nothing (404), never a 500."""

from beanie import PydanticObjectId
from bson import ObjectId

from service.errors import NotFound


def object_id_or_404(value: str, what: str) -> PydanticObjectId:
    if not ObjectId.is_valid(value) or len(value) != 24:
        raise NotFound(f"{what} {value!r} not found")
    return PydanticObjectId(value)
