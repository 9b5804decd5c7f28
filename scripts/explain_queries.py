"""Explain every registered query shape on a real server; exits 1 if one scans or sorts.

    MONGODB_URI=mongodb://localhost:27017 python -m scripts.explain_queries
    python -m scripts.explain_queries --uri mongodb://... --runs 2000 --only runs_of_user

Loads a generated data set (the demo's users, cities, teams, runs, score buckets and board
totals, competitions, athletes, calendars, follows, exercises, workouts (300) and XP entries,
plus a few invitations) into a scratch database
(`explain_<random>`, dropped afterwards unless --keep), with every declared index. Then, for
each shape of `service.queries.REGISTRY`, it takes a sample document of the shape's collection,
builds the shape's query from it (its equality fields equal to the sample's values, its first
range field `$gte` the sample's), runs `find(...).sort(shape.order).limit(21)` under
`explain("executionStats")` and prints one JSON line per shape: stages of the winning plan,
the index used, keys examined, documents examined, documents returned, and the verdict.

A shape fails when its plan has a COLLSCAN, a blocking SORT, or examines more documents than
it returns plus SLACK. Residual filters (service/queries.py) are left out of the query: what is
checked is what the index serves. Exempt shapes are explained and reported, never failed.

Servers differ in what explain shows. Before the shapes, a calibration query whose order an
index provides for certain (equality on the first key, sort on the second) is explained: if
the server reports a SORT stage for it anyway, its SORT stages say nothing about blocking
sorts, so they are reported ("sort_judged": false) but not failed on; the ESR unit test
(tests/test_query_shapes.py) is then what vouches for the sorts.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents import Invitation, Membership, clock
from service import db, queries
from service.demo.challenge import load_challenge
from service.demo.progress import NullProgress
from service.demo.track import load_track
from service.demo.training import load_training
from service.demo.users import load_users
from service.settings import Settings
from service.xp import rebuild as xp_rebuild

PAGE = 21  # a page of 20 and the one that tells whether there is a next
SLACK = 5  # documents examined beyond those returned that still count as index-bounded

app = typer.Typer(add_completion=False, help=__doc__)


def stages(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every stage of a plan tree (inputStage, inputStages, queryPlan of a SBE plan)."""
    yield plan
    for key in ("inputStage", "queryPlan", "outerStage", "innerStage"):
        if isinstance(plan.get(key), Mapping):
            yield from stages(plan[key])
    for child in plan.get("inputStages") or []:
        yield from stages(child)


def winning_plan(explained: Mapping[str, Any]) -> Mapping[str, Any]:
    planner = explained.get("queryPlanner") or {}
    plan = planner.get("winningPlan") or {}
    return plan.get("queryPlan", plan)  # 7.0+ with SBE nests the classic tree


def summarize(
    shape: queries.QueryShape, explained: Mapping[str, Any], *, sort_judged: bool
) -> dict[str, Any]:
    """The JSON line of one shape: what ran, what it cost, and what is wrong with it."""
    plan = list(stages(winning_plan(explained)))
    names = [str(s.get("stage")) for s in plan]
    indexes = sorted({str(s["indexName"]) for s in plan if s.get("indexName")})
    stats = explained.get("executionStats") or {}
    keys = int(stats.get("totalKeysExamined", 0))
    docs = int(stats.get("totalDocsExamined", 0))
    returned = int(stats.get("nReturned", 0))
    problems = []
    if "COLLSCAN" in names:
        problems.append("COLLSCAN")
    if sort_judged and "SORT" in names:
        problems.append("blocking SORT")
    if docs > returned + SLACK:
        problems.append(f"examined {docs} documents for {returned} returned")
    line: dict[str, Any] = {
        "shape": shape.name,
        "collection": shape.collection,
        "index": shape.index,
        "index_used": indexes,
        "stages": names,
        "keys_examined": keys,
        "docs_examined": docs,
        "returned": returned,
    }
    if shape.index is not None and indexes and shape.index not in indexes:
        line["note"] = f"the planner chose {indexes}, the registry names {shape.index}"
    if shape.exempt:
        line |= {"verdict": "exempt", "why": shape.why, "problems": problems}
    else:
        line |= {"verdict": "fail" if problems else "ok", "problems": problems}
    return line


def sample_query(shape: queries.QueryShape, sample: Mapping[str, Any]) -> dict[str, Any]:
    """The shape's query with a sample document's values: equality fields equal, the first
    range field from the sample's value on (one range, as the lists and boards bound their
    walk; the wire test server scans a filter with ranges on two fields whatever its indexes)."""
    query: dict[str, Any] = {name: sample[name] for name in shape.equality}
    for name in shape.range[:1]:
        query[name] = {"$gte": sample[name]}
    return query


async def explain(database: Any, shape: queries.QueryShape, query: dict[str, Any]) -> Any:
    command: dict[str, Any] = {"find": shape.collection, "filter": query, "limit": PAGE}
    if shape.order:
        command["sort"] = dict(shape.order)
    if shape.hinted:
        command["hint"] = shape.index
    return await database.command("explain", command, verbosity="executionStats")


async def calibrate(database: Any) -> bool:
    """Whether the server's SORT stage means a blocking sort (see the module's docstring)."""
    collection = database["explain_calibration"]
    await collection.create_index([("a", 1), ("b", 1)], name="a_b")
    await collection.insert_many([{"a": i % 3, "b": i} for i in range(30)])
    explained = await database.command(
        "explain",
        {"find": collection.name, "filter": {"a": 1}, "sort": {"b": 1}, "limit": 5},
        verbosity="executionStats",
    )
    await collection.drop()
    return "SORT" not in [s.get("stage") for s in stages(winning_plan(explained))]


async def load(*, runs: int, seed: int, settings: Settings) -> dict[str, int]:
    rng = random.Random(seed)
    progress = NullProgress()
    users = await load_users(settings=settings, rng=rng, size="embedded", progress=progress)
    summary = {"users": len(users)}
    summary |= await load_challenge(
        rng=rng, size="embedded", users=users, progress=progress, runs=runs
    )
    summary |= await load_track(rng=rng, size="embedded", users=users, progress=progress)
    summary |= await load_training(
        seed=seed, size="embedded", users=users, progress=progress, workouts=300, routes=10
    )
    summary["xp_entries"] = (await xp_rebuild.rebuild(repair=True)).missing
    # the demo has no invitations: each member of a few teams invites someone else
    memberships = await Membership.find().limit(200).to_list()
    now = clock.utcnow()
    invitations = [
        Invitation(
            team_id=m.team_id,
            user_id=rng.choice(users).id,
            invited_by=m.user_id,
            expires_at=now + timedelta(days=rng.choice((-1, 7))),
        )
        for m in memberships
    ]
    if invitations:
        await Invitation.insert_many(invitations)
    summary["invitations"] = len(invitations)
    return summary


async def run(
    *, uri: str, runs: int, seed: int, keep: bool, only: list[str]
) -> list[dict[str, Any]]:
    name = f"explain_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        mongodb_uri=uri, mongodb_db=name, secret_key="explain-queries-scratch-" + "x" * 32
    )
    client, database = await db.connect(settings)
    lines: list[dict[str, Any]] = []
    try:
        loaded = await load(runs=runs, seed=seed, settings=settings)
        sort_judged = await calibrate(database)
        print(json.dumps({"database": name, "loaded": loaded, "sort_judged": sort_judged}))
        for shape in queries.registry().values():
            if only and shape.name not in only:
                continue
            fields = (*shape.equality, *shape.range)
            sample = await database[shape.collection].find_one(
                {name: {"$ne": None} for name in fields}
            )
            if sample is None:  # the generated data set has none of these (yet)
                line = {
                    "shape": shape.name,
                    "collection": shape.collection,
                    "verdict": "no sample",
                    "problems": [],
                }
            else:
                query = sample_query(shape, sample)
                explained = await explain(database, shape, query)
                line = summarize(shape, explained, sort_judged=sort_judged)
            lines.append(line)
            print(json.dumps(line, default=str))
    finally:
        if not keep:
            await client.drop_database(name)
        db.close(client)
    return lines


@app.command()
def main(
    uri: str = typer.Option(..., envvar="MONGODB_URI", help="The server to explain on."),
    runs: int = typer.Option(4000, help="Runs in the generated data set."),
    seed: int = typer.Option(42, help="Random seed of the data set."),
    keep: bool = typer.Option(False, help="Keep the scratch database."),
    only: list[str] = typer.Option([], help="Explain only these shapes (repeatable)."),
) -> None:
    """Explain every registered query shape; exit 1 if one scans, sorts or over-reads."""
    lines = asyncio.run(run(uri=uri, runs=runs, seed=seed, keep=keep, only=only))
    failed = [line["shape"] for line in lines if line["verdict"] == "fail"]
    print(json.dumps({"shapes": len(lines), "failed": failed}))
    raise typer.Exit(1 if failed else 0)


if __name__ == "__main__":
    app()
