"""Activity files become runs (POST /runs/import), under the rules of POST /runs.

The file is parsed in a worker thread (`service.imports.parsing`, pure and CPU-bound); each
activity becomes a run checked like a typed-in one (plausibility limits, the team it is
credited to, no overlap with the runner's stored runs nor with the file's other activities).
Only when every activity passes is anything written: the file is claimed (`ActivityImport`,
unique per user and content), then `runs.record_together` stores all its runs under the
runner's lease, all or nothing, counts them and announces them. Any 4xx leaves nothing behind.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

import anyio
from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents import ActivityImport, User
from documents.clock import as_stored, utcnow
from documents.social import Visibility
from service import events
from service.errors import Conflict, PayloadTooLarge, Unprocessable
from service.imports import parsing
from service.imports.errors import NO_TIMES, ImportFileError
from service.imports.model import ParsedActivity, ParsedFile
from service.runs import routes, splits
from service.runs import service as runs
from service.runs.limits import MAX_ELEVATION_GAIN_M, check_plausible, round_to_metres
from service.runs.schemas import MAX_ELEVATION_M, MIN_ELEVATION_M, RunDetail

IMPORT_PATH = "/runs/import"
# room in the request body for the multipart framing and the small form fields, on top of the
# file's MAX_UPLOAD_BYTES (BodySizeLimitMiddleware lets this one route take that much)
MULTIPART_OVERHEAD_BYTES = 64 * 1024
READ_CHUNK_BYTES = 1024 * 1024
# a file holding more activities than this is refused (422): it is an archive, not a log entry
MAX_ACTIVITIES_PER_FILE = 500
# a claim without `stored_at` this old was left by an upload that stopped half-way
STALE_IMPORT_CLAIM = timedelta(minutes=10)
MIN_HEART_RATE = 20
MAX_HEART_RATE = 260

Parser = Callable[..., ParsedFile]


class Readable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class ImportOptions:
    """The form fields that come with the file."""

    team_id: str | None = None
    notes: str | None = None
    # only for a file without times: such a file has no start and no moving time of its own
    duration_s: int | None = None
    started_at: datetime | None = None
    # who may see the runs (service.social.access) and whether their routes are hidden
    visibility: Visibility = "public"
    hide_route: bool = False


@dataclass
class Imported:
    runs: list[RunDetail]
    warnings: list[str]


def _parser() -> Parser:
    """The parser (a seam: tests hand the service exactly the ParsedFile they need)."""
    return parsing.parse


async def read_upload(upload: Readable, *, max_bytes: int) -> bytes:
    """The uploaded file, read in chunks; 413 as soon as it grows past `max_bytes`."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The file is larger than MAX_UPLOAD_BYTES ({max_bytes} bytes)")
        chunks.append(chunk)
    if not size:
        raise ImportFileError("The file is empty")
    return b"".join(chunks)


async def import_file(
    *, user: User, content: bytes, options: ImportOptions, max_decompressed_bytes: int
) -> Imported:
    """Turn every activity of the file into a run, all or nothing."""
    assert user.id is not None
    team_id = await runs.team_for(user=user, team_id=options.team_id)
    now = utcnow()
    parse = functools.partial(_parser(), max_decompressed_bytes=max_decompressed_bytes, now=now)
    parsed: ParsedFile = await anyio.to_thread.run_sync(parse, content)
    warnings = list(parsed.warnings)
    count = len(parsed.activities)
    if not count:
        raise ImportFileError(f"The {parsed.format.upper()} file holds no activity")
    if count > MAX_ACTIVITIES_PER_FILE:
        raise ImportFileError(
            f"The file holds {count} activities; import at most {MAX_ACTIVITIES_PER_FILE} at a time"
        )
    if options.duration_s is not None and all(a.started_at for a in parsed.activities):
        warnings.append("duration_s was ignored: the file has times (it is for files without)")
    recordings = [
        _recording(
            user=user,
            team_id=team_id,
            activity=activity,
            label=f"activity {n} of {count}" if count > 1 else "the activity",
            file_format=parsed.format,
            options=options,
            now=now,
            warnings=warnings,
        )
        for n, activity in enumerate(parsed.activities, start=1)
    ]
    _check_apart(recordings)

    key = f"{user.id}:{parsed.sha256}"
    run_ids = [r.run.id for r in recordings if r.run.id is not None]
    await _claim(key=key, user_id=user.id, run_ids=run_ids)
    try:
        await runs.record_together(user=user, recordings=recordings)
    except Exception:
        # refused (overlap, a route the database cannot index...): the file may come again;
        # but a failure after the runs were stored (a hook) leaves the claim on them
        if not await runs.existing(run_ids):
            await ActivityImport.get_motor_collection().delete_one({"_id": key, "run_ids": run_ids})
        raise
    await ActivityImport.get_motor_collection().update_one(
        {"_id": key, "run_ids": run_ids}, {"$set": {"stored_at": as_stored(utcnow())}}
    )
    return Imported(runs=[_detail(r) for r in recordings], warnings=warnings)


# --- one activity, one run --------------------------------------------------------------------


def _recording(
    *,
    user: User,
    team_id: PydanticObjectId,
    activity: ParsedActivity,
    label: str,
    file_format: str,
    options: ImportOptions,
    now: datetime,
    warnings: list[str],
) -> runs.Recording:
    """The run (and route) of one activity, checked against the run rules (422 otherwise)."""
    elapsed_s = activity.elapsed_s
    duration_s: int | None
    if activity.started_at is None:
        if options.started_at is None or options.duration_s is None:
            what = NO_TIMES.get(file_format, "The file has no times")
            raise ImportFileError(
                f"{what}: give the form fields started_at and duration_s to import it"
            )
        started_at, duration_s, elapsed_s = options.started_at, options.duration_s, None
    else:
        started_at = activity.started_at
        duration_s = activity.duration_s if activity.duration_s else activity.elapsed_s
        if not duration_s:
            raise ImportFileError(f"{label.capitalize()} lasts no time: it has a single time")
    started_at = as_stored(started_at)
    distance_km = round_to_metres(activity.distance_km) if activity.distance_km > 0 else 0.0
    where = f"{label.capitalize()} (started {started_at.isoformat().replace('+00:00', 'Z')})"
    try:
        check_plausible(
            started_at=started_at, distance_km=distance_km, duration_s=duration_s, now=now
        )
    except Unprocessable as exc:
        raise ImportFileError(f"{where}: {exc.detail}") from None

    elevation_gain_m = activity.elevation_gain_m
    if elevation_gain_m is not None and not 0 <= elevation_gain_m <= MAX_ELEVATION_GAIN_M:
        warnings.append(f"{where}: elevation gain {elevation_gain_m:.0f} m is implausible, dropped")
        elevation_gain_m = None
    run_id = PydanticObjectId()
    route = _route(
        run_id=run_id, user_id=user.id, activity=activity, where=where, warnings=warnings
    )
    run = runs.new_run(
        run_id=run_id,
        user=user,
        team_id=team_id,
        started_at=started_at,
        distance_km=distance_km,
        duration_s=int(duration_s),
        elevation_gain_m=round(elevation_gain_m, 1) if elevation_gain_m is not None else None,
        notes=options.notes,
        has_route=route is not None,
        now=now,
        elapsed_s=elapsed_s,
        avg_hr=_heart_rate(activity.avg_hr),
        max_hr=_heart_rate(activity.max_hr),
        source=file_format,
        visibility=options.visibility,
        hide_route=options.hide_route,
    )
    return runs.Recording(run=run, route=route, label=label)


def _heart_rate(value: int | None) -> int | None:
    return int(value) if value is not None and MIN_HEART_RATE <= value <= MAX_HEART_RATE else None


def _route(
    *,
    run_id: PydanticObjectId,
    user_id: PydanticObjectId | None,
    activity: ParsedActivity,
    where: str,
    warnings: list[str],
) -> dict[str, Any] | None:
    """The `run_routes` document of the activity's positioned points; None without a route."""
    assert user_id is not None
    # column by column, each one comprehension or C-level call (a 20,000-point track: every
    # call per point shows); positions are tuples, which the garbage collector stops scanning
    points = [p for p in activity.points if _placed(p.lon, p.lat)]
    coordinates = cast(list[tuple[float, float]], [(p.lon, p.lat) for p in points])
    antipodal = any(a[1] == -b[1] and _antipodal(a, b) for a, b in itertools.pairwise(coordinates))
    times = [p.time for p in points]
    metres = [p.distance_m for p in points]
    # stored only when every position has one
    distances = None if None in metres else [round(float(d), 2) for d in cast(list[float], metres)]
    heart_rates = [
        int(h)
        if (h := p.heart_rate) is not None and MIN_HEART_RATE <= h <= MAX_HEART_RATE
        else None
        for p in points
    ]
    elevations = [
        e if (e := p.elevation_m) is not None and MIN_ELEVATION_M <= e <= MAX_ELEVATION_M else None
        for p in points
    ]
    if not coordinates:
        return None  # a treadmill or indoor activity: a run without a route
    first = coordinates[0]
    if len(coordinates) < 2 or all(c == first for c in coordinates):
        warnings.append(f"{where}: fewer than two distinct positions, stored without a route")
        return None
    if antipodal:  # a 2dsphere index cannot store such an edge
        warnings.append(f"{where}: the track jumps to the antipodes, stored without a route")
        return None

    timestamps = None
    if None not in times:
        # the parser's times are UTC at BSON precision already: as_stored would copy each
        stored = [
            t if t.tzinfo is UTC and not t.microsecond % 1000 else as_stored(t)
            for t in cast(list[datetime], times)
        ]
        if all(a <= b for a, b in itertools.pairwise(stored)):
            timestamps = stored
    if timestamps is None and any(t is not None for t in times):
        warnings.append(f"{where}: the route's times are incomplete, stored without times")

    return routes.document(
        run_id=run_id,
        user_id=user_id,
        coordinates=coordinates,
        elevations=_elevations(elevations),
        timestamps=timestamps,
        heart_rates=heart_rates if any(h is not None for h in heart_rates) else None,
        distances=distances,
    )


def _placed(lon: float | None, lat: float | None) -> bool:
    return lon is not None and lat is not None and -180 <= lon <= 180 and -90 <= lat <= 90


def _antipodal(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return bool(a[1] == -b[1] and (abs(a[1]) == 90 or abs(abs(a[0] - b[0]) - 180) < 1e-9))


def _elevations(values: list[float | None]) -> list[float] | None:
    """One elevation per position, or None when the track has none: a missing one (a dropped
    placeholder) takes the previous known value, leading ones the first known."""
    known = next((v for v in values if v is not None), None)
    if known is None:
        return None
    out: list[float] = []
    last = known
    for value in values:
        if value is not None:
            last = value
        out.append(round(float(last), 2))
    return out


def _check_apart(recordings: list[runs.Recording]) -> None:
    """The file's activities must not overlap each other (a runner runs one run at a time)."""
    ordered = sorted(recordings, key=lambda r: r.run.started_at)
    for a, b in itertools.pairwise(ordered):
        assert a.run.ends_at is not None
        if a.run.ends_at > b.run.started_at:
            raise ImportFileError(
                f"The file's {a.label} and {b.label} overlap in time (a run occupies "
                "[start, start + duration_s)): a runner's runs cannot overlap"
            )


def _detail(recording: runs.Recording) -> RunDetail:
    read = runs.to_read(recording.run).model_dump()
    if recording.route is None:
        return RunDetail(**read)
    return RunDetail(
        **read,
        route=routes.to_geojson_unchecked(recording.route),
        splits=splits.of_route(recording.route),
    )


# --- the same file twice ----------------------------------------------------------------------


async def _claim(*, key: str, user_id: PydanticObjectId, run_ids: list[PydanticObjectId]) -> None:
    """Claim the file for these runs, or 409 when it was imported (or is being imported)."""
    for _ in range(3):
        claim = await ActivityImport.get(key)
        if claim is not None:
            await _release_if_free(claim)
        try:
            await ActivityImport(id=key, user_id=user_id, run_ids=run_ids).insert()
            return
        except DuplicateKeyError:
            continue  # a concurrent upload of the same file claimed it first: look again
    claim = await ActivityImport.get(key)
    if claim is not None:
        await _release_if_free(claim)
    raise Conflict("This file is being imported by another request; retry in a moment")


async def _release_if_free(claim: ActivityImport) -> None:
    """409 when the claim still holds: its runs exist, or its upload is under way."""
    in_flight = claim.stored_at is None
    if in_flight and as_stored(claim.created_at) > utcnow() - STALE_IMPORT_CLAIM:
        raise Conflict(
            "This file is being imported by another request",
            extra={"run_ids": [str(i) for i in claim.run_ids]},
        )
    # stored, or an upload that stopped (maybe after storing its runs): do they still exist?
    remaining = await runs.existing(claim.run_ids)
    if remaining:
        ids = ", ".join(str(i) for i in remaining)
        raise Conflict(
            f"You already imported this file: it made the runs {ids} "
            "(delete them to import it again)",
            extra={"run_ids": [str(i) for i in remaining]},
        )
    # every run it made is gone (or its upload died before storing any): the file is free
    await ActivityImport.get_motor_collection().delete_one(
        {"_id": claim.id, "run_ids": claim.run_ids}
    )


async def _on_user_deleted(*, user: User) -> None:
    await ActivityImport.get_motor_collection().delete_many({"user_id": user.id})


events.user_deleted.connect(_on_user_deleted)
