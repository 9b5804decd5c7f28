"""Every registered query shape is served by its index: equality, then sort, then range (ESR).

A shape that would scan a collection or sort in memory fails here by name, unless it is marked
exempt with its reason (service/queries.py). The check itself is tested on shapes made wrong on
purpose, so a green run means something.
"""

from __future__ import annotations

import ast
import importlib
import pathlib
from datetime import UTC, datetime

import pytest
from bson import ObjectId

import service
from documents import Run, ScoreBucket, Team
from service import queries
from service.athletes import pipelines as feed
from service.leaderboards import pipelines as boards
from service.leaderboards.periods import Period
from service.queries import QueryShape, Shapes, esr_problem, field_kinds, registry

# every module of the service imported: shapes declared in a domain's own module are in it
REGISTRY = registry()


def test_every_registered_shape_is_served_by_its_index_in_esr_order() -> None:
    problems = [p for shape in REGISTRY.values() if (p := esr_problem(shape)) is not None]
    assert not problems, "\n".join(problems)


def _fetch_page_sources() -> list[tuple[str, object]]:
    """(module, first argument) of every fetch_page call in service/, the argument resolved."""
    root = pathlib.Path(service.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        dotted = path.relative_to(root.parent).with_suffix("").as_posix().replace("/", ".")
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "fetch_page"):
                continue
            names = vars(importlib.import_module(dotted))
            first = node.args[0]  # a name, or module.name
            if isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name):
                found.append((dotted, getattr(names[first.value.id], first.attr)))
            else:
                assert isinstance(first, ast.Name), f"{dotted}: {ast.unparse(first)}"
                found.append((dotted, names[first.id]))
    return found


def test_every_paged_list_reads_through_a_registered_shape() -> None:
    sources = _fetch_page_sources()
    assert len(sources) >= 15
    for module, source in sources:
        shapes = source.shapes if isinstance(source, Shapes) else (source,)
        for shape in shapes:
            assert isinstance(shape, QueryShape), f"{module}: fetch_page({source!r}) is no shape"
            assert REGISTRY.get(shape.name) is shape, f"{module}: {shape.name} not registered"


def test_the_registry_holds_every_domains_lists() -> None:
    collections = {shape.collection for shape in REGISTRY.values()}
    assert {
        "users",
        "cities",
        "teams",
        "memberships",
        "invitations",
        "runs",
        "competitions",
        "events",
        "athletes",
        "calendar_entries",
        "follows",
        "score_buckets",
    } <= collections


def test_exempt_and_residual_shapes_say_why() -> None:
    for shape in REGISTRY.values():
        if shape.exempt or shape.residual:
            assert len(shape.why) > 20, shape.name
    with pytest.raises(ValueError, match="say why"):
        QueryShape("no_reason", Run, residual=("team_id",), register=False)


def test_a_shape_name_is_declared_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        QueryShape("runs_of_user", Run, equality=("team_id",), index="team_started")


# --- the check fails on shapes no index serves ---------------------------------------------


def test_an_unindexed_shape_fails_naming_it() -> None:
    by_score = QueryShape(
        "runs_by_score", Run, sort=(("score", -1),), index="started", register=False
    )
    problem = esr_problem(by_score)
    assert problem is not None
    assert problem.startswith("runs_by_score:")
    assert "sort" in problem


def test_a_shape_without_an_index_fails() -> None:
    shape = QueryShape("runs_of_day", Run, equality=("day",), register=False)
    assert esr_problem(shape) == (
        "runs_of_day: names no index (declare one, or mark it exempt and say why)"
    )
    missing = QueryShape("runs_of_day", Run, equality=("day",), index="day", register=False)
    assert esr_problem(missing) == "runs_of_day: runs declares no index 'day'"


def test_equality_after_the_sort_fails() -> None:
    # user_started is (user_id, started_at, _id): filtering on started_at's equality and
    # sorting by user_id would walk the whole index
    shape = QueryShape(
        "runs_by_user",
        Run,
        equality=("started_at",),
        sort=(("user_id", 1),),
        index="user_started",
        register=False,
    )
    problem = esr_problem(shape)
    assert problem is not None
    assert "does not start with the equality fields" in problem


def test_a_range_before_the_sort_fails() -> None:
    # kind_day has the range field `day` but no sort key after the equality field
    shape = QueryShape(
        "buckets_by_score",
        ScoreBucket,
        equality=("kind",),
        sort=(("score", -1),),
        range=("day",),
        index="kind_day",
        tie_break=False,
        register=False,
    )
    problem = esr_problem(shape)
    assert problem is not None
    assert "sort" in problem


def test_mixed_directions_fail_and_all_reversed_pass() -> None:
    # user_started is (user_id 1, started_at -1, _id -1)
    mixed = QueryShape(
        "runs_mixed",
        Run,
        equality=("user_id",),
        sort=(("started_at", -1), ("_id", 1)),
        index="user_started",
        register=False,
    )
    problem = esr_problem(mixed)
    assert problem is not None
    assert "mixes directions" in problem
    reversed_ = QueryShape(
        "runs_oldest_first",
        Run,
        equality=("user_id",),
        sort=(("started_at", 1),),
        index="user_started",
        register=False,
    )
    assert esr_problem(reversed_) is None


def test_a_range_missing_from_the_index_fails() -> None:
    shape = QueryShape(
        "teams_created",
        Team,
        equality=("kind",),
        sort=(("name", 1),),
        range=("created_at",),
        index="kind_name_id",
        register=False,
    )
    problem = esr_problem(shape)
    assert problem is not None
    assert "'created_at'" in problem


# --- criteria fit their shape ---------------------------------------------------------------


def test_field_kinds_tell_points_from_ranges() -> None:
    oid = ObjectId()
    criteria = {
        "user_id": oid,
        "kind": {"$in": ["a", "b"]},
        "started_at": {"$gte": datetime(2026, 1, 1, tzinfo=UTC)},
        "$or": [{"name_key": {"$regex": "^ab"}}, {"name_key": {"$regex": "^cd"}}],
    }
    assert field_kinds(criteria) == {
        "user_id": "point",
        "kind": "point",
        "started_at": "range",
        "name_key": "range",
    }


def test_a_list_picks_the_shape_of_its_filters() -> None:
    oid = ObjectId()
    since = {"$gte": datetime(2026, 1, 1, tzinfo=UTC)}
    assert queries.RUNS.pick({}) is queries.RUNS_ALL
    assert queries.RUNS.pick({"started_at": since}) is queries.RUNS_ALL
    assert queries.RUNS.pick({"team_id": oid, "started_at": since}) is queries.RUNS_OF_TEAM
    assert queries.RUNS.pick({"team_id": oid, "user_id": oid}) is queries.RUNS_OF_USER
    assert queries.RUNS.pick({"city_id": oid}) is queries.RUNS_OF_CITY
    assert queries.TEAMS.pick({}) is queries.TEAMS_BY_NAME
    prefix = {"$or": [{"name_key": {"$regex": "^ni"}}]}
    assert queries.TEAMS.pick({**prefix, "kind": "custom"}) is queries.TEAMS_BY_PREFIX
    assert queries.TEAMS.pick({"kind": "city", "city_id": oid}) is queries.TEAMS_OF_CITY


def test_criteria_of_another_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="not of members_of_team"):
        queries.MEMBERS_OF_TEAM.check({"user_id": ObjectId()})
    with pytest.raises(ValueError, match="no shape of runs"):
        queries.RUNS.pick({"score": {"$gt": 3}})
    # an equality field given as a range is not the shape either
    with pytest.raises(ValueError, match="not of following"):
        queries.FOLLOWING.check({"follower_id": {"$gt": ObjectId()}})


def test_every_list_family_picks_each_of_its_shapes() -> None:
    for family in (v for v in vars(queries).values() if isinstance(v, Shapes)):
        for shape in family.shapes:
            criteria = {name: ObjectId() for name in shape.equality}
            criteria |= {name: {"$gte": 0} for name in shape.range}
            assert family.pick(criteria) is shape, (family.name, shape.name)


# --- pipelines built elsewhere match through registered shapes --------------------------------


def _branches(match: dict) -> list[dict]:
    """The alternatives of a $match: each $or branch with the fields beside the $or."""
    rest = {k: v for k, v in match.items() if k != "$or"}
    return [{**rest, **branch} for branch in match.get("$or", [{}])]


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [
        ("day", datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC)),
        ("year", datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("custom", datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC)),
        ("all", None, None),
    ],
)
def test_board_bucket_reads_are_registered_shapes(
    kind: str, start: datetime | None, end: datetime | None
) -> None:
    period = Period(kind=kind, start=start, end=end)  # type: ignore[arg-type]
    oid = ObjectId()
    matches = {
        "buckets_of_kind": [boards.bucket_match(e, period) for e in ("team", "city", "user")],
        "buckets_of_team_members": [boards.bucket_match("member", period, team_id=oid)],
        "buckets_of_city_users": [boards.bucket_match("user", period, city_id=oid)],
    }
    for name, built in matches.items():
        for match in built:
            for branch in _branches(match):
                assert queries.BUCKETS.pick(branch).name == name, branch


def test_the_upcoming_feed_reads_entries_through_registered_shapes() -> None:
    today = datetime(2026, 3, 4, tzinfo=UTC)
    pipeline = feed.following_upcoming(
        [ObjectId()], today=today, under_way=[ObjectId()], skip=0, limit=10
    )
    first = pipeline[0]["$match"]
    upcoming, under_way = _branches(first)
    queries.UPCOMING_ENTRIES.check(upcoming)
    queries.UNDER_WAY_ENTRIES.check(under_way)


def test_board_reads_pick_the_index_of_their_filters() -> None:
    board = "team|week|2026-03-02|-"
    assert queries.BOARD_TOTALS.pick({"board": board}) is queries.BOARD_PAGE
    assert queries.BOARD_TOTALS.pick({"board": board, "score": {"$gt": 3}}) is queries.BOARD_PAGE
    by_kind = {"board": board, "team_kind": "custom"}
    assert queries.BOARD_TOTALS.pick(by_kind) is queries.BOARD_PAGE_OF_TEAM_KIND
    by_city = {"board": board, "team_city_id": ObjectId(), "team_kind": "city"}
    assert queries.BOARD_TOTALS.pick(by_city) is queries.BOARD_PAGE_OF_TEAM_CITY
    around = {
        "board": board,
        "$or": [
            {"score": {"$gt": 5}},
            {"score": 5, "sort_name": {"$lt": "b"}},
            {"score": 5, "sort_name": "b", "entity_id": {"$lt": ObjectId()}},
        ],
    }
    assert queries.BOARD_TOTALS.pick(around) is queries.BOARD_PAGE
    queries.BOARD_ROWS.check({"board": board, "_id": {"$in": [f"{board}|{ObjectId()}"]}})


def test_stats_pipelines_match_through_registered_shapes() -> None:
    from service.stats import pipelines as stats
    from service.workouts import service as workouts

    user = ObjectId()
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    for pipeline in (
        stats.run_days(user, start, end),
        stats.run_days(user, None, None),
        stats.active_days(user, end),
    ):
        assert queries.RUNS.pick(pipeline[0]["$match"]) is queries.RUNS_OF_USER
    match = stats.workout_days(user, start, end)[0]["$match"]
    assert workouts.WORKOUTS.pick(match) is workouts.WORKOUTS_OF_USER
