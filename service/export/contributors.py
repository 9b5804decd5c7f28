"""The export's built-in files: account.json, runs.json, workouts.json, records.json and
routes/<run_id>.gpx. Later features register their own contributors from their own modules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from documents import Exercise, Run, RunRoute, Workout
from service.accounts import service as accounts
from service.export.registry import ExportContext, ExportFile, register
from service.export.service import json_array_file, json_file, plain, read_batches
from service.records import service as records
from service.runs.gpx import route_gpx

# oldest first; served backwards by the (user_id, started_at desc, _id desc) indexes
OLDEST_FIRST = (("started_at", 1), ("_id", 1))
USER_STARTED_INDEX = "user_started"
# internal bookkeeping, not the user's data: the compare-and-set counter, the score-bucket day
RUN_INTERNALS = ("revision", "day")
WORKOUT_INTERNALS = ("revision", "day")


@register
async def account(context: ExportContext) -> AsyncIterator[ExportFile]:
    """account.json: the profile as GET /users/me shows it (no password hash, no token version)."""
    me = await accounts.read_me(context.user)
    yield json_file("account.json", me.model_dump(mode="json"))


def route_path(run_id: Any) -> str:
    return f"routes/{run_id}.gpx"


@register
async def runs(context: ExportContext) -> AsyncIterator[ExportFile]:
    """runs.json: every run, oldest first, with `route_file` naming its GPX in the archive."""

    async def items() -> AsyncIterator[dict[str, Any]]:
        async for batch in read_batches(
            context,
            Run,
            {"user_id": context.user.id},
            order=OLDEST_FIRST,
            hint=USER_STARTED_INDEX,
        ):
            for document in batch:
                item = plain(document, drop=RUN_INTERNALS)
                item["route_file"] = route_path(document["_id"]) if item.get("has_route") else None
                yield item

    yield json_array_file("runs.json", items())


async def _exercise_names(workouts: list[dict[str, Any]]) -> dict[Any, str]:
    ids = list({s["exercise_id"] for w in workouts for s in w.get("sets", [])})
    if not ids:
        return {}
    # at most batch_size x 200 sets, usually a few dozen distinct exercises: one _id lookup
    return {
        e["_id"]: e["name"]
        async for e in Exercise.get_motor_collection().find({"_id": {"$in": ids}}, {"name": 1})
    }


@register
async def workouts(context: ExportContext) -> AsyncIterator[ExportFile]:
    """workouts.json: every workout, oldest first; each set names its exercise."""

    async def items() -> AsyncIterator[dict[str, Any]]:
        async for batch in read_batches(
            context,
            Workout,
            {"user_id": context.user.id},
            order=OLDEST_FIRST,
            hint=USER_STARTED_INDEX,
        ):
            names = await _exercise_names(batch)
            for document in batch:
                item = plain(document, drop=WORKOUT_INTERNALS)
                item["sets"] = [
                    {**s, "exercise_name": names.get(s["exercise_id"])}
                    for s in document.get("sets", [])
                ]
                yield item

    yield json_array_file("workouts.json", items())


@register
async def personal_records(context: ExportContext) -> AsyncIterator[ExportFile]:
    """records.json: the personal records, as GET /users/{id}/records shows them."""
    read = await records.read(user=context.user)
    yield json_file("records.json", read.model_dump(mode="json"))


async def _whole(data: bytes) -> AsyncIterator[bytes]:
    yield data


@register
async def routes(context: ExportContext) -> AsyncIterator[ExportFile]:
    """routes/<run_id>.gpx for every run with a route: one route in memory at a time."""
    routes_collection = RunRoute.get_motor_collection()
    async for batch in read_batches(
        context,
        Run,
        {"user_id": context.user.id, "has_route": True},
        order=OLDEST_FIRST,
        hint=USER_STARTED_INDEX,
    ):
        for document in batch:
            route = await routes_collection.find_one({"_id": document["_id"]})
            if route is None:  # the run was deleted since its batch was read
                continue
            data = route_gpx(Run.model_validate(document), route)
            yield ExportFile(route_path(document["_id"]), _whole(data), size=len(data))
