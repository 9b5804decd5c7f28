"""Query shapes: every query a user can trigger, declared once, by name (issue 11 §3).

A `QueryShape` says which collection a query reads, which fields it matches by equality, its
sort, which fields it bounds by a range, and which declared index serves it. Services page
through a shape (`fetch_page(shapes.RUNS, criteria, page)`), so the sort they run is the
shape's; `tests/test_query_shapes.py` checks every registered shape against the indexes the
documents declare (`Settings.indexes`): equality fields first, then the sort (directions all
as declared or all reversed) ending in `_id`, then the ranges (ESR), and fails naming the
shape that would scan or sort in memory. `scripts/explain_queries.py` runs each shape on a
real server and reads `explain("executionStats")`.

Two escape hatches, each with its reason in `why`:
- `residual`: optional filters tested on the documents the index walk meets without bounding
  it (a substring search, a status among a runner's few rows); the walk is still bounded by
  the equality fields and the page;
- `exempt`: the shape is not (fully) index-served on purpose (e.g. a time-bounded substring
  search, or a prefix range whose few matches are sorted in memory).

A list with optional filters is a `Shapes`: one shape per index, and the criteria pick the one
whose equality and range fields they use most (ties: the first declared).

Adding a query: declare a `QueryShape` below (in its domain's section, or in the domain's own
module: every `QueryShape` registers itself by name when created, and `registry()` imports
the whole service package), name the index that serves it, and read through it
(`fetch_page(shape, ...)`, or `shape.order`/`shape.hint`/`shape.check(criteria)` for a find
or a `$match` of your own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from beanie import Document

from documents import (
    Athlete,
    BoardTotal,
    CalendarEntry,
    City,
    Competition,
    Event,
    Follow,
    Invitation,
    Membership,
    Run,
    ScoreBucket,
    Team,
    User,
)

ASC, DESC = 1, -1
ID_INDEX = "_id_"  # every collection's own index on _id (never declared in Settings.indexes)

REGISTRY: dict[str, QueryShape] = {}

# operators that still pin one value (or a few points) of a field, as an equality does
POINT_OPERATORS = frozenset({"$eq", "$in"})


@dataclass(frozen=True)
class QueryShape:
    """One query the service makes: collection, equality fields, sort, ranges, its index."""

    name: str
    document: type[Document]
    equality: tuple[str, ...] = ()
    sort: tuple[tuple[str, int], ...] = ()
    range: tuple[str, ...] = ()
    index: str | None = None
    residual: tuple[str, ...] = ()
    exempt: bool = False
    why: str = ""
    # a list paged by keyset breaks ties on _id; a lookup or a $match has no such tie-break
    tie_break: bool = True
    # the service passes `hint=index` (where the planner could pick a worse index)
    hinted: bool = False
    # False for a throwaway shape (a test's deliberately unindexed one): not in REGISTRY
    register: bool = field(default=True, compare=False, repr=False)

    def __post_init__(self) -> None:
        if (self.residual or self.exempt) and not self.why.strip():
            raise ValueError(f"query shape {self.name!r}: say why it has residual filters")
        if not self.register:
            return
        if self.name in REGISTRY and REGISTRY[self.name] != self:
            raise ValueError(f"query shape {self.name!r} is declared twice")
        REGISTRY[self.name] = self

    @property
    def collection(self) -> str:
        return str(self.document.Settings.name)

    @property
    def order(self) -> list[tuple[str, int]]:
        """The sort as run: the declared keys, then `_id` in the last key's direction."""
        order = list(self.sort)
        if self.tie_break and order and order[-1][0] != "_id":
            order.append(("_id", order[-1][1]))
        return order

    @property
    def hint(self) -> str:
        """The name of the index that serves the shape, for a cursor's `hint()`."""
        if self.index is None:
            raise ValueError(f"query shape {self.name!r} names no index to hint")
        return self.index

    @property
    def fields(self) -> frozenset[str]:
        return frozenset((*self.equality, *self.range, *self.residual))

    def fits(self, criteria: Mapping[str, Any]) -> bool:
        """Whether `criteria` is a query of this shape: every equality field pinned, and no
        field the shape does not declare."""
        used = field_kinds(criteria)
        if not set(self.equality) <= {f for f, kind in used.items() if kind == "point"}:
            return False
        return set(used) <= self.fields

    def check(self, criteria: Mapping[str, Any]) -> Mapping[str, Any]:
        """`criteria`, after checking it is of this shape (a programming error otherwise)."""
        if not self.fits(criteria):
            raise ValueError(f"criteria {sorted(field_kinds(criteria))} are not of {self.name}")
        return criteria

    def score(self, criteria: Mapping[str, Any]) -> int:
        used = field_kinds(criteria)
        return len(set(used) & {*self.equality, *self.range})


@dataclass(frozen=True)
class Shapes:
    """The shapes of one list with optional filters; `pick` chooses by the criteria given."""

    name: str
    shapes: tuple[QueryShape, ...]

    def pick(self, criteria: Mapping[str, Any]) -> QueryShape:
        fitting = [s for s in self.shapes if s.fits(criteria)]
        if not fitting:
            raise ValueError(
                f"no shape of {self.name} takes criteria on {sorted(field_kinds(criteria))}"
            )
        return max(fitting, key=lambda s: s.score(criteria))  # max keeps the first of ties


def registry() -> dict[str, QueryShape]:
    """Every registered shape, after importing every module of `service` (but `service.main`,
    which builds an app): shapes declared in a domain's own module register on import."""
    import importlib
    import pkgutil

    import service

    for module in pkgutil.walk_packages(service.__path__, "service."):
        if module.name != "service.main":
            importlib.import_module(module.name)
    return REGISTRY


def index_keys(shape: QueryShape) -> list[tuple[str, int]] | None:
    """The keys of the index `shape` names, as (field, direction) pairs; None if undeclared."""
    if shape.index == ID_INDEX:
        return [("_id", ASC)]
    # the class's own Settings: readable before init_beanie (which wraps each IndexModel)
    for model in getattr(shape.document.Settings, "indexes", None) or []:
        if model.document["name"] == shape.index:
            return [(str(k), v) for k, v in model.document["key"].items()]
    return None


def esr_problem(shape: QueryShape) -> str | None:
    """Why `shape`'s index cannot serve it with equality, sort, range in that order (ESR),
    or None when it can: the equality fields are the index's first keys (in any order), the
    sort (with its `_id` tie-break) follows, directions all as declared or all reversed,
    and every range field is a key after the equality fields. Exempt shapes are not checked."""
    if shape.exempt:
        return None
    if shape.index is None:
        return f"{shape.name}: names no index (declare one, or mark it exempt and say why)"
    keys = index_keys(shape)
    if keys is None:
        return f"{shape.name}: {shape.collection} declares no index {shape.index!r}"
    names = [k for k, _ in keys]
    found = f"{shape.name}: index {shape.index} {names}"
    n = len(shape.equality)
    if set(names[:n]) != set(shape.equality):
        return f"{found} does not start with the equality fields {list(shape.equality)}"
    order = shape.order
    served = keys[n : n + len(order)]
    if [k for k, _ in served] != [k for k, _ in order]:
        return f"{found} has not the sort {order} right after the equality fields"
    same = all(int(d) == want for (_, d), (_, want) in zip(served, order, strict=True))
    reversed_ = all(int(d) == -want for (_, d), (_, want) in zip(served, order, strict=True))
    if not (same or reversed_):
        return f"{found}: the sort {order} mixes directions against the index's {served}"
    for name in shape.range:
        if name not in names[n:]:
            return f"{found} has no key {name!r} after the equality fields (range)"
    return None


def field_kinds(criteria: Mapping[str, Any]) -> dict[str, str]:
    """The fields a filter uses: "point" (a value, `$eq`, `$in`) or "range" (any other
    operator: bounds, a regex...). `$or`/`$and` clauses count with their fields."""
    kinds: dict[str, str] = {}

    def visit(clauses: Iterable[Mapping[str, Any]]) -> None:
        for clause in clauses:
            for name, value in clause.items():
                if name in ("$or", "$and"):
                    visit(value)
                    continue
                operators = (
                    set(value)
                    if isinstance(value, Mapping) and all(str(k).startswith("$") for k in value)
                    else set()
                )
                kind = "range" if operators - POINT_OPERATORS else "point"
                if kinds.get(name) != "range":
                    kinds[name] = kind

    visit([criteria])
    return kinds


# --- accounts, cities ----------------------------------------------------------------------

USERS_BY_NAME = QueryShape(
    "users_by_name",
    User,
    sort=(("name_key", ASC),),
    index="name_key_id",
    residual=("name_key",),
    why="`q` is a substring of the name key: tested on each key of the walk, no extra fetch",
)
CITIES_BY_SLUG = QueryShape(
    "cities_by_slug",
    City,
    sort=(("slug", ASC),),
    index="slug_id",
    residual=("slug",),
    why="`q` is a substring of the slug: tested on each key of the walk, no extra fetch",
)

# --- teams, memberships, invitations -------------------------------------------------------

TEAMS_BY_NAME = QueryShape(
    "teams_by_name",
    Team,
    sort=(("name", ASC),),
    index="name_id",
    residual=("name",),
    why="`search` is a substring: a scan of names bounded in time (SCAN_MAX_TIME_MS, 503)",
)
TEAMS_OF_KIND = QueryShape(
    "teams_of_kind",
    Team,
    equality=("kind",),
    sort=(("name", ASC),),
    index="kind_name_id",
    residual=("name",),
    why="`search` is a substring: a scan of names bounded in time (SCAN_MAX_TIME_MS, 503)",
)
TEAMS_OF_CITY = QueryShape(
    "teams_of_city",
    Team,
    equality=("city_id",),
    sort=(("name", ASC),),
    index="city_name_id",
    residual=("kind", "name"),
    why="a city has a handful of teams of each kind; `search` is a time-bounded substring scan",
)
TEAMS_BY_PREFIX = QueryShape(
    "teams_by_prefix",
    Team,
    range=("name_key",),
    sort=(("name", ASC),),
    index="name_key_unique",
    residual=("city_id", "kind", "name"),
    exempt=True,
    why="the prefix bounds a range of the name_key index; its matches are sorted by name in "
    "memory (a prefix of a few letters matches few teams; a one-letter prefix is the worst)",
)
TEAMS = Shapes("teams", (TEAMS_BY_NAME, TEAMS_OF_KIND, TEAMS_OF_CITY, TEAMS_BY_PREFIX))

MEMBERS_OF_TEAM = QueryShape(
    "members_of_team",
    Membership,
    equality=("team_id",),
    sort=(("joined_at", ASC),),
    index="team_joined",
)
TEAMS_OF_USER = QueryShape(
    "teams_of_user",
    Membership,
    equality=("user_id",),
    sort=(("joined_at", ASC),),
    index="user_joined",
)
INVITATIONS_OF_USER = QueryShape(
    "invitations_of_user",
    Invitation,
    equality=("user_id", "status"),
    sort=(("created_at", DESC),),
    index="invitee_recent",
    residual=("expires_at",),
    why="a user's pending invitations are few (one per team); expired ones are skipped",
)

# --- runs -----------------------------------------------------------------------------------

_RUN_FILTERS = "other filters narrow one runner's, team's or city's runs further"
RUNS_OF_USER = QueryShape(
    "runs_of_user",
    Run,
    equality=("user_id",),
    sort=(("started_at", DESC),),
    range=("started_at",),
    index="user_started",
    residual=("team_id", "city_id"),
    why=_RUN_FILTERS,
)
RUNS_OF_TEAM = QueryShape(
    "runs_of_team",
    Run,
    equality=("team_id",),
    sort=(("started_at", DESC),),
    range=("started_at",),
    index="team_started",
    residual=("city_id",),
    why=_RUN_FILTERS,
)
RUNS_OF_CITY = QueryShape(
    "runs_of_city",
    Run,
    equality=("city_id",),
    sort=(("started_at", DESC),),
    range=("started_at",),
    index="city_started",
)
RUNS_ALL = QueryShape(
    "runs_all",
    Run,
    sort=(("started_at", DESC),),
    range=("started_at",),
    index="started",
)
# another user's runs as a viewer may see them (service.social.access.list_criteria): only the
# visibility levels they may see are walked, however many private runs the runner has
RUNS_OF_USER_VISIBLE = QueryShape(
    "runs_of_user_visible",
    Run,
    equality=("user_id", "visibility"),
    sort=(("started_at", DESC),),
    range=("started_at",),
    index="user_visibility_started",
    residual=("team_id", "city_id"),
    why=_RUN_FILTERS,
)
RUNS = Shapes("runs", (RUNS_OF_USER, RUNS_OF_USER_VISIBLE, RUNS_OF_TEAM, RUNS_OF_CITY, RUNS_ALL))
# everyone's runs as a non-admin may see them: {$or: [public, the viewer's own, their friends'
# `friends` rows]} (access.list_criteria)
RUNS_VISIBLE = QueryShape(
    "runs_visible",
    Run,
    sort=(("started_at", DESC),),
    range=("started_at",),
    residual=("visibility", "user_id", "team_id", "city_id"),
    exempt=True,
    why="an $or whose every branch has its own index ending (started_at, _id): public rows "
    "visibility_started, the viewer's own user_started, friends' `friends` rows "
    "user_visibility_started; MongoDB merges the sorted branches (SORT_MERGE), team/city "
    "filters are tested on the rows met",
)

# --- competitions, events, athletes, calendars, follows -------------------------------------

_COMPETITION_FILTERS = (
    "`from` (ends_on), status and a name substring are tested on the competitions the "
    "start-date walk meets; the walk stops at the page"
)
COMPETITIONS_BY_START = QueryShape(
    "competitions_by_start",
    Competition,
    sort=(("starts_on", ASC),),
    range=("starts_on",),
    index="starts_on_id",
    residual=("ends_on", "status", "name_key"),
    why=_COMPETITION_FILTERS,
)
COMPETITIONS_OF_COUNTRY = QueryShape(
    "competitions_of_country",
    Competition,
    equality=("country",),
    sort=(("starts_on", ASC),),
    range=("starts_on",),
    index="country_starts",
    residual=("ends_on", "status", "name_key", "city_key", "sport"),
    why=_COMPETITION_FILTERS,
)
COMPETITIONS_OF_CITY = QueryShape(
    "competitions_of_city",
    Competition,
    equality=("city_key",),
    sort=(("starts_on", ASC),),
    range=("starts_on",),
    index="city_starts",
    residual=("ends_on", "status", "name_key", "sport"),
    why=_COMPETITION_FILTERS,
)
COMPETITIONS_OF_SPORT = QueryShape(
    "competitions_of_sport",
    Competition,
    equality=("sport",),
    sort=(("starts_on", ASC),),
    range=("starts_on",),
    index="sport_starts",
    residual=("ends_on", "status", "name_key"),
    why=_COMPETITION_FILTERS,
)
COMPETITIONS = Shapes(
    "competitions",
    (COMPETITIONS_BY_START, COMPETITIONS_OF_COUNTRY, COMPETITIONS_OF_CITY, COMPETITIONS_OF_SPORT),
)
COMPETITIONS_UNDER_WAY = QueryShape(
    "competitions_under_way",
    Competition,
    range=("ends_on", "starts_on"),
    index="ends_starts",
    residual=("status",),
    why="cancelled competitions among those under way today are few",
    tie_break=False,
    # two ranges: without the hint a planner may walk starts_on_id (all past competitions)
    hinted=True,
)
EVENTS_OF_COMPETITION = QueryShape(
    "events_of_competition",
    Event,
    equality=("competition_id",),
    sort=(("starts_at", ASC),),
    index="competition_starts",
)

_ATHLETE_FILTERS = "the name substring (and a second filter) is tested on each row of the walk"
ATHLETES_BY_NAME = QueryShape(
    "athletes_by_name",
    Athlete,
    sort=(("name_key", ASC),),
    index="name_key",
    residual=("name_key",),
    why=_ATHLETE_FILTERS,
)
ATHLETES_OF_DISCIPLINE = QueryShape(
    "athletes_of_discipline",
    Athlete,
    equality=("disciplines",),
    sort=(("name_key", ASC),),
    index="disciplines_name",
    residual=("name_key", "nationality"),
    why=_ATHLETE_FILTERS,
)
ATHLETES_OF_NATIONALITY = QueryShape(
    "athletes_of_nationality",
    Athlete,
    equality=("nationality",),
    sort=(("name_key", ASC),),
    index="nationality_name",
    residual=("name_key", "disciplines"),
    why=_ATHLETE_FILTERS,
)
ATHLETES = Shapes("athletes", (ATHLETES_BY_NAME, ATHLETES_OF_DISCIPLINE, ATHLETES_OF_NATIONALITY))

CALENDAR_OF_ATHLETE = QueryShape(
    "calendar_of_athlete",
    CalendarEntry,
    equality=("athlete_id",),
    sort=(("event_starts_at", ASC),),
    range=("event_starts_at",),
    index="athlete_starts",
    residual=("status",),
    why="an athlete's withdrawn entries are few",
)
FOLLOWING = QueryShape(
    "following",
    Follow,
    equality=("follower_id",),
    sort=(("created_at", DESC),),
    index="follower_recent",
)
FOLLOWERS = QueryShape(
    "followers",
    Follow,
    equality=("athlete_id",),
    sort=(("created_at", DESC),),
    index="athlete_recent",
)
FOLLOWED_IDS = QueryShape(
    "followed_ids",
    Follow,
    equality=("follower_id",),
    index="follower_athlete_unique",
    tie_break=False,
)
# the upcoming feed's first $match: one branch per index (see athletes.pipelines)
UPCOMING_ENTRIES = QueryShape(
    "upcoming_entries",
    CalendarEntry,
    equality=("athlete_id",),
    range=("event_starts_at",),
    index="athlete_starts",
    residual=("status",),
    why="an athlete's withdrawn entries are few",
    tie_break=False,
)
UNDER_WAY_ENTRIES = QueryShape(
    "under_way_entries",
    CalendarEntry,
    equality=("competition_id", "athlete_id"),
    index="competition",
    residual=("status",),
    why="an athlete's withdrawn entries are few",
    tie_break=False,
)

# --- leaderboards: the score buckets of a period ---------------------------------------------

BUCKETS_OF_KIND = QueryShape(
    "buckets_of_kind",
    ScoreBucket,
    equality=("kind",),
    range=("day",),
    index="kind_day",
    tie_break=False,
)
BUCKETS_OF_TEAM_MEMBERS = QueryShape(
    "buckets_of_team_members",
    ScoreBucket,
    equality=("kind", "team_id"),
    range=("day",),
    index="kind_team_day",
    tie_break=False,
)
BUCKETS_OF_CITY_USERS = QueryShape(
    "buckets_of_city_users",
    ScoreBucket,
    equality=("kind", "city_id"),
    range=("day",),
    index="kind_city_day",
    tie_break=False,
)
BUCKETS = Shapes("buckets", (BUCKETS_OF_KIND, BUCKETS_OF_TEAM_MEMBERS, BUCKETS_OF_CITY_USERS))

# --- leaderboards: pre-computed totals of the standard periods (service.leaderboards) -------

# a page in board order, the rank count (score above a row's) and the caller's position for
# around=me (three counts: a higher score; the same score and a lower name; the same score and
# name and a lower entity id) all walk one board's slice of the same index
_BOARD_ORDER = (("score", DESC), ("sort_name", ASC), ("entity_id", ASC))
_BOARD_RANGES = ("score", "sort_name", "entity_id")
BOARD_PAGE = QueryShape(
    "board_page",
    BoardTotal,
    equality=("board",),
    sort=_BOARD_ORDER,
    range=_BOARD_RANGES,
    index="board_order",
    tie_break=False,  # entity_id ends the order: one row per entity on a board
)
BOARD_PAGE_OF_TEAM_KIND = QueryShape(
    "board_page_of_team_kind",
    BoardTotal,
    equality=("board", "team_kind"),
    sort=_BOARD_ORDER,
    range=_BOARD_RANGES,
    index="board_team_kind_order",
    tie_break=False,
)
BOARD_PAGE_OF_TEAM_CITY = QueryShape(
    "board_page_of_team_city",
    BoardTotal,
    equality=("board", "team_city_id"),
    sort=_BOARD_ORDER,
    range=_BOARD_RANGES,
    index="board_team_city_order",
    residual=("team_kind",),
    why="a city has a handful of teams; `kind` narrows them further",
    tie_break=False,
)
BOARD_TOTALS = Shapes(
    "board_totals", (BOARD_PAGE, BOARD_PAGE_OF_TEAM_KIND, BOARD_PAGE_OF_TEAM_CITY)
)
BOARD_ROWS = QueryShape(
    "board_rows",
    BoardTotal,
    equality=("_id",),
    index=ID_INDEX,
    residual=("board", "team_kind", "team_city_id"),
    why="the caller's own rows (around=me), read by id; the board's filters only confirm them",
    tie_break=False,
)
