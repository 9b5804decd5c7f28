from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from service import ratelimit
from service.errors import problem_responses
from service.export import contributors  # noqa: F401  (registers the built-in files)
from service.export import service as export
from service.security import CurrentUser, SettingsDep

router = APIRouter(prefix="/users", tags=["export"])

_ZIP = {
    "description": "A zip archive (streamed): account.json, runs.json, workouts.json, "
    "records.json, routes/<run_id>.gpx, and the files later features add",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
}


@router.get(
    "/me/export",
    summary="Download all my data (zip)",
    response_class=StreamingResponse,
    responses={200: _ZIP, **problem_responses(401, 429)},
)
async def export_me(
    request: Request, user: CurrentUser, settings: SettingsDep
) -> StreamingResponse:
    """Everything you made, as a zip streamed as it is written (RATE_LIMIT_EXPORT per user)."""
    await ratelimit.limit_exports(request, user_id=str(user.id))
    context = export.export_context(user=user, settings=settings)
    return StreamingResponse(
        export.archive(context),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename(context)}"',
            # a personal archive: never kept by a shared cache
            "Cache-Control": "no-store",
        },
    )
