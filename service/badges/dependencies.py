from typing import Annotated

from fastapi import Depends, Path

from documents import Badge
from service.badges import service as badges
from service.ids import object_id_or_404


async def badge_or_404(badge_id: Annotated[str, Path(description="Badge id")]) -> Badge:
    return await badges.get(object_id_or_404(badge_id, "Badge"))


BadgeDep = Annotated[Badge, Depends(badge_or_404)]
