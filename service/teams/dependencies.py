from typing import Annotated

from fastapi import Depends, Path

from documents import Invitation, Team
from service.ids import object_id_or_404
from service.security import CurrentUser
from service.teams import service as teams


async def team_or_404(team_id: Annotated[str, Path(description="Team id")]) -> Team:
    return await teams.get(object_id_or_404(team_id, "Team"))


TeamDep = Annotated[Team, Depends(team_or_404)]


async def my_invitation_or_404(
    invitation_id: Annotated[str, Path(description="Invitation id")], user: CurrentUser
) -> Invitation:
    """The caller's own invitation; anyone else's is invisible (404)."""
    return await teams.invitation_for(
        invitation_id=object_id_or_404(invitation_id, "Invitation"), user=user
    )


MyInvitationDep = Annotated[Invitation, Depends(my_invitation_or_404)]
