from typing import Annotated

from fastapi import Depends, Path

from documents import Team
from service.errors import NotFound
from service.ids import object_id_or_404


async def team_or_404(team_id: Annotated[str, Path(description="Team id")]) -> Team:
    team = await Team.get(object_id_or_404(team_id, "Team"))
    if team is None:
        raise NotFound(f"Team {team_id} not found")
    return team


TeamDep = Annotated[Team, Depends(team_or_404)]
