"""From the raw points a reader found to a measured activity: the rules shared by GPX, TCX, FIT.

Readers (gpx.py, tcx.py, fit.py) only transcribe the file into `RawActivity`; everything a person
would call a judgement lives here, once: which points are bad, what a pause is, how far and how
high the runner went. README § "Import: what is computed from what" states the same rules.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from documents.clock import as_stored
from service.imports.model import MAX_ROUTE_POINTS, ParsedActivity, TrackPoint

EARTH_RADIUS_M = 6_371_008.8
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(days=1)
# altitudes at or below -500 m or above 9,000 m are devices' "no fix" placeholders
MIN_ELEVATION_M = -500.0
MAX_ELEVATION_M = 9_000.0
MIN_HEART_RATE = 20
MAX_HEART_RATE = 250
# moving-time rule (files without a device timer): an interval is a pause when the runner moved
# slower than PAUSE_SPEED_MPS; without distances on both ends, when it lasts over PAUSE_GAP_S;
# the gap between two track segments is always a pause
PAUSE_SPEED_MPS = 0.5
PAUSE_GAP_S = 30.0
# a jump of the clock by more than this between two consecutive points is no pause in a run:
# the track is cut there and only its main stretch is kept
CLOCK_JUMP_S = 6 * 3600
# elevation gain (files without a device total): hysteresis, a rise counts once it exceeds this
ELEVATION_THRESHOLD_M = 3.0


@dataclass(slots=True)
class RawPoint:
    time: datetime | None
    lat: float | None
    lon: float | None
    elevation_m: float | None = None
    heart_rate: float | None = None
    distance_m: float | None = None  # the device's cumulative distance, when it records one
    segment: int = 0  # index of the track segment (a new one after each pause of the device)


@dataclass
class RawActivity:
    """What a reader transcribed from one activity of the file, nothing judged yet."""

    points: list[RawPoint] = field(default_factory=list)
    # device totals, when the file has them (FIT session, sum of TCX laps)
    timer_s: float | None = None
    distance_m: float | None = None
    ascent_m: float | None = None
    avg_hr: float | None = None
    max_hr: float | None = None
    sport: str | None = None
    # a time the file gives for the start besides the points (TCX lap StartTime)
    start_hint: datetime | None = None


class Notes:
    """Counts of each kind of repair over the whole file, turned into one line per kind."""

    _TEXT = {  # noqa: RUF012
        "bad_time": "{n} point(s) with an impossible date (before 2000 or in the future): dropped",
        "no_time": "{n} point(s) without a time in a timed track: dropped",
        "backwards": "{n} point(s) whose time steps backwards: dropped",
        "no_position": "{n} point(s) without a valid position: kept for time and heart rate, "
        "not on the route",
        "untimed_no_position": "{n} point(s) with neither a time nor a position: dropped",
        "bad_elevation": "{n} altitude value(s) at or below -500 m or above 9,000 m (no fix): "
        "ignored",
        "bad_heart_rate": "{n} heart-rate value(s) outside 20-250 bpm: ignored",
        "downsampled": "{n} point(s) thinned out of the route: at most 20,000 points are kept",
    }

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lines: list[str] = []

    def add(self, kind: str, n: int = 1) -> None:
        if n:
            self.counts[kind] += n

    def say(self, line: str) -> None:
        self.lines.append(line)

    def warnings(self) -> list[str]:
        counted = [self._TEXT[k].format(n=n) for k, n in self.counts.items() if n]
        return self.lines + counted


def to_utc(moment: datetime) -> datetime:
    """A timestamp in UTC at BSON precision; a time without an offset is taken as UTC."""
    return as_stored(moment)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _human(seconds: float) -> str:
    days, rest = divmod(int(abs(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {rest // 60} min"


def _clean(raw: list[RawPoint], now: datetime, notes: Notes) -> list[RawPoint]:
    """Per-point repairs: impossible dates, positions, altitudes and heart rates."""
    latest = now + FUTURE_SKEW
    isfinite = math.isfinite
    for p in raw:
        if p.time is not None:
            t = p.time
            try:
                if t.tzinfo is not UTC or t.microsecond % 1000:
                    t = to_utc(t)
            except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
                t = EARLIEST_TIME - FUTURE_SKEW
            if t < EARLIEST_TIME or t > latest:
                notes.add("bad_time")
                p.time = None
            else:
                p.time = t
        lat, lon = p.lat, p.lon
        if lat is not None and lon is not None:
            if not (
                isfinite(lat)
                and isfinite(lon)
                and -90 <= lat <= 90
                and -180 <= lon <= 180
                and (lat, lon) != (0.0, 0.0)  # "null island": a fix the device never got
            ):
                p.lat = p.lon = None
        elif lat is not None or lon is not None:
            p.lat = p.lon = None
        e = p.elevation_m
        if e is not None and not (isfinite(e) and MIN_ELEVATION_M < e <= MAX_ELEVATION_M):
            notes.add("bad_elevation")
            p.elevation_m = None
        h = p.heart_rate
        if h is not None and not (isfinite(h) and MIN_HEART_RATE <= h <= MAX_HEART_RATE):
            notes.add("bad_heart_rate")
            p.heart_rate = None
        d = p.distance_m
        if d is not None and not (isfinite(d) and d >= 0):
            p.distance_m = None
    return raw


def _main_stretch(points: list[RawPoint], notes: Notes) -> list[RawPoint]:
    """Cut the track where the clock jumps by more than CLOCK_JUMP_S (either way) and keep the
    stretch with the most points, plus the stretches that continue it in time (a clock that
    jumps away and comes back loses only the points recorded in between)."""
    pieces: list[list[RawPoint]] = [[points[0]]]
    biggest_jump = 0.0
    for prev, p in itertools.pairwise(points):
        assert prev.time is not None and p.time is not None
        step = (p.time - prev.time).total_seconds()
        if abs(step) > CLOCK_JUMP_S:
            pieces.append([p])
            biggest_jump = max(biggest_jump, abs(step))
        else:
            pieces[-1].append(p)
    if len(pieces) == 1:
        return points
    main = max(range(len(pieces)), key=lambda i: len(pieces[i]))
    chosen = [main]

    def first(i: int) -> datetime:
        t = pieces[i][0].time
        assert t is not None
        return t

    def last(i: int) -> datetime:
        t = pieces[i][-1].time
        assert t is not None
        return t

    end = last(main)
    for i in range(main + 1, len(pieces)):
        if timedelta(0) <= first(i) - end <= timedelta(seconds=CLOCK_JUMP_S):
            chosen.append(i)
            end = last(i)
    start = first(main)
    for i in range(main - 1, -1, -1):
        if timedelta(0) <= start - last(i) <= timedelta(seconds=CLOCK_JUMP_S):
            chosen.append(i)
            start = first(i)
    chosen.sort()
    kept = [p for i in chosen for p in pieces[i]]
    dropped = len(points) - len(kept)
    notes.say(
        f"the clock jumps by {_human(biggest_jump)} within the track: the main stretch of "
        f"{len(kept)} point(s) was kept and {dropped} point(s) outside it were dropped"
    )
    return kept


def _forward_only(points: list[RawPoint], notes: Notes) -> list[RawPoint]:
    kept: list[RawPoint] = []
    last: datetime | None = None
    for p in points:
        assert p.time is not None
        if last is not None and p.time < last:
            notes.add("backwards")
            continue
        kept.append(p)
        last = p.time
    return kept


def _cumulative(points: list[RawPoint]) -> tuple[list[float | None], list[bool]]:
    """Cumulative distance per point, and whether the point measured its own distance.

    The device's distance records when the file has them (held monotone, starting at 0), else
    the 2-D haversine sum between consecutive positioned points of the same segment.
    """
    n = len(points)
    cum: list[float | None] = [None] * n
    measured = [False] * n
    if any(p.distance_m is not None for p in points):
        base: float | None = None
        value = 0.0
        for i, p in enumerate(points):
            d = p.distance_m
            if d is not None:
                if base is None:
                    base = d
                value = max(value, d - base)
                measured[i] = True
            cum[i] = value
        return cum, measured
    if not any(p.lat is not None for p in points):
        return cum, measured
    total = 0.0
    prev: RawPoint | None = None
    radians, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
    for i, p in enumerate(points):
        if p.lat is not None and p.lon is not None:
            if prev is not None and prev.segment == p.segment:
                assert prev.lat is not None and prev.lon is not None
                p1, p2 = radians(prev.lat), radians(p.lat)
                a = (
                    sin((p2 - p1) / 2) ** 2
                    + cos(p1) * cos(p2) * sin(radians(p.lon - prev.lon) / 2) ** 2
                )
                total += 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(a)))
            prev = p
            measured[i] = True
        cum[i] = total
    return cum, measured


def moving_time_s(points: list[RawPoint], cum: list[float | None], measured: list[bool]) -> float:
    """Seconds in motion by the pause rule (PAUSE_SPEED_MPS, PAUSE_GAP_S, segment gaps)."""
    moving = 0.0
    for i in range(1, len(points)):
        a, b = points[i - 1], points[i]
        if a.segment != b.segment or a.time is None or b.time is None:
            continue
        dt = (b.time - a.time).total_seconds()
        if dt <= 0:
            continue
        ca, cb = cum[i - 1], cum[i]
        if measured[i - 1] and measured[i] and ca is not None and cb is not None:
            if cb - ca >= PAUSE_SPEED_MPS * dt:
                moving += dt
        elif dt <= PAUSE_GAP_S:
            moving += dt
    return moving


def elevation_gain_m(elevations: list[float]) -> float:
    """Total climb with a hysteresis of ELEVATION_THRESHOLD_M: GPS/barometer noise of a few
    metres neither adds climbs nor hides a real one."""
    if not elevations:
        return 0.0
    gain = 0.0
    ref = elevations[0]
    for e in elevations:
        if e - ref >= ELEVATION_THRESHOLD_M:
            gain += e - ref
            ref = e
        elif ref - e >= ELEVATION_THRESHOLD_M:
            ref = e
    return gain


def downsample(n: int, limit: int = MAX_ROUTE_POINTS) -> list[int]:
    """Indices of at most `limit` points evenly spread over n, first and last included."""
    if n <= limit:
        return list(range(n))
    step = (n - 1) / (limit - 1)
    return [round(i * step) for i in range(limit)]


def finish(raw: RawActivity, *, now: datetime, notes: Notes) -> ParsedActivity | None:
    """The measured activity of `raw` (None when nothing usable is left of it)."""
    points = _clean(raw.points, now, notes)
    timed = any(p.time is not None for p in points)
    if timed:
        untimed = sum(1 for p in points if p.time is None)
        notes.add("no_time", untimed)
        points = [p for p in points if p.time is not None]
        points = _forward_only(_main_stretch(points, notes), notes)
        unplaced = sum(1 for p in points if p.lat is None)
        if unplaced < len(points):  # a treadmill file has no positions at all: nothing to say
            notes.add("no_position", unplaced)
    else:
        positioned = [p for p in points if p.lat is not None]
        notes.add("untimed_no_position", len(points) - len(positioned))
        points = positioned
    if not points and raw.distance_m is None and raw.timer_s is None:
        return None

    cum, measured = _cumulative(points)
    computed_m = next((c for c in reversed(cum) if c is not None), None)
    if raw.distance_m is not None and raw.distance_m > 0:
        distance_m = raw.distance_m
    else:
        distance_m = computed_m or 0.0

    started_at: datetime | None = None
    elapsed_s: int | None = None
    duration_s: int | None = None
    if timed:
        t0, t1 = points[0].time, points[-1].time
        assert t0 is not None and t1 is not None
        started_at = t0
        elapsed_s = round((t1 - t0).total_seconds())
        if raw.timer_s is not None and raw.timer_s > 0:
            duration_s = round(raw.timer_s)
        else:
            duration_s = round(moving_time_s(points, cum, measured))
    elif raw.timer_s is not None and raw.timer_s > 0 and raw.start_hint is not None:
        # a file with lap times but no timed points: the laps still date the activity
        hint = to_utc(raw.start_hint)
        if EARLIEST_TIME <= hint <= now + FUTURE_SKEW:
            started_at = hint
            duration_s = round(raw.timer_s)
            elapsed_s = duration_s

    elevations = [p.elevation_m for p in points if p.elevation_m is not None]
    if raw.ascent_m is not None and raw.ascent_m >= 0:
        gain: float | None = float(raw.ascent_m)
    else:
        gain = round(elevation_gain_m(elevations), 1) if elevations else None

    rates = [p.heart_rate for p in points if p.heart_rate is not None]
    avg_hr = raw.avg_hr if raw.avg_hr else (sum(rates) / len(rates) if rates else None)
    max_hr = raw.max_hr if raw.max_hr else (max(rates) if rates else None)

    keep = downsample(len(points))
    notes.add("downsampled", len(points) - len(keep))
    track: list[TrackPoint] = []
    for i in keep:
        p, c = points[i], cum[i]
        track.append(
            TrackPoint(
                time=p.time,
                lon=p.lon,
                lat=p.lat,
                elevation_m=p.elevation_m,
                heart_rate=round(p.heart_rate) if p.heart_rate is not None else None,
                distance_m=round(c, 2) if c is not None else None,
            )
        )
    return ParsedActivity(
        started_at=started_at,
        elapsed_s=elapsed_s,
        duration_s=duration_s,
        distance_km=round(distance_m / 1000, 3),
        elevation_gain_m=gain,
        avg_hr=round(avg_hr) if avg_hr is not None else None,
        max_hr=round(max_hr) if max_hr is not None else None,
        points=track,
        sport=raw.sport,
    )
