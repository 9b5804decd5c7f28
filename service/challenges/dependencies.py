from typing import Annotated

from fastapi import Depends, Path

from documents.challenge import Challenge
from service.challenges import service as challenges
from service.ids import object_id_or_404


async def challenge_or_404(
    challenge_id: Annotated[str, Path(description="Challenge id")],
) -> Challenge:
    return await challenges.get(object_id_or_404(challenge_id, "Challenge"))


ChallengeDep = Annotated[Challenge, Depends(challenge_or_404)]
