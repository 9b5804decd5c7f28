"""Challenges: create, list, join/leave, progress kept by the activity hooks, completion.

Exactness: every activity's share of a challenge is one `ChallengeContribution` row keyed by
(challenge, activity). Whoever writes it (the activity hook, a late join's backfill, the
rebuild) *sets* it and moves the participant's progress (and the team/city total, and the
collective total) by the difference that write made, read atomically from the write itself
(find-and-modify returning the row before). So a join racing a hook counts each activity once.
Completion is a conditional write on `completed_at` (set only while unset and progress >=
goal; unset only while set and progress < goal, before the end), and the XP entry
"challenge:<challenge>:<user>" is then *settled* to what the stored state says, re-read until
it holds still, so interleaved completions and withdrawals end with the ledger matching.
"""

from __future__ import annotations

import calendar as cal
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from documents import City, Membership, Run, Team, User, Workout, XpEntry
from documents.challenge import (
    Challenge,
    ChallengeContribution,
    ChallengeGroup,
    ChallengeParticipant,
)
from documents.clock import as_stored, utcnow
from service import events
from service.challenges.schemas import (
    MAX_USER_XP_REWARD,
    ChallengeCreate,
    ChallengeRead,
    Leaderboard,
    LeaderboardRow,
    MyProgress,
    ParticipationRead,
    Status,
)
from service.errors import Conflict, Forbidden, NotFound, Unprocessable
from service.pagination import Page, PageParams, fetch_page
from service.queries import ASC, DESC, QueryShape, Shapes
from service.xp import ledger

log = logging.getLogger("service.challenges")

EPS = 1e-9
# bounds of the per-activity lookups (a user's open participations, open city/global ones)
MAX_OPEN = 500
RUN_METRICS = {"distance_km", "runs", "duration_min", "score", "elevation_m", "activities"}
WORKOUT_METRICS = {"duration_min", "workouts", "activities"}

# --- query shapes (service.queries) ----------------------------------------------------------

_WHY_ACTIVE = "active = ends_at > now (the index range) and starts_at <= now: a few open ones"
CHALLENGE_LISTS = Shapes(
    "challenges",
    (
        QueryShape(
            "challenges_by_end",
            Challenge,
            sort=(("ends_at", ASC),),
            range=("ends_at",),
            residual=("starts_at",),
            index="ends_id",
            why=_WHY_ACTIVE,
        ),
        QueryShape(
            "challenges_by_start",
            Challenge,
            sort=(("starts_at", ASC),),
            range=("starts_at",),
            index="starts_id",
        ),
        QueryShape(
            "challenges_scope_by_end",
            Challenge,
            equality=("scope",),
            sort=(("ends_at", ASC),),
            range=("ends_at",),
            residual=("starts_at",),
            index="scope_ends_id",
            why=_WHY_ACTIVE,
        ),
        QueryShape(
            "challenges_scope_by_start",
            Challenge,
            equality=("scope",),
            sort=(("starts_at", ASC),),
            range=("starts_at",),
            index="scope_starts_id",
        ),
    ),
)
ENDED_LISTS = Shapes(
    "challenges_ended",
    (
        QueryShape(
            "challenges_ended",
            Challenge,
            sort=(("ends_at", DESC),),
            range=("ends_at",),
            index="ends_desc_id",
        ),
        QueryShape(
            "challenges_scope_ended",
            Challenge,
            equality=("scope",),
            sort=(("ends_at", DESC),),
            range=("ends_at",),
            index="scope_ends_desc_id",
        ),
    ),
)
MY_PARTICIPATIONS = QueryShape(
    "challenge_participations",
    ChallengeParticipant,
    equality=("user_id",),
    sort=(("ends_at", DESC),),
    range=("ends_at",),
    index="user_ends",
)
OPEN_AUTO = QueryShape(
    "challenges_open_auto",
    Challenge,
    equality=("scope", "city_id"),
    range=("ends_at",),
    residual=("starts_at",),
    index="scope_city_ends",
    tie_break=False,
    why="open city/global challenges: ends_at > the activity (range), started before it",
)
PARTICIPANT_BOARD = QueryShape(
    "challenge_participant_board",
    ChallengeParticipant,
    equality=("challenge_id",),
    sort=(("progress", DESC), ("_id", ASC)),
    index="challenge_progress",
)
GROUP_BOARD = QueryShape(
    "challenge_group_board",
    ChallengeGroup,
    equality=("challenge_id",),
    sort=(("progress", DESC), ("_id", ASC)),
    index="challenge_progress",
)
CONTRIBUTIONS_OF = QueryShape(
    "challenge_contributions_of",
    ChallengeContribution,
    equality=("challenge_id", "user_id"),
    index="challenge_user",
    tie_break=False,
)


# --- reading ------------------------------------------------------------------------------------


def status_of(challenge: Challenge | dict[str, Any], now: datetime) -> Status:
    starts = challenge["starts_at"] if isinstance(challenge, dict) else challenge.starts_at
    ends = challenge["ends_at"] if isinstance(challenge, dict) else challenge.ends_at
    if now < starts:
        return "upcoming"
    return "active" if now < ends else "ended"


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def to_read(challenge: Challenge, me: MyProgress | None = None) -> ChallengeRead:
    return ChallengeRead(
        id=str(challenge.id),
        title=challenge.title,
        description=challenge.description,
        metric=challenge.metric,
        goal=challenge.goal,
        starts_at=challenge.starts_at,
        ends_at=challenge.ends_at,
        status=status_of(challenge, utcnow()),
        scope=challenge.scope,
        team_id=_opt(challenge.team_id),
        city_id=_opt(challenge.city_id),
        mode=challenge.mode,
        recurrence=challenge.recurrence,
        series_id=str(challenge.series_id),
        xp_reward=challenge.xp_reward,
        creator_id=str(challenge.creator_id),
        participants_count=challenge.participants_count,
        total=round(challenge.total, 3),
        completed_at=challenge.completed_at,
        created_at=challenge.created_at,
        me=me,
    )


async def get(challenge_id: PydanticObjectId) -> Challenge:
    challenge = await Challenge.get(challenge_id)
    if challenge is None:
        raise NotFound(f"Challenge {challenge_id} not found")
    return challenge


def participant_id(challenge_id: Any, user_id: Any) -> str:
    return f"{challenge_id}:{user_id}"


async def _rank(collection: Any, challenge_id: Any, progress: float) -> int:
    higher = await collection.count_documents(
        {"challenge_id": challenge_id, "progress": {"$gt": progress + EPS}}
    )
    return int(higher) + 1


async def my_progress(challenge: Challenge, user: User) -> MyProgress | None:
    row = await ChallengeParticipant.get_motor_collection().find_one(
        {"_id": participant_id(challenge.id, user.id)}
    )
    if row is None:
        return None
    return MyProgress(
        progress=round(row["progress"], 3),
        rank=await _rank(
            ChallengeParticipant.get_motor_collection(), challenge.id, row["progress"]
        ),
        completed_at=row.get("completed_at"),
        joined_at=row["joined_at"],
    )


async def read(challenge: Challenge, user: User) -> ChallengeRead:
    return to_read(challenge, await my_progress(challenge, user))


async def search(
    *, status: Status | None, scope: str | None, mine: bool, user: User, page: PageParams
) -> Page[ChallengeRead]:
    """Challenges by status (active: ending soonest first; upcoming: starting soonest; ended:
    ended last first; none: every challenge not ended yet, by end), optionally one scope, or
    only the caller's."""
    from service.challenges import recurrence

    await recurrence.tick()
    now = utcnow()
    if mine:
        crit: dict[str, Any] = {"user_id": user.id}
        if status == "ended":
            crit["ends_at"] = {"$lte": now}
        elif status is not None:
            crit["ends_at"] = {"$gt": now}
        found_p = await fetch_page(MY_PARTICIPATIONS, crit, page)
        ids = [row.challenge_id for row in found_p.rows]
        by_id = {c.id: c for c in await Challenge.find({"_id": {"$in": ids}}).to_list()}
        items = [
            to_read(by_id[i])
            for i in ids
            if i in by_id
            and (status is None or status_of(by_id[i], now) == status)
            and (scope is None or by_id[i].scope == scope)
        ]
        return found_p.page(items)
    criteria: dict[str, Any] = {}
    if scope is not None:
        criteria["scope"] = scope
    if status == "upcoming":
        criteria["starts_at"] = {"$gt": now}
    elif status == "ended":
        criteria["ends_at"] = {"$lte": now}
    else:
        criteria["ends_at"] = {"$gt": now}
        if status == "active":
            criteria["starts_at"] = {"$lte": now}
    if status == "ended":
        found = await fetch_page(ENDED_LISTS, criteria, page)
    else:
        found = await fetch_page(CHALLENGE_LISTS, criteria, page)
    return found.page([to_read(c) for c in found.rows])


async def my_challenges(*, user: User, page: PageParams) -> Page[ParticipationRead]:
    """The caller's participations, latest ending first."""
    found = await fetch_page(MY_PARTICIPATIONS, {"user_id": user.id}, page)
    ids = [row.challenge_id for row in found.rows]
    by_id = {c.id: c for c in await Challenge.find({"_id": {"$in": ids}}).to_list()}
    return found.page(
        [
            ParticipationRead(
                challenge=to_read(by_id[row.challenge_id]),
                progress=round(row.progress, 3),
                completed_at=row.completed_at,
                joined_at=row.joined_at,
            )
            for row in found.rows
            if row.challenge_id in by_id
        ]
    )


async def leaderboard(*, challenge: Challenge, limit: int, offset: int) -> Leaderboard:
    """Participants (individual/collective), teams or cities, by progress; competition
    ranking (equal progress, equal rank; the next rank skips)."""
    groups = challenge.mode in ("teams", "cities")
    shape = GROUP_BOARD if groups else PARTICIPANT_BOARD
    collection = shape.document.get_motor_collection()
    crit = shape.check({"challenge_id": challenge.id})
    total = int(await collection.count_documents(crit))
    rows = await collection.find(crit, sort=shape.order).skip(offset).limit(limit).to_list(None)
    names: dict[Any, str] = {}
    if groups:
        ids = [r["group_id"] for r in rows]
        model: Any = Team if challenge.mode == "teams" else City
        async for doc in model.get_motor_collection().find({"_id": {"$in": ids}}, {"name": 1}):
            names[doc["_id"]] = doc["name"]
    else:
        ids = [r["user_id"] for r in rows]
        async for doc in User.get_motor_collection().find({"_id": {"$in": ids}}, {"name": 1}):
            names[doc["_id"]] = doc["name"]
    items: list[LeaderboardRow] = []
    rank = 0
    previous: float | None = None
    for i, row in enumerate(rows):
        if previous is None:
            rank = await _rank(collection, challenge.id, row["progress"])
        elif row["progress"] < previous - EPS:
            rank = offset + i + 1
        previous = row["progress"]
        key = row["group_id"] if groups else row["user_id"]
        items.append(
            LeaderboardRow(
                rank=rank,
                id=str(key),
                name=names.get(key, "(deleted)"),
                progress=round(row["progress"], 3),
                completed_at=None if groups else row.get("completed_at"),
            )
        )
    kind = "teams" if challenge.mode == "teams" else "cities" if groups else "participants"
    return Leaderboard(kind=kind, items=items, total=total, limit=limit, offset=offset)


# --- creating -----------------------------------------------------------------------------------


async def create(*, data: ChallengeCreate, actor: User) -> Challenge:
    """Who creates: public — any user; team — the team's owner or an admin; city — a resident
    of the city (users.city_id) or an admin; global — an admin. Users give at most
    MAX_USER_XP_REWARD XP."""
    admin = actor.role == "admin"
    team_id = city_id = None
    if data.scope == "global" and not admin:
        raise Forbidden("Only an admin creates a global challenge")
    if data.xp_reward > MAX_USER_XP_REWARD and not admin:
        raise Unprocessable(
            f"xp_reward may be at most {MAX_USER_XP_REWARD}", loc=("body", "xp_reward")
        )
    if data.team_id is not None:
        team_id = _object_id(data.team_id, "team_id")
        team = await Team.get(team_id)
        if team is None:
            raise Unprocessable("No such team", loc=("body", "team_id"))
        if not admin and team.owner_id != actor.id:
            raise Forbidden("Only the team's owner or an admin creates a team challenge")
    if data.city_id is not None:
        city_id = _object_id(data.city_id, "city_id")
        if await City.get(city_id) is None:
            raise Unprocessable("No such city", loc=("body", "city_id"))
        if not admin and actor.city_id != city_id:
            raise Forbidden("Only a resident of the city or an admin creates a city challenge")
    starts, ends = as_stored(data.starts_at), as_stored(data.ends_at)
    if ends <= utcnow():
        raise Unprocessable("ends_at is past: the challenge would be over", loc=("body", "ends_at"))
    challenge_id = PydanticObjectId()
    challenge = Challenge(
        id=challenge_id,
        title=data.title,
        description=data.description,
        metric=data.metric,
        goal=data.goal,
        starts_at=starts,
        ends_at=ends,
        scope=data.scope,
        team_id=team_id,
        city_id=city_id,
        mode=data.mode,
        recurrence=data.recurrence,
        series_id=challenge_id,
        next_due=ends if data.recurrence != "none" else None,
        xp_reward=data.xp_reward,
        creator_id=actor.id,  # type: ignore[arg-type]
    )
    await challenge.insert()
    return challenge


def _object_id(value: str, field: str) -> PydanticObjectId:
    try:
        return PydanticObjectId(value)
    except Exception:
        raise Unprocessable(f"{field} is not an id", loc=("body", field)) from None


async def delete(*, challenge: Challenge) -> None:
    """Admin delete: the challenge, its participants, contributions and totals go, and the XP
    its completions credited is withdrawn."""
    await Challenge.get_motor_collection().delete_one({"_id": challenge.id})
    participants = ChallengeParticipant.get_motor_collection()
    async for row in participants.find({"challenge_id": challenge.id}, {"user_id": 1}):
        await ledger.remove_entry(ledger.entry_id("challenge", challenge.id, row["user_id"]))
    await participants.delete_many({"challenge_id": challenge.id})
    await ChallengeContribution.get_motor_collection().delete_many({"challenge_id": challenge.id})
    await ChallengeGroup.get_motor_collection().delete_many({"challenge_id": challenge.id})


# --- window arithmetic (recurrence) -------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, cal.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def next_window(
    recurrence: str, starts_at: datetime, ends_at: datetime, steps: int = 1
) -> tuple[datetime, datetime]:
    if recurrence == "weekly":
        shift = timedelta(days=7 * steps)
        return starts_at + shift, ends_at + shift
    return add_months(starts_at, steps), add_months(ends_at, steps)


# --- joining and leaving ----------------------------------------------------------------------


async def may_join(challenge: Challenge, user: User) -> None:
    if challenge.scope == "team":
        member = await Membership.get_motor_collection().find_one(
            {"team_id": challenge.team_id, "user_id": user.id}
        )
        if member is None:
            raise Forbidden("Only members of the challenge's team take part")
    elif challenge.scope == "city" and user.city_id != challenge.city_id:
        raise Forbidden("Only the city's residents take part in a city challenge")


async def join(*, challenge: Challenge, user: User) -> ChallengeRead:
    """Join (403 outside the scope, 409 twice or once it ended); the whole window counts."""
    if utcnow() >= challenge.ends_at:
        raise Conflict("This challenge has ended: its results are frozen")
    await may_join(challenge, user)
    if not await enrol(challenge, user.id):  # type: ignore[arg-type]
        raise Conflict("You already take part in this challenge")
    fresh = await get(challenge.id)  # type: ignore[arg-type]
    return await read(fresh, user)


async def enrol(challenge: Challenge, user_id: PydanticObjectId) -> bool:
    """Insert the participant, then count each of their activities in the window (late
    joiners get the whole window); False when already a participant."""
    try:
        await ChallengeParticipant.get_motor_collection().insert_one(
            {
                "_id": participant_id(challenge.id, user_id),
                "challenge_id": challenge.id,
                "user_id": user_id,
                "starts_at": challenge.starts_at,
                "ends_at": challenge.ends_at,
                "progress": 0.0,
                "completed_at": None,
                "joined_at": utcnow(),
            }
        )
    except DuplicateKeyError:
        return False
    await Challenge.get_motor_collection().update_one(
        {"_id": challenge.id}, {"$inc": {"participants_count": 1}}
    )
    await backfill(challenge, user_id)
    if challenge.mode == "collective":
        await mark_collective(challenge, user_id)  # the sum may have made it already
    return True


async def backfill(challenge: Challenge, user_id: PydanticObjectId) -> None:
    """Set the contribution of each of the user's activities in the window (one bounded
    indexed range per activity kind; a window is at most a year)."""
    window = {
        "user_id": user_id,
        "started_at": {"$gte": challenge.starts_at, "$lt": challenge.ends_at},
    }
    if challenge.metric in RUN_METRICS:
        async for run in Run.get_motor_collection().find(window, sort=[("started_at", -1)]):
            await _set_contribution(
                challenge,
                user_id,
                "run",
                run["_id"],
                run_value(challenge.metric, run),
                _group(challenge, run),
            )
            if await Run.get_motor_collection().find_one({"_id": run["_id"]}, {"_id": 1}) is None:
                await _set_contribution(challenge, user_id, "run", run["_id"], 0.0, None)
    if challenge.metric in WORKOUT_METRICS and challenge.mode in ("individual", "collective"):
        async for w in Workout.get_motor_collection().find(window, sort=[("started_at", -1)]):
            await _set_contribution(
                challenge, user_id, "workout", w["_id"], workout_value(challenge.metric, w), None
            )
            if await Workout.get_motor_collection().find_one({"_id": w["_id"]}, {"_id": 1}) is None:
                await _set_contribution(challenge, user_id, "workout", w["_id"], 0.0, None)
    if challenge.metric == "xp":
        entries = XpEntry.get_motor_collection().find(
            {"user_id": user_id, "at": {"$gte": challenge.starts_at, "$lt": challenge.ends_at}},
            sort=[("at", -1), ("_id", -1)],
        )
        async for entry in entries:
            if entry["kind"] != "challenge":
                await _set_contribution(
                    challenge, user_id, "xp", entry["_id"], float(entry["amount"]), None
                )


async def leave(*, challenge: Challenge, user: User) -> None:
    """Leave before the end (409 after: results are frozen; 404 when not a participant): the
    participation, its progress and any completion XP go; joining again counts the window
    afresh."""
    if utcnow() >= challenge.ends_at:
        raise Conflict("This challenge has ended: its results are frozen")
    removed = await ChallengeParticipant.get_motor_collection().find_one_and_delete(
        {"_id": participant_id(challenge.id, user.id)}
    )
    if removed is None:
        raise NotFound("You do not take part in this challenge")
    await Challenge.get_motor_collection().update_one(
        {"_id": challenge.id}, {"$inc": {"participants_count": -1}}
    )
    contributions = ChallengeContribution.get_motor_collection()
    crit = CONTRIBUTIONS_OF.check({"challenge_id": challenge.id, "user_id": user.id})
    async for row in contributions.find(crit):
        gone = await contributions.find_one_and_delete({"_id": row["_id"]})
        if gone is not None:
            await _move_totals(challenge, -gone["value"], gone.get("group_id"))
    await ledger.remove_entry(ledger.entry_id("challenge", challenge.id, user.id))
    if removed.get("completed_at") is not None:
        await events.challenge_withdrawn.emit(
            user_id=user.id, challenge_id=challenge.id, challenge=to_read(challenge), at=utcnow()
        )
    if challenge.mode == "collective":
        await _collective_check(challenge.id)  # type: ignore[arg-type]


# --- contributions and progress -----------------------------------------------------------------


def run_value(metric: str, run: dict[str, Any]) -> float:
    if metric == "distance_km":
        return float(run["distance_km"])
    if metric in ("runs", "activities"):
        return 1.0
    if metric == "duration_min":
        return run["duration_s"] / 60
    if metric == "score":
        return float(run.get("score", 0))
    if metric == "elevation_m":
        return float(run.get("elevation_gain_m") or 0.0)
    return 0.0


def workout_value(metric: str, workout: dict[str, Any]) -> float:
    if metric in ("workouts", "activities"):
        return 1.0
    if metric == "duration_min":
        return workout["duration_s"] / 60
    return 0.0


def _group(challenge: Challenge, run: dict[str, Any]) -> Any:
    if challenge.mode == "teams":
        return run.get("team_id")
    if challenge.mode == "cities":
        return run.get("city_id")
    return None


async def _set_contribution(
    challenge: Challenge, user_id: Any, kind: str, activity_id: Any, value: float, group: Any
) -> None:
    """Make the activity's contribution `value` (0 removes it) and move the totals by the
    difference this write made."""
    key = f"{challenge.id}:{kind}:{activity_id}"
    rows = ChallengeContribution.get_motor_collection()
    if challenge.mode in ("teams", "cities") and group is None:
        value = 0.0  # an activity credited to no team/city counts for no group
    if value == 0:
        before = await rows.find_one_and_delete({"_id": key})
        if before is not None:
            await _apply(challenge, user_id, -before["value"], before.get("group_id"))
        return
    while True:
        try:
            before = await rows.find_one_and_update(
                {"_id": key},
                {
                    "$set": {
                        "challenge_id": challenge.id,
                        "user_id": user_id,
                        "group_id": group,
                        "value": value,
                    }
                },
                upsert=True,
                return_document=ReturnDocument.BEFORE,
            )
            break
        except DuplicateKeyError:  # two upserts of a new row: the loser updates it
            continue
    if before is None:
        await _apply(challenge, user_id, value, group)
    elif before.get("group_id") != group:
        await _apply(challenge, user_id, -before["value"], before.get("group_id"))
        await _apply(challenge, user_id, value, group)
    elif before["value"] != value:
        await _apply(challenge, user_id, value - before["value"], group)


async def _move_totals(challenge: Challenge, delta: float, group: Any) -> None:
    if challenge.mode in ("teams", "cities") and group is not None:
        await ChallengeGroup.get_motor_collection().update_one(
            {"_id": f"{challenge.id}:{group}"},
            {
                "$inc": {"progress": delta},
                "$setOnInsert": {"challenge_id": challenge.id, "group_id": group},
            },
            upsert=True,
        )
    if challenge.mode == "collective":
        await Challenge.get_motor_collection().update_one(
            {"_id": challenge.id}, {"$inc": {"total": delta}}
        )


async def _apply(challenge: Challenge, user_id: Any, delta: float, group: Any) -> None:
    if delta == 0:
        return
    after = await ChallengeParticipant.get_motor_collection().find_one_and_update(
        {"_id": participant_id(challenge.id, user_id)},
        {"$inc": {"progress": delta}},
        return_document=ReturnDocument.AFTER,
    )
    if after is None:
        return  # left meanwhile: leave removes the contributions (the rebuild catches a straggler)
    await _move_totals(challenge, delta, group)
    if challenge.mode == "individual":
        await _individual_check(challenge, user_id)
    elif challenge.mode == "collective":
        await _collective_check(challenge.id)  # type: ignore[arg-type]


async def _individual_check(challenge: Challenge, user_id: Any) -> None:
    goal = float(challenge.goal or 0)
    participants = ChallengeParticipant.get_motor_collection()
    pid = participant_id(challenge.id, user_id)
    now = utcnow()
    done = await participants.update_one(
        {"_id": pid, "completed_at": None, "progress": {"$gte": goal - EPS}},
        {"$set": {"completed_at": now}},
    )
    if done.modified_count:
        await settle(challenge, user_id)
        await events.challenge_completed.emit(
            user_id=user_id, challenge_id=challenge.id, challenge=to_read(challenge), at=now
        )
        return
    if now >= challenge.ends_at:
        return
    undone = await participants.update_one(
        {"_id": pid, "completed_at": {"$ne": None}, "progress": {"$lt": goal - EPS}},
        {"$set": {"completed_at": None}},
    )
    if undone.modified_count:
        await settle(challenge, user_id)
        await events.challenge_withdrawn.emit(
            user_id=user_id, challenge_id=challenge.id, challenge=to_read(challenge), at=now
        )


async def _collective_check(challenge_id: PydanticObjectId) -> None:
    """The participants' sum reached the goal: the challenge is completed and every participant
    credited (joining later: credited on join); dropped below before the end: withdrawn."""
    challenges = Challenge.get_motor_collection()
    row = await challenges.find_one({"_id": challenge_id})
    if row is None:
        return
    challenge = Challenge.model_validate(row)
    goal = float(challenge.goal or 0)
    now = utcnow()
    done = await challenges.update_one(
        {"_id": challenge_id, "completed_at": None, "total": {"$gte": goal - EPS}},
        {"$set": {"completed_at": now}},
    )
    changed, hook = bool(done.modified_count), events.challenge_completed
    if not changed and now < challenge.ends_at:
        undone = await challenges.update_one(
            {"_id": challenge_id, "completed_at": {"$ne": None}, "total": {"$lt": goal - EPS}},
            {"$set": {"completed_at": None}},
        )
        changed, hook = bool(undone.modified_count), events.challenge_withdrawn
    if not changed:
        return
    del hook  # each participant's own transition announces it (mark_collective)
    async for p in ChallengeParticipant.get_motor_collection().find(
        {"challenge_id": challenge_id}, {"user_id": 1}
    ):
        await mark_collective(challenge, p["user_id"])


async def mark_collective(challenge: Challenge, user_id: Any) -> None:
    """Give the participant the collective challenge's completion (or take it back), each
    participant's transition a conditional write announced once; re-read until the
    challenge's state held still across it."""
    challenges = Challenge.get_motor_collection()
    participants = ChallengeParticipant.get_motor_collection()
    pid = participant_id(challenge.id, user_id)
    read_model = to_read(challenge)
    for _ in range(20):
        row = await challenges.find_one({"_id": challenge.id}, {"completed_at": 1})
        done = row.get("completed_at") if row else None
        if done is not None:
            moved = await participants.update_one(
                {"_id": pid, "completed_at": None}, {"$set": {"completed_at": done}}
            )
            hook = events.challenge_completed
        else:
            moved = await participants.update_one(
                {"_id": pid, "completed_at": {"$ne": None}}, {"$set": {"completed_at": None}}
            )
            hook = events.challenge_withdrawn
        if moved.modified_count:
            await settle(challenge, user_id)
            await hook.emit(
                user_id=user_id, challenge_id=challenge.id, challenge=read_model, at=utcnow()
            )
        again = await challenges.find_one({"_id": challenge.id}, {"completed_at": 1})
        if (again.get("completed_at") if again else None) == done:
            return


async def settle(challenge: Challenge, user_id: Any) -> None:
    """Make the user's XP entry for the challenge what the stored state says (completed:
    xp_reward; else none), re-reading until the state holds still across the write."""
    key = ledger.entry_id("challenge", challenge.id, user_id)
    for _ in range(20):
        wanted = await _wanted_reward(challenge, user_id)
        if wanted:
            await ledger.set_entry(
                user_id=user_id,
                kind="challenge",
                key=key,
                source_id=str(challenge.id),
                amount=wanted[0],
                at=wanted[1],
            )
        else:
            await ledger.remove_entry(key)
        if await _wanted_reward(challenge, user_id) == wanted:
            return


async def _wanted_reward(challenge: Challenge, user_id: Any) -> tuple[int, datetime] | None:
    if not challenge.xp_reward:
        return None
    p = await ChallengeParticipant.get_motor_collection().find_one(
        {"_id": participant_id(challenge.id, user_id)}
    )
    if p is None:
        return None
    done = p.get("completed_at")
    return None if done is None else (challenge.xp_reward, done)


# --- hooks --------------------------------------------------------------------------------------


async def _open_challenges(
    user_id: Any, city_id: Any, at: datetime, *, enrol_auto: bool
) -> list[Challenge]:
    """The open challenges (not ended) whose window holds `at` that the user takes part in;
    with `enrol_auto`, first enrolling them in the open city (their run's city) and global
    ones."""
    floor = max(at, utcnow())
    if enrol_auto:
        for scope, city in (("city", city_id), ("global", None)):
            if scope == "city" and city is None:
                continue
            crit = OPEN_AUTO.check({"scope": scope, "city_id": city, "ends_at": {"$gt": floor}})
            found = Challenge.get_motor_collection().find(crit).limit(MAX_OPEN)
            async for row in found:
                if row["starts_at"] <= at:
                    await enrol(Challenge.model_validate(row), user_id)
    crit = MY_PARTICIPATIONS.check({"user_id": user_id, "ends_at": {"$gt": floor}})
    ids = [
        row["challenge_id"]
        async for row in ChallengeParticipant.get_motor_collection()
        .find(crit, {"challenge_id": 1, "starts_at": 1})
        .limit(MAX_OPEN)
        if row["starts_at"] <= at
    ]
    if not ids:
        return []
    return await Challenge.find({"_id": {"$in": ids}}).to_list()


def _in(challenge: Challenge, at: datetime) -> bool:
    return challenge.starts_at <= at < challenge.ends_at and utcnow() < challenge.ends_at


async def _run_moved(before: Run | None, after: Run | None) -> None:
    run = after or before
    assert run is not None
    touched: dict[Any, Challenge] = {}
    for r in (before, after):
        if r is not None:
            for c in await _open_challenges(
                r.user_id, r.city_id, r.started_at, enrol_auto=r is after
            ):
                touched[c.id] = c
    doc = after.model_dump(by_alias=True) if after is not None else None
    for c in touched.values():
        if c.metric not in RUN_METRICS:
            continue
        if doc is not None and after is not None and _in(c, after.started_at):
            await _set_contribution(
                c, run.user_id, "run", run.id, run_value(c.metric, doc), _group(c, doc)
            )
        else:
            await _set_contribution(c, run.user_id, "run", run.id, 0.0, None)


async def _workout_moved(before: Workout | None, after: Workout | None) -> None:
    workout = after or before
    assert workout is not None
    touched: dict[Any, Challenge] = {}
    for w in (before, after):
        if w is not None:
            for c in await _open_challenges(w.user_id, None, w.started_at, enrol_auto=False):
                touched[c.id] = c
    for c in touched.values():
        if c.metric not in WORKOUT_METRICS or c.mode not in ("individual", "collective"):
            continue
        if after is not None and _in(c, after.started_at):
            value = workout_value(c.metric, after.model_dump(by_alias=True))
            await _set_contribution(c, workout.user_id, "workout", workout.id, value, None)
        else:
            await _set_contribution(c, workout.user_id, "workout", workout.id, 0.0, None)


async def _on_run_recorded(*, run: Run, **_: Any) -> None:
    await _run_moved(None, run)


async def _on_run_changed(*, before: Run, after: Run) -> None:
    await _run_moved(before, after)


async def _on_run_deleted(*, run: Run) -> None:
    await _run_moved(run, None)


async def _on_workout_recorded(*, workout: Workout, **_: Any) -> None:
    await _workout_moved(None, workout)


async def _on_workout_changed(*, before: Workout, after: Workout) -> None:
    await _workout_moved(before, after)


async def _on_workout_deleted(*, workout: Workout) -> None:
    await _workout_moved(workout, None)


async def _on_xp_changed(
    *, user_id: Any, kind: str, source_id: str, at: datetime, **_: Any
) -> None:
    if kind == "challenge":
        return  # a challenge's own reward never feeds an xp challenge
    challenges = [c for c in await _open_challenges(user_id, None, at, enrol_auto=False)]
    challenges = [c for c in challenges if c.metric == "xp" and _in(c, at)]
    if not challenges:
        return
    key = (
        ledger.entry_id("badge", user_id, source_id)  # type: ignore[arg-type]
        if kind == "badge"
        else ledger.entry_id(kind, source_id)  # type: ignore[arg-type]
    )
    entry = await XpEntry.get_motor_collection().find_one({"_id": key})
    if entry is None and kind == "goal":
        entry = await XpEntry.get_motor_collection().find_one(
            {"user_id": user_id, "kind": kind, "source_id": source_id}
        )
        key = entry["_id"] if entry else key
    amount = float(entry["amount"]) if entry else 0.0
    for c in challenges:
        await _set_contribution(c, user_id, "xp", key, amount, None)


async def _on_user_deleted(*, user: User) -> None:
    rows = ChallengeParticipant.get_motor_collection()
    async for row in rows.find({"user_id": user.id}, {"challenge_id": 1}).limit(10_000):
        challenge = await Challenge.get(row["challenge_id"])
        if challenge is not None and utcnow() < challenge.ends_at:
            with contextlib.suppress(NotFound):
                await leave(challenge=challenge, user=user)


def participants_of(rows: Sequence[dict[str, Any]]) -> list[Any]:
    return [r["user_id"] for r in rows]


def connect() -> None:
    """Attach the progress hooks (idempotent)."""
    events.run_recorded.connect(_on_run_recorded)
    events.run_changed.connect(_on_run_changed)
    events.run_deleted.connect(_on_run_deleted)
    events.workout_recorded.connect(_on_workout_recorded)
    events.workout_changed.connect(_on_workout_changed)
    events.workout_deleted.connect(_on_workout_deleted)
    events.xp_changed.connect(_on_xp_changed)
    events.user_deleted.connect(_on_user_deleted)


connect()
