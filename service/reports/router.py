from typing import Annotated

from fastapi import APIRouter, Query, status

from documents.report import ReportStatus
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.reports import service as reports
from service.reports.dependencies import ReportDep
from service.reports.schemas import ReportCreate, ReportRead, ReportResolve
from service.security import AdminUser, CurrentUser, SettingsDep

router = APIRouter(prefix="/reports", tags=["reports"])


@router.post(
    "",
    summary="Report a post, comment or user",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportRead,
    responses=problem_responses(401, 404, 409, 422, 429),
)
async def create_report(data: ReportCreate, user: CurrentUser, settings: SettingsDep) -> ReportRead:
    """Flag something you can see for the admins (one open report per subject; not your own)."""
    report = await reports.create(data=data, reporter=user, settings=settings)
    return await reports.read(report)


@router.get(
    "",
    summary="Reports (admin)",
    response_model=Page[ReportRead],
    responses=problem_responses(401, 403, 422),
)
async def list_reports(
    admin: AdminUser,
    page: PageDep,
    status: Annotated[ReportStatus, Query(description="open | resolved")] = "open",
) -> Page[ReportRead]:
    """Reports of one status, newest first."""
    return await reports.list_reports(status=status, page=page)


# AdminUser comes first: callers without the right get 401/403 before the report is loaded
@router.post(
    "/{report_id}/resolve",
    summary="Resolve a report (admin)",
    response_model=ReportRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def resolve_report(admin: AdminUser, report: ReportDep, data: ReportResolve) -> ReportRead:
    """Dismiss it, or remove the post, comment or account it is about (which resolves the
    other open reports on it); 409 when it is already resolved."""
    resolved = await reports.resolve(report=report, data=data, admin=admin)
    return await reports.read(resolved)
