"""Runs: recording (idempotent), reading, editing and deleting, each moving the score buckets.

Every state change of a run is one atomic write (insert, compare-and-set update, or
find-and-delete) followed by exactly one bucket move for that transition, so concurrent requests
never lose or double points. Hooks fire after the change is stored, never on an idempotent replay.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from beanie import PydanticObjectId
from bson import ObjectId
from pymongo.errors import DuplicateKeyError, WriteError

from documents import City, IdempotencyKey, Run, RunRoute, Team, User
from documents.clock import as_stored, utcnow
from service import events, queries
from service.errors import Conflict, Forbidden, NotFound, Unprocessable
from service.ids import object_id_or_404
from service.leaderboards import buckets
from service.likes import service as likes
from service.pagination import Page, PageParams, fetch_page, started_criteria
from service.privacy import zones
from service.runs import gpx, overlap, routes, scoring, splits
from service.runs.limits import check_plausible, round_to_metres
from service.runs.schemas import RouteIn, RunCreate, RunDetail, RunRead, RunUpdate
from service.social import access
from service.teams import membership

log = logging.getLogger("service.runs")

USER_DELETION_BATCH = 5000
# set on a user's runs by the account deletion that is taking them out: edits and single
# deletes leave such runs alone, so the totals withdrawn are exactly what was deleted. The
# claim is an ObjectId stamped with the clock: one older than this was left by a deletion that
# stopped half-way (a crashed process), and a later deletion takes it over
DELETION_CLAIM = "deletion_claim"
STALE_CLAIM = timedelta(minutes=10)
# MongoDB's "Can't extract geo keys": a geometry the 2dsphere index refuses
CANNOT_INDEX_GEOMETRY = 16755
_EDIT_ATTEMPTS = 5
_CLAIM_ATTEMPTS = 3
# fields whose change moves the run to other buckets or changes what it adds to them
_BUCKET_FIELDS = frozenset({"team_id", "day", "score", "distance_km"})


@dataclass(frozen=True)
class RunFilters:
    user_id: PydanticObjectId | None = None
    team_id: PydanticObjectId | None = None
    city_id: PydanticObjectId | None = None
    started_from: datetime | None = None  # inclusive
    started_to: datetime | None = None  # exclusive


# --- reading ----------------------------------------------------------------------------------


def to_read(run: Run) -> RunRead:
    return RunRead(
        id=str(run.id),
        user_id=str(run.user_id),
        team_id=str(run.team_id),
        city_id=str(run.city_id) if run.city_id else None,
        started_at=run.started_at,
        distance_km=run.distance_km,
        duration_s=run.duration_s,
        pace_s_per_km=run.pace_s_per_km,
        score=run.score,
        score_version=run.score_version,
        elevation_gain_m=run.elevation_gain_m,
        notes=run.notes,
        has_route=run.has_route,
        elapsed_s=run.elapsed_s,
        avg_hr=run.avg_hr,
        max_hr=run.max_hr,
        source=run.source,
        visibility=run.visibility,
        hide_route=run.hide_route,
        likes=run.likes_count,
        comments=run.comments_count,
        created_at=run.created_at,
        updated_at=run.updated_at,
    )


async def read(*, run: Run, viewer: User) -> RunDetail:
    """The run for a viewer who may see it; its route (and splits) when the route is not hidden
    from them, without the points inside the runner's privacy zones for anyone but the runner."""
    rel = await access.relation(viewer, run.user_id)
    route = None
    run_splits = None
    hidden = False
    if run.has_route:
        document = await routes.get_document(run.id)  # type: ignore[arg-type]
        if document is not None:
            # splits carry no positions: whoever may see the run sees them
            run_splits = splits.of_route(document)
            shown = await visible_route(run=run, viewer=viewer, rel=rel, document=document)
            route = routes.to_geojson(shown) if shown is not None else None
            hidden = shown is None
    liked = await likes.liked_by(viewer, "run", [run.id])
    return RunDetail(
        **to_read(run).model_dump(exclude={"liked_by_me"}),
        liked_by_me=run.id in liked,
        route=route,
        splits=run_splits,
        route_hidden=hidden,
    )


async def visible_route(
    *, run: Run, viewer: User | None, rel: access.Relation, document: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The run's `run_routes` document as `viewer` may see it (None: no route, hidden by
    `hide_route`, or every point inside the runner's privacy zones). `rel` is the viewer's
    relation to the runner (`access.relation`); `document` the route when already read."""
    if not zones.may_see_route(run, viewer, rel):
        return None
    if document is None:
        document = await routes.get_document(run.id)  # type: ignore[arg-type]
        if document is None:
            return None
    if rel == "owner":
        return document
    owner = await User.get(run.user_id)  # the runner's zones, read once per request
    if owner is None:
        return None
    return zones.visible_route(document, owner=owner, viewer=viewer)


async def route_gpx(*, run: Run, viewer: User) -> bytes:
    """The run's route as GPX 1.1, as `viewer` may see it (404 when it has none for them)."""
    rel = await access.relation(viewer, run.user_id)
    if not run.has_route:
        raise NotFound(f"Run {run.id} has no route")
    document = await visible_route(run=run, viewer=viewer, rel=rel)
    if document is None:
        raise NotFound(f"Run {run.id} has no route you may see")
    # ~0.1 s of CPU per 10,000 points: not on the event loop
    return await anyio.to_thread.run_sync(gpx.route_gpx, run, document)


async def existing(run_ids: list[PydanticObjectId]) -> list[PydanticObjectId]:
    """Those of `run_ids` that are stored runs (a short list: one file's runs)."""
    found = Run.get_motor_collection().find({"_id": {"$in": run_ids}}, {"_id": 1})
    stored = {doc["_id"] async for doc in found}
    return [run_id for run_id in run_ids if run_id in stored]


async def get(run_id: PydanticObjectId) -> Run:
    run = await Run.get(run_id)
    if run is None:
        raise NotFound(f"Run {run_id} not found")
    return run


async def get_visible(run_id: PydanticObjectId, viewer: User | None) -> Run:
    """The run, if `viewer` may see it; else the same 404 as for a run that does not exist."""
    run = await get(run_id)
    await access.require_visible(viewer, run.user_id, run.visibility, f"Run {run_id}")
    return run


async def search(*, filters: RunFilters, page: PageParams, viewer: User) -> Page[RunRead]:
    """Runs matching every given filter that `viewer` may see, newest start first."""
    criteria = started_criteria(filters.started_from, filters.started_to)
    for field in ("user_id", "team_id", "city_id"):
        value = getattr(filters, field)
        if value is not None:
            criteria[field] = value
    # one runner: their visible levels (index user_visibility_started walks only those);
    # everyone's: public rows, the viewer's own and their friends' `friends` rows
    criteria |= await access.list_criteria(viewer, filters.user_id)
    if "$or" in criteria:
        found = await fetch_page(queries.RUNS_VISIBLE, criteria, page)
    else:
        found = await fetch_page(queries.RUNS, criteria, page)
    liked = await likes.liked_by(viewer, "run", [r.id for r in found.rows])
    return found.page(
        [to_read(r).model_copy(update={"liked_by_me": r.id in liked}) for r in found.rows]
    )


# --- recording --------------------------------------------------------------------------------


async def team_for(*, user: User, team_id: str | None) -> PydanticObjectId:
    """The team a run is credited to: the given one (if the runner is in it) or the city team."""
    assert user.id is not None
    if team_id is None:
        city = await City.get(user.city_id) if user.city_id else None
        if city is None or city.team_id is None:
            raise Unprocessable(
                "team_id is required: you have no home city, so there is no city team to credit "
                "(set one with PATCH /users/me, or pass a team you belong to)",
                loc=("body", "team_id"),
            )
        return city.team_id
    # A malformed id names no team. Unknown teams are 404, not 403: teams are public (GET
    # /teams/{id} needs no token), so hiding their existence would protect nothing.
    team = await Team.get(object_id_or_404(team_id, "Team"))
    if team is None:
        raise NotFound(f"Team {team_id!r} not found")
    assert team.id is not None
    if not await membership.is_member(team_id=team.id, user_id=user.id):
        raise Forbidden(
            f"You are not a member of the team {team.name!r}; runs count only for your own teams"
        )
    return team.id


def _derived(*, distance_km: float, duration_s: int, started_at: datetime) -> dict[str, Any]:
    return {
        "day": buckets.day_of(started_at),
        "pace_s_per_km": round(duration_s / distance_km, 1),
        "score": scoring.score(distance_km, duration_s),
        "score_version": scoring.SCORE_VERSION,
    }


def _fingerprint(data: RunCreate) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _replayed(record: IdempotencyKey, fingerprint: str) -> Run | None:
    """The run a key already produced; None when its first request never stored the run."""
    if record.fingerprint != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was already used for a different run; use a new key per run",
            loc=("header", "idempotency-key"),
        )
    return await Run.get(record.run_id)


async def _claim(
    *, key_id: str, user_id: PydanticObjectId, fingerprint: str
) -> tuple[PydanticObjectId, bool, Run | None]:
    """Claim an Idempotency-Key for a new run id: (run_id, claimed by us, run to replay)."""
    for _ in range(_CLAIM_ATTEMPTS):
        run_id = PydanticObjectId()
        try:
            await IdempotencyKey(
                id=key_id, user_id=user_id, run_id=run_id, fingerprint=fingerprint
            ).insert()
            return run_id, True, None
        except DuplicateKeyError:
            # a concurrent request with this key claimed it first
            claim = await IdempotencyKey.get(key_id)
            if claim is None:  # released in between (its run was deleted or refused): again
                continue
            return claim.run_id, False, await _replayed(claim, fingerprint)
    raise Conflict("This Idempotency-Key is being claimed and released concurrently; retry")


async def record(
    *, user: User, data: RunCreate, idempotency_key: str | None = None
) -> tuple[Run, bool]:
    """Store a run and count it; returns (run, created). created=False is an idempotent replay."""
    assert user.id is not None
    now = utcnow()
    distance_km = round_to_metres(data.distance_km)
    check_plausible(
        started_at=data.started_at,
        distance_km=distance_km,
        duration_s=data.duration_s,
        now=now,
    )

    run_id: PydanticObjectId | None = None
    key_id = f"{user.id}:{idempotency_key}"
    fingerprint = _fingerprint(data) if idempotency_key else ""
    if idempotency_key:
        claim = await IdempotencyKey.get(key_id)
        if claim is not None:
            replayed = await _replayed(claim, fingerprint)
            if replayed is not None:
                return replayed, False
            run_id = claim.run_id  # the first request is in flight or stopped half-way

    team_id = await team_for(user=user, team_id=data.team_id)

    claimed_here = False
    if idempotency_key and run_id is None:
        run_id, claimed_here, replayed = await _claim(
            key_id=key_id, user_id=user.id, fingerprint=fingerprint
        )
        if replayed is not None:
            return replayed, False

    run = new_run(
        run_id=run_id,
        user=user,
        team_id=team_id,
        started_at=data.started_at,
        distance_km=distance_km,
        duration_s=data.duration_s,
        elevation_gain_m=data.elevation_gain_m,
        notes=data.notes,
        has_route=data.route is not None,
        now=now,
        visibility=data.visibility or user.default_visibility,
        hide_route=data.hide_route,
    )
    assert run.id is not None
    async with overlap.runner_timeline(user.id):
        stored = await _store(run, route=data.route, key_id=key_id if claimed_here else None)
    if stored is not run:
        return stored, False
    await buckets.apply(run, +1)
    await events.run_recorded.emit(run=run)
    return run, True


def new_run(
    *,
    user: User,
    team_id: PydanticObjectId,
    started_at: datetime,
    distance_km: float,
    duration_s: int,
    now: datetime,
    run_id: PydanticObjectId | None = None,
    elevation_gain_m: float | None = None,
    notes: str | None = None,
    has_route: bool = False,
    **measured: Any,
) -> Run:
    """A Run to store (validated values), with its derived fields; `measured` are the fields an
    activity file adds (elapsed_s, avg_hr, max_hr, source)."""
    stamp = as_stored(now)
    return Run(
        id=run_id or PydanticObjectId(),
        user_id=user.id,
        team_id=team_id,
        city_id=user.city_id,
        started_at=started_at,
        ends_at=overlap.ends_at(started_at, duration_s),
        distance_km=distance_km,
        duration_s=duration_s,
        elevation_gain_m=elevation_gain_m,
        notes=notes or None,
        has_route=has_route,
        created_at=stamp,
        updated_at=stamp,
        **measured,
        **_derived(distance_km=distance_km, duration_s=duration_s, started_at=started_at),
    )


@dataclass
class Recording:
    """A run to record with others (`record_together`) and its `run_routes` document."""

    run: Run
    route: dict[str, Any] | None = None  # routes.document(...)
    label: str = "run"  # how errors name it ("activity 2 of 3")


async def record_together(*, user: User, recordings: list[Recording]) -> list[Run]:
    """Store several runs of one runner all or nothing, each under the rules of POST /runs.

    Under the runner's lease: none may overlap a stored run (409 with conflicting_run_id);
    then every route and run is inserted. If an insert fails, the ones already inserted are
    removed again before the error goes on (they were not counted yet, so no total moves).
    Only when all are stored are they counted in the buckets and announced, one by one.
    The caller has checked them against the plausibility rules and against each other.
    """
    assert user.id is not None
    stored: list[Recording] = []
    async with overlap.runner_timeline(user.id):
        for recording in recordings:
            run = recording.run
            conflicting = await overlap.find_conflict(
                user_id=user.id, started_at=run.started_at, duration_s=run.duration_s
            )
            if conflicting is not None:
                raise overlap.overlap_conflict(conflicting)
        try:
            for recording in recordings:
                if recording.route is not None:
                    await _insert_route_document(recording)
                stored.append(recording)  # before the run: a half-done pair is removed too
                await recording.run.insert()
        except Exception:
            await _remove_uncounted([r.run.id for r in stored if r.run.id is not None])
            raise
    for recording in recordings:
        await buckets.apply(recording.run, +1)
        if recording.route is not None:
            # the stored route rides along: listeners need not read 20k points back
            await events.run_recorded.emit(run=recording.run, route=recording.route)
        else:
            await events.run_recorded.emit(run=recording.run)
    return [recording.run for recording in recordings]


async def _insert_route_document(recording: Recording) -> None:
    assert recording.route is not None
    try:
        await routes.insert_document(recording.route)
    except WriteError as exc:
        if exc.code != CANNOT_INDEX_GEOMETRY:
            raise
        detail = (exc.details or {}).get("errmsg", str(exc))
        raise Unprocessable(
            f"The route of {recording.label} cannot be stored as a 2dsphere LineString: {detail}",
            loc=("body", "file"),
        ) from exc


async def _remove_uncounted(run_ids: list[PydanticObjectId]) -> None:
    """Remove runs (and routes) stored by `record_together` before any was counted."""
    if run_ids:
        await Run.get_motor_collection().delete_many({"_id": {"$in": run_ids}})
        await RunRoute.get_motor_collection().delete_many({"_id": {"$in": run_ids}})


async def _store(run: Run, *, route: RouteIn | None, key_id: str | None) -> Run:
    """Insert the run (and its route) unless it overlaps another; the caller holds the lease.

    Returns `run` when this call stored it, or the run a concurrent request with the same
    Idempotency-Key stored first. `key_id` is the key this request claimed: released when the
    run is refused, so the client may fix it and retry with the same key.
    """
    assert run.id is not None
    # the run's own id is excluded: a retry with the same key must not conflict with itself
    conflicting = await overlap.find_conflict(
        user_id=run.user_id, started_at=run.started_at, duration_s=run.duration_s, exclude=run.id
    )
    if conflicting is not None:
        if key_id is not None:
            await IdempotencyKey.find({"_id": key_id, "run_id": run.id}).delete()
        raise overlap.overlap_conflict(conflicting)
    if route is not None:
        # The route goes first: if the database refuses the geometry, no run exists yet.
        try:
            await routes.insert(run_id=run.id, user_id=run.user_id, route=route)
        except DuplicateKeyError:
            pass  # same key, same body: a concurrent request stored this very route
        except WriteError as exc:
            if exc.code != CANNOT_INDEX_GEOMETRY:
                raise
            if key_id is not None:  # release the key: the client may fix the route and retry
                await IdempotencyKey.find({"_id": key_id, "run_id": run.id}).delete()
            detail = (exc.details or {}).get("errmsg", str(exc))
            raise Unprocessable(
                f"The route cannot be stored as a 2dsphere LineString: {detail}",
                loc=("body", "route"),
            ) from exc
    try:
        await run.insert()
    except DuplicateKeyError:
        # The run's _id is the key's run_id: exactly one request with this key stores it.
        winner = await Run.get(run.id)
        if winner is None:
            raise Conflict("This run was deleted while being recorded; retry") from None
        return winner
    return run


# --- editing ----------------------------------------------------------------------------------


async def update(*, run: Run, changes: RunUpdate, actor: User) -> Run:
    """Edit one's own run: re-validated, re-scored, moved between buckets, announced."""
    if run.user_id != actor.id:
        raise Forbidden("Only the runner can edit a run")
    data = changes.model_dump(exclude_unset=True)
    new_team: PydanticObjectId | None = None
    if "team_id" in data:
        # kept as a value to set (not only when it differs from `run`): after a concurrent edit
        # the retry below compares it with the reloaded run
        same = data["team_id"] == str(run.team_id)
        new_team = run.team_id if same else await team_for(user=actor, team_id=data["team_id"])

    for _ in range(_EDIT_ATTEMPTS):
        now = utcnow()
        values: dict[str, Any] = {}
        if "notes" in data:
            values["notes"] = data["notes"] or None
        if "elevation_gain_m" in data:
            values["elevation_gain_m"] = data["elevation_gain_m"]
        for social in ("visibility", "hide_route"):
            if social in data:
                values[social] = data[social]
        if new_team is not None:
            values["team_id"] = new_team
        started_at = data.get("started_at", run.started_at)
        distance_km = round_to_metres(data.get("distance_km", run.distance_km))
        duration_s = data.get("duration_s", run.duration_s)
        if {"started_at", "distance_km", "duration_s"} & data.keys():
            check_plausible(
                started_at=started_at, distance_km=distance_km, duration_s=duration_s, now=now
            )
            values.update(started_at=started_at, distance_km=distance_km, duration_s=duration_s)
            values["ends_at"] = overlap.ends_at(started_at, duration_s)
            values.update(
                _derived(distance_km=distance_km, duration_s=duration_s, started_at=started_at)
            )
        diff = {k: v for k, v in values.items() if getattr(run, k) != v}
        if not diff:
            return run
        if run.ends_at is None:  # stored before ends_at existed: this write fills it in
            diff["ends_at"] = overlap.ends_at(started_at, duration_s)
        diff["updated_at"] = as_stored(now)
        diff["revision"] = run.revision + 1
        # runs written before `revision` existed (or by bulk loaders) lack it: null matches them
        stored_revision = run.revision or {"$in": [0, None]}
        moves = bool({"started_at", "duration_s"} & diff.keys())
        # a run moved in time must land on a free slot: check and write under the lease
        async with overlap.runner_timeline(run.user_id) if moves else contextlib.nullcontext():
            if moves:
                conflicting = await overlap.find_conflict(
                    user_id=run.user_id,
                    started_at=started_at,
                    duration_s=duration_s,
                    exclude=run.id,
                )
                if conflicting is not None:
                    raise overlap.overlap_conflict(conflicting)
            result = await Run.get_motor_collection().update_one(
                {"_id": run.id, "revision": stored_revision, DELETION_CLAIM: {"$exists": False}},
                {"$set": diff},
            )
        if result.matched_count:
            after = run.model_copy(update=diff)
            if _BUCKET_FIELDS & diff.keys():
                await buckets.apply(run, -1)
                await buckets.apply(after, +1)
            await events.run_changed.emit(before=run, after=after)
            return after
        # edited or deleted since we read it: start again from what is stored now
        run = await get(run.id)  # type: ignore[arg-type]
    raise Conflict("The run is being edited concurrently; retry")


# --- deleting ---------------------------------------------------------------------------------


async def _take_out(run_id: PydanticObjectId) -> Run | None:
    """Delete one run atomically and withdraw exactly the state that was deleted."""
    # a run claimed by an account deletion (`delete_all_of`) is already going: not found
    raw = await Run.get_motor_collection().find_one_and_delete(
        {"_id": run_id, DELETION_CLAIM: {"$exists": False}}
    )
    if raw is None:
        return None
    removed = Run.model_validate(raw)
    await buckets.apply(removed, -1)
    return removed


async def delete(*, run: Run, actor: User) -> None:
    """Delete a run (its runner or an admin); its score leaves every total."""
    if run.user_id != actor.id and actor.role != "admin":
        raise Forbidden("Only the runner or an admin can delete a run")
    assert run.id is not None
    removed = await _take_out(run.id)
    if removed is None:
        raise NotFound(f"Run {run.id} not found")
    await RunRoute.find(RunRoute.id == run.id).delete()
    # the key is forgotten with its run: reusing it later records a new run
    await IdempotencyKey.find(IdempotencyKey.run_id == run.id).delete()
    await events.run_deleted.emit(run=removed)


async def delete_all_of(*, user: User) -> int:
    """Delete every run of a user in bulk, withdrawing them from the totals; returns count.

    Batch by batch, a fixed number of round trips whatever the batch size: the batch's runs
    are claimed (so a concurrent edit or delete of one of them stands back), read, deleted
    with one `delete_many`, and withdrawn from the buckets with one bulk `$inc` per bucket
    touched (`buckets.withdraw_many`). The batch is announced once with `runs_deleted`, and
    each run with `run_deleted` like any other deletion, so features that keep their own
    totals (challenges, goals) withdraw them too.
    """
    deleted = 0
    collection = Run.get_motor_collection()
    now = utcnow()
    # unique, and stamped with the service's clock (not the process's) for the staleness test
    claim = ObjectId(ObjectId.from_datetime(now).binary[:4] + ObjectId().binary[4:])
    free = {
        "user_id": user.id,
        "$or": [
            {DELETION_CLAIM: {"$exists": False}},
            {DELETION_CLAIM: {"$lt": ObjectId.from_datetime(now - STALE_CLAIM)}},
        ],
    }
    newest_first = [("started_at", -1), ("_id", -1)]  # the user_started index's order
    while True:
        # A batch is a range of the user_started index, from the newest free run down to the
        # USER_DELETION_BATCH-th (`edge`; none: all that is left): claimed, read and deleted
        # by that range, never by a list of ids ($in over 1,000 ids is slow on the embedded
        # store). Runs claimed by a concurrent deletion of the same account are left to it.
        edge = [
            doc
            async for doc in collection.find(free, {"started_at": 1})
            .sort(newest_first)
            .skip(USER_DELETION_BATCH - 1)
            .limit(1)
        ]
        scope: dict[str, Any] = free
        mine: dict[str, Any] = {"user_id": user.id, DELETION_CLAIM: claim}
        if edge:
            bound = edge[0]["started_at"]
            from_edge = [
                {"started_at": {"$gt": bound}},
                {"started_at": bound, "_id": {"$gte": edge[0]["_id"]}},
            ]
            scope = {"$and": [free, {"$or": from_edge}]}
            mine["started_at"] = {"$gte": bound}
        claimed = await collection.update_many(scope, {"$set": {DELETION_CLAIM: claim}})
        if not claimed.modified_count:
            if edge:
                continue  # the edge went meanwhile (deleted or edited): find another
            break
        removed = [Run.model_validate(raw) async for raw in collection.find(mine)]
        result = await collection.delete_many(mine)
        if result.deleted_count != len(removed):  # only if a claim went stale meanwhile
            log.warning(
                "Deleting runs of user %s: read %d claimed runs, deleted %d",
                user.id,
                len(removed),
                result.deleted_count,
            )
        await buckets.withdraw_many(removed)
        await RunRoute.get_motor_collection().delete_many({"_id": {"$in": [r.id for r in removed]}})
        deleted += len(removed)
        await events.runs_deleted.emit(user=user, runs=removed)
        for run in removed:
            await events.run_deleted.emit(run=run)
    # routes or keys of half-recorded runs
    await RunRoute.find(RunRoute.user_id == user.id).delete()
    await IdempotencyKey.find(IdempotencyKey.user_id == user.id).delete()
    if deleted:
        log.info("Deleted %d runs of user %s", deleted, user.id)
    return deleted


async def _on_user_deleted(*, user: User) -> None:
    await delete_all_of(user=user)


events.user_deleted.connect(_on_user_deleted)
