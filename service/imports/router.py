from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile, status

from documents.social import Visibility
from service.errors import PROBLEM_JSON, problem_responses
from service.imports import service as imports
from service.imports.schemas import ImportConflictProblem, ImportResult
from service.runs.schemas import DurationS, IdStr, Notes, UtcDateTime
from service.security import CurrentUser, SettingsDep

router = APIRouter(tags=["runs"])

IMPORT_409: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ImportConflictProblem,
        "description": "You already imported this file (`run_ids`: the runs it made), or an "
        "activity overlaps one of your runs in time (`conflicting_run_id`)",
        "content": {
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ImportConflictProblem"}}
        },
    }
}


@router.post(
    imports.IMPORT_PATH,
    summary="Import an activity file",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResult,
    responses={**problem_responses(401, 403, 404, 413, 422), **IMPORT_409},
)
async def import_activity_file(
    user: CurrentUser,
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(description="GPX 1.0/1.1, TCX or FIT, optionally gzip-compressed (by content)"),
    ],
    team_id: Annotated[
        IdStr | None, Form(description="A team you belong to; default: your city's team")
    ] = None,
    notes: Annotated[Notes | None, Form(description="Notes for every run of the file")] = None,
    duration_s: Annotated[
        DurationS | None, Form(description="Moving time, only for a file without times")
    ] = None,
    started_at: Annotated[
        UtcDateTime | None, Form(description="Start (ISO 8601), only for a file without times")
    ] = None,
    visibility: Annotated[
        Visibility | None,
        Form(description="public, friends or private; default: your default_visibility"),
    ] = None,
    hide_route: Annotated[
        bool, Form(description="Show the routes to nobody but you (splits stay visible)")
    ] = False,
) -> ImportResult:
    """Turn a watch's activity file into runs (one per activity), scored like typed-in runs.

    All or nothing: every activity must pass the rules of POST /runs, or nothing is stored.
    """
    content = await imports.read_upload(file, max_bytes=settings.max_upload_bytes)
    options = imports.ImportOptions(
        team_id=team_id,
        notes=notes,
        duration_s=duration_s,
        started_at=started_at,
        visibility=visibility or user.default_visibility,
        hide_route=hide_route,
    )
    imported = await imports.import_file(
        user=user,
        content=content,
        options=options,
        max_decompressed_bytes=settings.max_decompressed_bytes,
    )
    return ImportResult(runs=imported.runs, warnings=imported.warnings)
