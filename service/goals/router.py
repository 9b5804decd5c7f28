from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from documents.goal import GoalMetric
from service.errors import problem_responses
from service.goals import service as goals
from service.goals.schemas import GoalHistory, GoalRead, GoalSet
from service.security import CurrentUser

router = APIRouter(tags=["goals"])

MetricPath = Annotated[
    GoalMetric,
    Path(description="runs | workouts | activities | distance_km | duration_min | score"),
]


@router.get(
    "/users/me/goals",
    summary="My weekly goals",
    response_model=list[GoalRead],
    responses=problem_responses(401),
)
async def list_goals(user: CurrentUser) -> list[GoalRead]:
    """Each goal in force this ISO week (Monday 00:00 UTC) with this week's value, target,
    percent and whether it is met."""
    return await goals.current_goals(user=user)


@router.get(
    "/users/me/goals/history",
    summary="My weekly goals, week by week",
    response_model=GoalHistory,
    responses=problem_responses(401, 422),
)
async def goal_history(
    user: CurrentUser,
    weeks: Annotated[int, Query(ge=1, le=goals.MAX_HISTORY_WEEKS, description="Weeks back")] = 12,
) -> GoalHistory:
    """Per week, newest first, each goal's target then in force, its value and whether it was
    met; plus each current goal's streak of consecutive met weeks."""
    return await goals.history(user=user, weeks=weeks)


@router.put(
    "/users/me/goals/{metric}",
    summary="Set a weekly goal",
    response_model=GoalRead,
    responses=problem_responses(401, 422),
)
async def set_goal(user: CurrentUser, metric: MetricPath, data: GoalSet) -> GoalRead:
    """Set the weekly target of a metric; it applies from the current ISO week (a change
    mid-week applies to this week too)."""
    return await goals.set_target(user=user, metric=metric, target=data.target)


@router.delete(
    "/users/me/goals/{metric}",
    summary="End a weekly goal",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422),
)
async def end_goal(user: CurrentUser, metric: MetricPath) -> Response:
    """End a goal before the current week: past weeks stay in the history, XP it earned this
    week is withdrawn."""
    await goals.end_goal(user=user, metric=metric)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
