"""Print a leaderboard's aggregation pipeline, exactly as the API builds it, as Extended JSON.

    python -m scripts.pipelines team --period week                      # every team, this week
    python -m scripts.pipelines team --period month --at 2026-11-30 --team-id <id>
    python -m scripts.pipelines city --period custom --from 2026-11-01 --to 2026-11-15
    python -m scripts.pipelines indexes                                 # the declared indexes

The mongosh recipes (`scripts/mongosh/team_totals.js`, `city_totals.js`, `indexes.js`) load this
output with `EJSON.parse`, so the shell runs the very pipeline the API runs and the two cannot
drift. Dates come out as {"$date": ...}, ids as {"$oid": ...} (relaxed Extended JSON v2).
`--team-id`/`--city-id` on the team and city boards append one `$match` on the row's `_id` to the
API's pipeline, which is otherwise unchanged. Needs no database.
"""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from beanie import PydanticObjectId
from bson import json_util
from bson.errors import InvalidId
from bson.json_util import JSONMode, JSONOptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents import DOCUMENTS
from documents.clock import utcnow
from service.errors import Unprocessable
from service.leaderboards import periods, pipelines
from service.leaderboards.periods import DEFAULT_PERIOD

app = typer.Typer(add_completion=False, help=__doc__)

EJSON = JSONOptions(json_mode=JSONMode.RELAXED, tz_aware=True)


class Board(StrEnum):
    team = "team"
    city = "city"
    user = "user"
    member = "member"
    indexes = "indexes"


def _object_id(value: str | None, option: str) -> PydanticObjectId | None:
    if value is None:
        return None
    try:
        return PydanticObjectId(value)
    except (InvalidId, TypeError) as exc:
        raise typer.BadParameter(f"{value!r} is not an ObjectId", param_hint=option) from exc


def declared_indexes() -> list[dict[str, Any]]:
    """Every index the documents declare (`Settings.indexes`), as createIndexes would get it."""
    declared = []
    for document in DOCUMENTS:
        for model in getattr(document.Settings, "indexes", []):
            spec = dict(model.document)
            declared.append(
                {
                    "collection": document.Settings.name,
                    "name": spec.pop("name"),
                    "key": dict(spec.pop("key")),
                    "options": spec,
                }
            )
    return declared


def board_pipeline(
    board: Board,
    period: periods.Period,
    *,
    team_id: PydanticObjectId | None = None,
    city_id: PydanticObjectId | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The API's pipeline for `board` (see service/leaderboards/service.py), plus an optional
    final `$match` on one team or city."""
    if board is Board.team:
        pipeline = pipelines.team_totals(period, kind=kind)
        return [*pipeline, {"$match": {"_id": team_id}}] if team_id else pipeline
    if board is Board.city:
        pipeline = pipelines.city_totals(period)
        return [*pipeline, {"$match": {"_id": city_id}}] if city_id else pipeline
    if board is Board.user:
        return pipelines.user_totals(period, city_id=city_id)
    if board is Board.member:
        if team_id is None:
            raise typer.BadParameter("the member board needs --team-id", param_hint="--team-id")
        return pipelines.member_totals(team_id, period)
    raise ValueError(board)


def dumps(value: Any) -> str:
    return json_util.dumps(value, json_options=EJSON, indent=2)


@app.command()
def main(
    board: Board = typer.Argument(..., help="team, city, user, member, or indexes"),
    period: str = typer.Option(DEFAULT_PERIOD, help="all, day, week, month, year or custom"),
    at: str | None = typer.Option(None, help="A day inside the period (YYYY-MM-DD); default today"),
    from_: str | None = typer.Option(None, "--from", help="custom only: first day (inclusive)"),
    to: str | None = typer.Option(None, help="custom only: end day (exclusive)"),
    team_id: str | None = typer.Option(None, help="team: only this team; member: whose board"),
    city_id: str | None = typer.Option(None, help="city: only this city; user: runs credited"),
    kind: str | None = typer.Option(None, help="team board: city or custom teams only"),
) -> None:
    """Print the pipeline of a board (or the declared indexes) as Extended JSON."""
    if board is Board.indexes:
        typer.echo(dumps(declared_indexes()))
        return
    try:
        days = {
            name: date.fromisoformat(v) if v else None
            for name, v in (("at", at), ("from_", from_), ("to", to))
        }
    except ValueError as exc:
        raise typer.BadParameter(f"dates are YYYY-MM-DD ({exc})") from exc
    try:
        resolved = periods.resolve(period, today=utcnow().date(), **days)  # type: ignore[arg-type]
    except Unprocessable as exc:
        raise typer.BadParameter(exc.detail, param_hint="--period") from exc
    if kind not in (None, "city", "custom"):
        raise typer.BadParameter("kind is city or custom", param_hint="--kind")
    pipeline = board_pipeline(
        board,
        resolved,
        team_id=_object_id(team_id, "--team-id"),
        city_id=_object_id(city_id, "--city-id"),
        kind=kind,
    )
    typer.echo(dumps(pipeline))


if __name__ == "__main__":
    app()
