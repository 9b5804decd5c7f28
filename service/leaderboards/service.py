"""Leaderboards: the only code that reads score buckets and board totals.

Standard periods (day, week, month, year, all) read `board_totals` (see `totals.py`): a page is
one index walk in board order, `total` an index count, and the rank of the page's first row is
1 + an index count of rows with a higher score (the others follow from their positions), so
ranks are right on every page. Names and member counts are read for the page's rows only.

Custom periods aggregate score buckets (the page's scores cut inside the pipeline). The cities
ordered per member or per capita (sort keys that change with every membership; cities are a
bounded set) rank every city of the period: for a standard period from the city board's rows in
`board_totals` (one walk of that board), for a custom one from the buckets.

`around=me`: the caller's row and up to AROUND rows above and below it, ranked as on any page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from beanie import PydanticObjectId
from motor.motor_asyncio import AsyncIOMotorCollection

from documents import BoardTotal, City, Membership, ScoreBucket, Team, User
from service import queries
from service.leaderboards import pipelines, totals
from service.leaderboards.periods import Period
from service.leaderboards.schemas import (
    CityOrder,
    CityRow,
    Leaderboard,
    PeriodRead,
    TeamRow,
    UserRow,
)
from service.pagination import PageParams

T = TypeVar("T")
Row = dict[str, Any]


def competition_ranks(values: Sequence[Any]) -> list[int]:
    """Ranks of values sorted best first: equal values share a rank, then one is skipped."""
    ranks: list[int] = []
    for position, value in enumerate(values):
        ranks.append(ranks[-1] if position and value == values[position - 1] else position + 1)
    return ranks


def score_per_member(score: int, members: int) -> float:
    return round(score / max(members, 1), 2)


def score_per_capita(score: int, population: int | None) -> float | None:
    """Score per 100,000 inhabitants, 2 decimals; None for a city without a known population."""
    if not population:
        return None
    return round(score * 100_000 / population, 2)


def per_capita_order(rows: list[Row]) -> list[Row]:
    """Best score per capita first; cities without a population (custom ones) come last.

    Those rank among themselves by score, after every city that has a per-capita score. Each
    row gets `per_capita_rank_key`, equal for rows that share a rank.
    """
    for row in rows:
        per_capita = row["score_per_capita"]
        row["per_capita_rank_key"] = (
            (0, -per_capita) if per_capita is not None else (1, -row["score"])
        )
    rows.sort(key=lambda r: (r["per_capita_rank_key"], r["sort_name"], r["_id"]))
    return rows


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


async def _aggregate(collection: AsyncIOMotorCollection, pipeline: list[Row]) -> list[Row]:
    return await collection.aggregate(pipeline).to_list(length=None)  # type: ignore[no-any-return]


def _totals(row: Row, rank: int) -> Row:
    return {
        "rank": rank,
        "score": row["score"],
        "distance_km": row["distance_m"] / 1000,
        "runs": row["runs"],
    }


def _per_member(row: Row) -> Row:
    return {"members": row["members"], "score_per_member": row["score_per_member"]}


def _with_per_member(rows: list[Row]) -> list[Row]:
    for row in rows:
        row["score_per_member"] = score_per_member(row["score"], row["members"])
    return rows


def _user_row(row: Row, rank: int) -> UserRow:
    user = {"id": str(row["_id"]), "name": row["name"], "city_id": _id(row.get("city_id"))}
    return UserRow.model_validate({**_totals(row, rank), "user": user})


AROUND = 2  # rows shown above and below the caller's with around=me
ORDER = [("score", -1), ("sort_name", 1), ("entity_id", 1)]
TOTAL_FIELDS = {"entity_id": 1, "score": 1, "distance_m": 1, "runs": 1, "sort_name": 1}


class Window:
    """Ranked rows of one page (or around the caller) of a board, before they are built."""

    def __init__(self, rows: list[Row], ranks: list[int], total: int, offset: int, limit: int):
        self.rows, self.ranks, self.total = rows, ranks, total
        self.offset, self.limit = offset, limit

    def board(self, period: Period, build: Callable[[Row, int], T]) -> Leaderboard[T]:
        return Leaderboard[T](
            items=[build(row, rank) for row, rank in zip(self.rows, self.ranks, strict=True)],
            total=self.total,
            limit=self.limit,
            offset=self.offset,
            period=PeriodRead(kind=period.kind, from_=period.start, to=period.end),
        )


def _window_of(rows: list[Row], order: str, page: PageParams, mine: list[Any] | None) -> Window:
    """A page (or, with `mine`, the rows around the first of those ids) of a fully ranked list."""
    ranks = competition_ranks([row[order] for row in rows])
    if mine is None:
        start, stop = page.offset, min(page.offset + page.limit, len(rows))
        limit = page.limit
    else:
        at = next((i for i, row in enumerate(rows) if row["_id"] in mine), None)
        if at is None:
            return Window([], [], len(rows), 0, 2 * AROUND + 1)
        start, stop, limit = max(0, at - AROUND), min(len(rows), at + AROUND + 1), 2 * AROUND + 1
    return Window(rows[start:stop], ranks[start:stop], len(rows), start, limit)


def _collection() -> AsyncIOMotorCollection:
    return BoardTotal.get_motor_collection()


async def _ranks(criteria: Row, rows: list[Row], offset: int) -> list[int]:
    """Competition ranks of consecutive rows in board order starting at position `offset`.

    The first row's rank is 1 + the rows with a higher score; each next row shares the rank of
    the one before when their scores are equal, else its rank is its position + 1.
    """
    if not rows:
        return []
    ahead = await _collection().count_documents({**criteria, "score": {"$gt": rows[0]["score"]}})
    ranks = [ahead + 1]
    for position, row in enumerate(rows[1:], start=offset + 1):
        ranks.append(
            ranks[-1] if row["score"] == rows[position - offset - 1]["score"] else position + 1
        )
    return ranks


def _ahead_of(row: Row) -> list[Row]:
    """The rows before `row` in board order, as three disjoint index ranges (no `$or`): a higher
    score; the same score and a lower name; the same score and name and a lower entity id."""
    score, name, entity = row["score"], row["sort_name"], row["entity_id"]
    return [
        {"score": {"$gt": score}},
        {"score": score, "sort_name": {"$lt": name}},
        {"score": score, "sort_name": name, "entity_id": {"$lt": entity}},
    ]


async def _totals_window(criteria: Row, page: PageParams, mine: list[Any] | None) -> Window:
    """A page of a standard-period board from `board_totals`, or the rows around the caller's."""
    collection = _collection()
    order = queries.BOARD_TOTALS.pick(criteria).order  # the index walked: see service.queries
    total = await collection.count_documents(criteria)
    if mine is None:
        cursor = collection.find(criteria, TOTAL_FIELDS).sort(order)
        rows = await cursor.skip(page.offset).limit(page.limit).to_list(None)
        offset, limit = page.offset, page.limit
    else:
        limit, offset = 2 * AROUND + 1, 0
        # the caller's rows by id ("<board>|<entity>"): point reads, not a walk of the board
        ids = [f"{criteria['board']}|{entity}" for entity in mine]
        mine_criteria = queries.BOARD_ROWS.check({**criteria, "_id": {"$in": ids}})
        me = await collection.find(mine_criteria, TOTAL_FIELDS).sort(order).limit(1).to_list(None)
        if not me:
            return Window([], [], total, 0, limit)
        # the caller's position: three index counts; then the rows around it, one index walk
        position = 0
        for ahead in _ahead_of(me[0]):
            position += await collection.count_documents({**criteria, **ahead})
        offset = max(0, position - AROUND)
        cursor = collection.find(criteria, TOTAL_FIELDS).sort(order).skip(offset)
        rows = await cursor.limit(position - offset + AROUND + 1).to_list(None)
    ranks = await _ranks(criteria, rows, offset)
    for row in rows:
        row["_id"] = row.pop("entity_id")
    return Window(rows, ranks, total, offset, limit)


async def _docs(document: type[Any], ids: list[Any], fields: Row) -> dict[Any, Row]:
    """The documents of a page's entities by id (one `$in` on `_id`)."""
    if not ids:
        return {}
    cursor = document.get_motor_collection().find({"_id": {"$in": ids}}, fields)
    return {doc["_id"]: doc async for doc in cursor}


def _keep(window: Window, attach: Callable[[Row], bool]) -> Window:
    """Attach names to the window's rows; a row whose entity went meanwhile is left out."""
    kept = [(row, rank) for row, rank in zip(window.rows, window.ranks, strict=True) if attach(row)]
    window.rows, window.ranks = [row for row, _ in kept], [rank for _, rank in kept]
    return window


async def _with_teams(window: Window) -> Window:
    teams = await _docs(
        Team,
        [row["_id"] for row in window.rows],
        {"name": 1, "kind": 1, "city_id": 1, "members_count": 1},
    )

    def attach(row: Row) -> bool:
        team = teams.get(row["_id"])
        if team is None:
            return False
        row.update(name=team["name"], kind=team["kind"], city_id=team.get("city_id"))
        row["members"] = team.get("members_count", 0)
        return True

    return _keep(window, attach)


async def _with_cities(window: Window) -> Window:
    fields = {"name": 1, "slug": 1, "population": 1, "team_id": 1}
    cities = await _docs(City, [row["_id"] for row in window.rows], fields)
    team_ids = [c["team_id"] for c in cities.values() if c.get("team_id") is not None]
    members = await _docs(Team, team_ids, {"members_count": 1})

    def attach(row: Row) -> bool:
        city = cities.get(row["_id"])
        if city is None:
            return False
        row.update(name=city["name"], slug=city["slug"], population=city.get("population"))
        row["members"] = members.get(city.get("team_id"), {}).get("members_count", 0)
        return True

    return _keep(window, attach)


async def _with_users(window: Window) -> Window:
    users = await _docs(User, [row["_id"] for row in window.rows], {"name": 1, "city_id": 1})

    def attach(row: Row) -> bool:
        user = users.get(row["_id"])
        if user is None:
            return False
        row.update(name=user["name"], city_id=user.get("city_id"))
        return True

    return _keep(window, attach)


async def _count(pipeline: list[Row]) -> int:
    rows = await _aggregate(ScoreBucket.get_motor_collection(), pipeline)
    return int(rows[0]["n"]) if rows else 0


async def _custom_page(period: Period, offset: int, limit: int, total: int, scope: Row) -> Window:
    """Rows [offset, offset + limit) of a custom-period runner board.

    The scores at those positions come from a pipeline that sorts, skips and limits before any
    `$lookup`; the page's rows lie among the runners scoring between the highest and lowest of
    those scores (the band), which alone get their names looked up and sorted in board order;
    the runners ranked above the band are counted.
    """
    buckets = ScoreBucket.get_motor_collection()
    cut = pipelines.runner_scores(period, skip=offset, limit=limit, **scope)
    scores = [row["score"] for row in await _aggregate(buckets, cut)]
    if not scores:
        return Window([], [], total, offset, limit)
    high, low = scores[0], scores[-1]
    above = await _count(pipelines.runner_count(period, above=high, **scope)) if offset else 0
    band = await _aggregate(buckets, pipelines.runner_band(period, low=low, high=high, **scope))
    first: dict[int, int] = {}  # score -> position of its first row in the band
    for position, row in enumerate(band):
        first.setdefault(row["score"], position)
    rows = band[offset - above : offset - above + len(scores)]
    ranks = [above + first[row["score"]] + 1 for row in rows]
    return Window(rows, ranks, total, offset, limit)


async def _custom_runners(
    period: Period, page: PageParams, mine: list[Any] | None, scope: Row
) -> Window:
    """A custom-period runner (or member) board page, or the rows around the caller's."""
    total = await _count(pipelines.runner_count(period, **scope))
    if mine is None:
        return await _custom_page(period, page.offset, page.limit, total, scope)
    buckets = ScoreBucket.get_motor_collection()
    me = await _aggregate(buckets, pipelines.runner_band(period, low=0, high=0, ids=mine, **scope))
    if not me:
        return Window([], [], total, 0, 2 * AROUND + 1)
    score = me[0]["score"]
    above = await _count(pipelines.runner_count(period, above=score, **scope))
    ties = await _aggregate(buckets, pipelines.runner_band(period, low=score, high=score, **scope))
    position = above + next(i for i, row in enumerate(ties) if row["_id"] == me[0]["_id"])
    start = max(0, position - AROUND)
    window = await _custom_page(period, start, position - start + AROUND + 1, total, scope)
    window.limit = 2 * AROUND + 1
    return window


async def _my_team_ids(user: User) -> list[Any]:
    """The caller's teams: the best placed of them is their row on a team board."""
    cursor = Membership.get_motor_collection().find({"user_id": user.id}, {"team_id": 1})
    return [m["team_id"] async for m in cursor]


async def teams(
    *,
    period: Period,
    page: PageParams,
    kind: str | None = None,
    city_id: PydanticObjectId | None = None,
    around: User | None = None,
) -> Leaderboard[TeamRow]:
    """Teams ranked by score; `kind`/`city_id` filter on the team.

    `around`: the caller's best-placed team and the rows around it."""
    mine = await _my_team_ids(around) if around is not None else None
    if period.kind == "custom":
        pipeline = pipelines.team_totals(period, kind=kind, city_id=city_id)
        rows = await _aggregate(ScoreBucket.get_motor_collection(), pipeline)
        window = _window_of(rows, "score", page, mine)
    else:
        criteria: Row = {"board": totals.board_of("team", period)}
        if kind is not None:
            criteria["team_kind"] = kind
        if city_id is not None:
            criteria["team_city_id"] = city_id
        window = await _with_teams(await _totals_window(criteria, page, mine))
    _with_per_member(window.rows)

    def build(row: Row, rank: int) -> TeamRow:
        team = {
            "id": str(row["_id"]),
            "name": row["name"],
            "kind": row["kind"],
            "city_id": _id(row.get("city_id")),
        }
        return TeamRow.model_validate({**_totals(row, rank), **_per_member(row), "team": team})

    return window.board(period, build)


async def cities(
    *,
    period: Period,
    page: PageParams,
    order: CityOrder = "score",
    around: User | None = None,
) -> Leaderboard[CityRow]:
    """Cities ranked by score, by score per member of their city team, or per capita.

    `around`: the caller's home city and the rows around it."""
    mine = ([around.city_id] if around.city_id else []) if around is not None else None
    if period.kind != "custom" and order == "score":
        criteria = {"board": totals.board_of("city", period)}
        window = await _with_cities(await _totals_window(criteria, page, mine))
        _with_per_capita(_with_per_member(window.rows))
    else:
        # per member/capita: sort keys that move with every membership; bounded by the cities
        if period.kind == "custom":
            pipeline = pipelines.city_totals(period)
            rows = await _aggregate(ScoreBucket.get_motor_collection(), pipeline)
        else:
            rows = await _city_rows(period)
        rows = _with_per_capita(_with_per_member(rows))
        rank_by: str = order
        if order == "score_per_member":
            # per-member values are rounded here (mongomock has no $round), so sorted here
            rows.sort(key=lambda r: (-r["score_per_member"], r["sort_name"], r["_id"]))
        elif order == "score_per_capita":
            rows, rank_by = per_capita_order(rows), "per_capita_rank_key"
        window = _window_of(rows, rank_by, page, mine)

    def build(row: Row, rank: int) -> CityRow:
        city = {"id": str(row["_id"]), "name": row["name"], "slug": row["slug"]}
        per_capita = {"population": row["population"], "score_per_capita": row["score_per_capita"]}
        return CityRow.model_validate(
            {**_totals(row, rank), **_per_member(row), **per_capita, "city": city}
        )

    return window.board(period, build)


async def _city_rows(period: Period) -> list[Row]:
    """Every city's row of a standard-period city board, in board order, with its name, slug,
    population and city team's member count: one walk of the board (a row per city that scored
    in the period, so bounded by the cities) instead of grouping its buckets."""
    criteria = {"board": totals.board_of("city", period)}
    order = queries.BOARD_TOTALS.pick(criteria).order
    rows = await _collection().find(criteria, TOTAL_FIELDS).sort(order).to_list(None)
    for row in rows:
        row["_id"] = row.pop("entity_id")
    window = await _with_cities(Window(rows, [0] * len(rows), len(rows), 0, len(rows)))
    return window.rows


def _with_per_capita(rows: list[Row]) -> list[Row]:
    for row in rows:
        row["population"] = row.get("population")
        row["score_per_capita"] = score_per_capita(row["score"], row["population"])
    return rows


async def _runners(
    *,
    kind: str,
    scope: PydanticObjectId | None,
    period: Period,
    page: PageParams,
    around: User | None,
) -> Leaderboard[UserRow]:
    mine = [around.id] if around is not None else None
    if period.kind == "custom":
        fields = {"team_id": scope} if kind == "member" else {"city_id": scope}
        window = await _custom_runners(period, page, mine, fields)
    else:
        criteria = {"board": totals.board_of(kind, period, scope)}
        window = await _with_users(await _totals_window(criteria, page, mine))
    return window.board(period, _user_row)


async def users(
    *,
    period: Period,
    page: PageParams,
    city_id: PydanticObjectId | None = None,
    around: User | None = None,
) -> Leaderboard[UserRow]:
    """Runners ranked by score; `city_id` counts only runs credited to that city."""
    return await _runners(
        kind="user",
        scope=city_id,
        period=period,
        page=page,
        around=around,
    )


async def team_members(
    *, team: Team, period: Period, page: PageParams, around: User | None = None
) -> Leaderboard[UserRow]:
    """Runners ranked by the score of their runs credited to `team` (members then or now)."""
    assert team.id is not None
    return await _runners(
        kind="member",
        scope=team.id,
        period=period,
        page=page,
        around=around,
    )
