from __future__ import annotations

from pydantic import BaseModel, Field

from service.errors import Problem
from service.runs.schemas import RunDetail


class ImportResult(BaseModel):
    """The runs an activity file became (one per activity, in the file's order)."""

    runs: list[RunDetail]
    warnings: list[str] = Field(
        description="What was dropped or repaired on the way (bad points, clock jumps, ...)"
    )


class ImportConflictProblem(Problem):
    """409 on POST /runs/import: the file was already imported (`run_ids`), or one of its
    activities overlaps a stored run of yours (`conflicting_run_id`)."""

    run_ids: list[str] | None = Field(
        default=None, description="The runs this same file made when it was imported before"
    )
    conflicting_run_id: str | None = Field(
        default=None, description="The stored run of yours that an activity overlaps in time"
    )
