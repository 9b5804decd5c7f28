from datetime import datetime
from typing import Any, Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, GEOSPHERE, IndexModel

from documents.clock import utcnow
from documents.social import Visibility

# day buckets, and month rollups of the same three (keyed by the first day of the month)
BucketKind = Literal[
    "team", "city", "user", "member", "team_month", "city_month", "user_month", "member_month"
]


class Run(Document):
    user_id: PydanticObjectId
    team_id: PydanticObjectId
    city_id: PydanticObjectId | None = None  # the runner's home city when the run was logged
    started_at: datetime
    # started_at + duration_s: a run occupies [started_at, ends_at) and a runner's runs never
    # overlap (service.runs.overlap). None on runs stored before it existed: the overlap query
    # falls back to started_at + duration_s for them, and scripts/rebuild_scores.py backfills it
    ends_at: datetime | None = None
    day: datetime  # started_at truncated to its UTC day: the score bucket it counts in
    distance_km: float
    duration_s: int
    pace_s_per_km: float
    score: int
    score_version: int = 1
    elevation_gain_m: float | None = None
    # from an imported activity file: last - first timestamp (duration_s is the moving time)
    elapsed_s: int | None = None
    avg_hr: int | None = None
    max_hr: int | None = None
    source: Literal["manual", "gpx", "tcx", "fit"] = "manual"
    notes: str | None = None
    has_route: bool = False
    # social: who may see the run (service.social.access); its route is hidden from everyone
    # else when hide_route; likes/comments counts kept in step with those collections
    visibility: Visibility = "public"
    hide_route: bool = False
    likes_count: int = 0
    comments_count: int = 0
    # bumped by every edit: edits are compare-and-set on it, so two concurrent PATCHes cannot
    # both move the score buckets away from the same "before"
    revision: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "runs"
        use_revision = False
        # lists are newest first with _id as tie-breaker: every index ends (started_at, _id)
        # descending so filtered lists sort from the index
        indexes = [  # noqa: RUF012
            IndexModel(
                [("user_id", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
                name="user_started",
            ),
            IndexModel(
                [("team_id", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
                name="team_started",
            ),
            IndexModel(
                [("city_id", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
                name="city_started",
            ),
            IndexModel([("started_at", DESCENDING), ("_id", DESCENDING)], name="started"),
            # social (service.social.access.list_criteria): a user's runs as another viewer may
            # see them walk only the visible levels; everyone's list serves its public branch
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("visibility", ASCENDING),
                    ("started_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="user_visibility_started",
            ),
            IndexModel(
                [("visibility", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
                name="visibility_started",
            ),
            # personal records (service.records): a runner's longest, longest-lasting and
            # best-scored run, each one find_one; the earliest recorded wins a tie
            IndexModel(
                [("user_id", ASCENDING), ("distance_km", DESCENDING), ("_id", ASCENDING)],
                name="user_distance",
            ),
            IndexModel(
                [("user_id", ASCENDING), ("duration_s", DESCENDING), ("_id", ASCENDING)],
                name="user_duration",
            ),
            IndexModel(
                [("user_id", ASCENDING), ("score", DESCENDING), ("_id", ASCENDING)],
                name="user_score",
            ),
        ]


class RunRoute(Document):
    """A run's GPS track, apart from the run so listing runs never drags 20k points along."""

    id: PydanticObjectId  # type: ignore[assignment]  # the run's id
    user_id: PydanticObjectId
    # GeoJSON LineString of [lon, lat] (2dsphere-indexed); elevations/timestamps side by side
    geometry: dict[str, Any]
    elevations: list[float] | None = None
    timestamps: list[datetime] | None = None
    heart_rates: list[int | None] | None = None  # beats per minute, parallel to the positions
    # imported tracks: cumulative metres at each position, as the file measured them (the
    # device's distance, else the haversine sum within segments: a gap between segments adds
    # nothing). None (typed-in routes): splits measure along the positions
    distances: list[float] | None = None

    class Settings:
        name = "run_routes"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("geometry", GEOSPHERE)], name="geometry_2dsphere"),
            IndexModel([("user_id", ASCENDING)], name="user"),
        ]


class ScoreBucket(Document):
    """Pre-aggregated totals of one entity for one UTC day (or month), moved with $inc.

    kind=team: entity_id is the run's team; kind=city: the run's city; kind=user: the runner,
    with city_id the city the runs were credited to (so user boards filter by city history);
    kind=member: the runner within the run's team (team_id), for a team's own board.
    The `_month` kinds are month rollups of the same (day = the first of the month).
    The id is the natural key "<kind>|<entity_id>|<team_id or ->|<city_id or ->|<YYYY-MM-DD>"
    (`service.leaderboards.buckets.bucket_id`): every $inc upsert addresses one bucket by _id,
    which is unique by construction and the cheapest lookup on any store.
    """

    id: str | PydanticObjectId | None = None  # type: ignore[assignment]
    kind: BucketKind
    entity_id: PydanticObjectId
    team_id: PydanticObjectId | None = None  # member buckets only
    city_id: PydanticObjectId | None = None
    day: datetime
    score: int = 0
    distance_m: int = 0  # whole metres: integer sums never drift under +/- updates
    runs: int = 0

    class Settings:
        name = "score_buckets"
        use_revision = False
        indexes = [  # noqa: RUF012
            # every board: one kind over a range of days
            IndexModel([("kind", ASCENDING), ("day", ASCENDING)], name="kind_day"),
            # one entity's buckets (a runner's biggest week and month: service.records)
            IndexModel(
                [("kind", ASCENDING), ("entity_id", ASCENDING), ("day", ASCENDING)],
                name="kind_entity_day",
            ),
            # a team's member board and a city-filtered runner board over a custom period:
            # their equality fields first (service.queries: buckets_of_team_members/_city_users)
            IndexModel(
                [("kind", ASCENDING), ("team_id", ASCENDING), ("day", ASCENDING)],
                name="kind_team_day",
            ),
            IndexModel(
                [("kind", ASCENDING), ("city_id", ASCENDING), ("day", ASCENDING)],
                name="kind_city_day",
            ),
        ]


BoardKind = Literal["team", "city", "user", "member"]
BoardPeriod = Literal["day", "week", "month", "year", "all"]
# the order of every board: score descending, then the name lower-cased, then the entity's id
BOARD_ORDER = [("score", DESCENDING), ("sort_name", ASCENDING), ("entity_id", ASCENDING)]


class BoardTotal(Document):
    """One entity's totals for one standard period (day, ISO week, month, year, all), moved with
    $inc in the same write as its score buckets (`service.leaderboards.totals`).

    `board` names the board the row ranks on: "<kind>|<period>|<YYYY-MM-DD start or ->|<scope or
    ->", where `scope_id` is the team of a member row and the credited city of a user row (None:
    the runner over every city). The id is "<board>|<entity_id>". Rows are ordered on a board by
    the `board_order` index (score descending, then `sort_name`, then the entity), which returns
    a page in board order; a rank is 1 + an index count of rows with a higher score.
    """

    id: str  # type: ignore[assignment]
    board: str
    kind: BoardKind
    period: BoardPeriod
    start: datetime | None = None  # None for `all`
    scope_id: PydanticObjectId | None = None
    entity_id: PydanticObjectId
    sort_name: str  # the entity's name, lower-cased; kept on renames through service hooks
    team_kind: Literal["city", "custom"] | None = None  # team rows: the team's (immutable) kind
    team_city_id: PydanticObjectId | None = None  # team rows: the team's (immutable) city
    score: int = 0
    distance_m: int = 0
    runs: int = 0

    class Settings:
        name = "board_totals"
        use_revision = False
        indexes = [  # noqa: RUF012
            # a page of a board in board order; equality first, then the sort
            IndexModel(
                [("board", ASCENDING), *BOARD_ORDER],
                name="board_order",
            ),
            # the team board filtered by kind, or by city (then by kind within a city's teams)
            IndexModel(
                [("board", ASCENDING), ("team_kind", ASCENDING), *BOARD_ORDER],
                name="board_team_kind_order",
            ),
            IndexModel(
                [("board", ASCENDING), ("team_city_id", ASCENDING), *BOARD_ORDER],
                name="board_team_city_order",
            ),
            # renames and team deletions: every row of one entity
            IndexModel([("entity_id", ASCENDING), ("kind", ASCENDING)], name="entity_kind"),
        ]


class RunSlotLease(Document):
    """A short lease on one runner's timeline: id is the user's id.

    Whoever holds it may check for overlapping runs and then store or move a run; the check and
    the write are atomic together because every writer of that user's run times holds the lease
    first. A crashed holder's lease simply expires (`until`).
    """

    id: PydanticObjectId  # type: ignore[assignment]  # the runner's user id
    holder: str  # random token of the request holding it: only the holder releases it
    until: datetime

    class Settings:
        name = "run_slot_leases"
        use_revision = False


class IdempotencyKey(Document):
    """`Idempotency-Key` of a run submission: id is "<user_id>:<key>".

    Inserted before the run, with the run's pre-generated id: the unique _id makes one request
    the owner of the key, and the run's own _id makes exactly one request store the run.
    """

    id: str  # type: ignore[assignment]
    user_id: PydanticObjectId
    run_id: PydanticObjectId
    # sha256 of the validated request: a key reused for a different run is refused (422)
    fingerprint: str
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "idempotency_keys"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("created_at", ASCENDING)], name="created_ttl", expireAfterSeconds=7 * 86400
            ),
            IndexModel([("run_id", ASCENDING)], name="run"),
            IndexModel([("user_id", ASCENDING)], name="user"),
        ]
