"""The activity-file parser (service.imports.parsing.parse): bytes in, measured activities out.

Pure code, no database: every file is built here (gpxpy writes GPX, TCX is XML text, fit-tool
writes FIT), except the optional check against the real device files of shared/activity-samples.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import itertools
import math
import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy
import gpxpy.gpx
import pytest

from service.imports.errors import DecompressedTooLarge, ImportFileError, no_times
from service.imports.model import MAX_ROUTE_POINTS, ParsedFile
from service.imports.parsing import parse
from service.imports.track import RawActivity, RawPoint

NOW = datetime(2026, 6, 1, tzinfo=UTC)
T0 = datetime(2025, 5, 1, 6, 0, tzinfo=UTC)
CAP = 5 * 1024 * 1024
R = 6_371_008.8
STEP_DEG = 0.0009  # ~100.08 m along a meridian
STEP_M = 2 * math.pi * R * STEP_DEG / 360
TPX = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
TCD = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"


def run(content: bytes) -> ParsedFile:
    return parse(content, max_decompressed_bytes=CAP, now=NOW)


def refused(content: bytes) -> str:
    with pytest.raises(ImportFileError) as caught:
        run(content)
    assert caught.value.status == 422
    assert caught.value.errors[0]["loc"] == ["body", "file"]
    return caught.value.detail


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * R * math.asin(math.sqrt(h))


# --- builders ---------------------------------------------------------------------------------


def gpx_points(
    n: int,
    *,
    start: datetime = T0,
    every_s: int = 10,
    lat0: float = 48.0,
    ele: float | None = 100.0,
    hr: int | None = None,
) -> list[gpxpy.gpx.GPXTrackPoint]:
    points = []
    for i in range(n):
        point = gpxpy.gpx.GPXTrackPoint(
            latitude=lat0 + i * STEP_DEG,
            longitude=2.0,
            elevation=ele,
            time=start + timedelta(seconds=i * every_s),
        )
        if hr is not None:
            extension = ET.Element(f"{{{TPX}}}TrackPointExtension")
            ET.SubElement(extension, f"{{{TPX}}}hr").text = str(hr + i)
            point.extensions.append(extension)
        points.append(point)
    return points


def gpx_file(*segments: list[gpxpy.gpx.GPXTrackPoint], version: str = "1.1") -> bytes:
    gpx = gpxpy.gpx.GPX()
    gpx.nsmap["gpxtpx"] = TPX
    track = gpxpy.gpx.GPXTrack()
    gpx.tracks.append(track)
    for points in segments:
        segment = gpxpy.gpx.GPXTrackSegment()
        segment.points.extend(points)
        track.segments.append(segment)
    return gpx.to_xml(version=version).encode()


def gpx_text(trkpts: str, *, namespaces: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1" {namespaces}>'
        f"<trk><trkseg>{trkpts}</trkseg></trk></gpx>"
    ).encode()


def trkpt(i: int, *, time: str | None = None, extra: str = "", lat: str | None = None) -> str:
    when = time or (T0 + timedelta(seconds=10 * i)).isoformat().replace("+00:00", "Z")
    latitude = lat if lat is not None else str(48.0 + i * STEP_DEG)
    return f'<trkpt lat="{latitude}" lon="2.0"><ele>100</ele><time>{when}</time>{extra}</trkpt>'


def tcx_trackpoint(
    t: datetime, *, lat: float | None = None, distance: float | None = None, hr: int | None = None
) -> str:
    parts = [f"<Time>{t.isoformat().replace('+00:00', 'Z')}</Time>"]
    if lat is not None:
        parts.append(
            f"<Position><LatitudeDegrees>{lat}</LatitudeDegrees>"
            "<LongitudeDegrees>2.0</LongitudeDegrees></Position><AltitudeMeters>50</AltitudeMeters>"
        )
    if distance is not None:
        parts.append(f"<DistanceMeters>{distance}</DistanceMeters>")
    if hr is not None:
        parts.append(f"<HeartRateBpm><Value>{hr}</Value></HeartRateBpm>")
    return f"<Trackpoint>{''.join(parts)}</Trackpoint>"


def tcx_lap(
    start: datetime, *, seconds: float, metres: float, avg: int, top: int, points: list[str]
) -> str:
    return (
        f'<Lap StartTime="{start.isoformat()}"><TotalTimeSeconds>{seconds}</TotalTimeSeconds>'
        f"<DistanceMeters>{metres}</DistanceMeters>"
        f"<AverageHeartRateBpm><Value>{avg}</Value></AverageHeartRateBpm>"
        f"<MaximumHeartRateBpm><Value>{top}</Value></MaximumHeartRateBpm>"
        f"<Track>{''.join(points)}</Track></Lap>"
    )


def tcx_file(*activities: list[str]) -> bytes:
    body = "".join(
        f'<Activity Sport="Running"><Id>2025-01-01T00:00:00Z</Id>{"".join(laps)}</Activity>'
        for laps in activities
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<TrainingCenterDatabase xmlns="{TCD}"><Activities>{body}</Activities>'
        "</TrainingCenterDatabase>"
    ).encode()


def fit_file(
    n: int,
    *,
    start: datetime = T0,
    session: dict[str, float] | None = None,
    with_session: bool = True,
) -> bytes:
    from fit_tool.fit_file_builder import FitFileBuilder
    from fit_tool.profile.messages.file_id_message import FileIdMessage
    from fit_tool.profile.messages.record_message import RecordMessage
    from fit_tool.profile.messages.session_message import SessionMessage
    from fit_tool.profile.profile_type import FileType, Manufacturer, Sport

    t0 = round(start.timestamp() * 1000)
    builder = FitFileBuilder(auto_define=True)
    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.GARMIN.value
    file_id.product = 0
    file_id.time_created = t0
    file_id.serial_number = 1
    builder.add(file_id)
    records = []
    for i in range(n):
        record = RecordMessage()
        record.timestamp = t0 + i * 10_000
        record.position_lat = 48.0 + i * STEP_DEG
        record.position_long = 2.0
        record.distance = i * 100.0
        record.altitude = 100.0 + (i % 2) * 10
        record.heart_rate = 140 + i % 5
        records.append(record)
    builder.add_all(records)
    if with_session:
        summary = SessionMessage()
        summary.timestamp = t0 + n * 10_000
        summary.start_time = t0
        summary.sport = Sport.RUNNING
        summary.total_elapsed_time = (n - 1) * 10
        for name, value in (session or {}).items():
            setattr(summary, name, value)
        builder.add(summary)
    return builder.build().to_bytes()


# --- GPX --------------------------------------------------------------------------------------


def test_gpx_run_is_measured_from_its_points() -> None:
    parsed = run(gpx_file(gpx_points(11, hr=120)))

    assert parsed.format == "gpx"
    assert parsed.warnings == []
    [activity] = parsed.activities
    assert activity.started_at == T0
    assert activity.elapsed_s == 100
    assert activity.duration_s == 100  # moving all along (10 m/s)
    assert activity.distance_km == round(10 * STEP_M / 1000, 3)
    assert activity.avg_hr == 125
    assert activity.max_hr == 130
    assert activity.elevation_gain_m == 0
    assert len(activity.points) == 11
    assert activity.points[-1].distance_m == pytest.approx(10 * STEP_M, abs=0.01)
    assert activity.points[0].time == T0
    assert activity.points[3].heart_rate == 123


def test_sha256_is_of_the_decompressed_content_and_gzip_is_read() -> None:
    plain = gpx_file(gpx_points(11))
    zipped = run(gzip.compress(plain))

    assert zipped.sha256 == hashlib.sha256(plain).hexdigest() == run(plain).sha256
    assert zipped.activities == run(plain).activities


def test_gpx_1_0_is_read() -> None:
    content = gpx_file(gpx_points(11), version="1.0")
    assert b'version="1.0"' in content

    [activity] = run(content).activities

    assert activity.started_at == T0
    assert activity.distance_km == round(10 * STEP_M / 1000, 3)


def test_gpx_1_0_heart_rate_inside_the_point_is_read() -> None:
    points = "".join(trkpt(i, extra=f"<hr>{150 + i}</hr>") for i in range(3))
    content = gpx_text(points).replace(b'version="1.1"', b'version="1.0"', 1)
    content = content.replace(b"GPX/1/1", b"GPX/1/0")

    [activity] = run(content).activities

    assert [p.heart_rate for p in activity.points] == [150, 151, 152]
    assert activity.elapsed_s == 20


def test_gap_between_segments_is_a_pause_and_adds_no_distance() -> None:
    first = gpx_points(6)  # 0..50 s
    # 10 minutes later and 1 km further north (a bus ride): a new segment
    second = gpx_points(6, start=T0 + timedelta(minutes=11), lat0=48.0 + 15 * STEP_DEG)

    [activity] = run(gpx_file(first, second)).activities

    assert activity.elapsed_s == 660 + 50
    assert activity.duration_s == 100
    assert activity.distance_km == round(10 * STEP_M / 1000, 3)
    distances = [p.distance_m for p in activity.points]
    assert distances[6] == distances[5]  # the segment gap adds nothing
    assert distances[-1] == pytest.approx(10 * STEP_M, abs=0.01)


def test_standing_still_is_not_moving_time() -> None:
    moving = gpx_points(6)
    # 2 minutes at the traffic light (same position), then on again
    stop = moving[-1]
    waiting = [
        gpxpy.gpx.GPXTrackPoint(
            stop.latitude, stop.longitude, elevation=100.0, time=T0 + timedelta(seconds=50 + s)
        )
        for s in range(10, 121, 10)
    ]
    on = gpx_points(5, start=T0 + timedelta(seconds=180), lat0=48.0 + 6 * STEP_DEG)

    [activity] = run(gpx_file([*moving, *waiting, *on])).activities

    assert activity.elapsed_s == 220
    # 50 s, then 120 s standing (paused), then 60 s to and along the last 5 points
    assert activity.duration_s == 220 - 120


@pytest.mark.parametrize(
    ("namespaces", "extension"),
    [
        (
            f'xmlns:gpxtpx="{TPX}"',
            "<gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}</gpxtpx:hr></gpxtpx:TrackPointExtension>",
        ),
        (
            f'xmlns:ns3="{TPX}"',
            "<ns3:TrackPointExtension><ns3:hr>{hr}</ns3:hr></ns3:TrackPointExtension>",
        ),
        ('xmlns:watch="urn:example:watch"', "<watch:TPE><watch:hr>{hr}</watch:hr></watch:TPE>"),
        ("", "<hr>{hr}</hr>"),
        ("", "<heartrate>{hr}</heartrate>"),
    ],
    ids=["gpxtpx", "ns3", "custom-prefix", "plain-hr", "heartrate"],
)
def test_heart_rate_is_read_in_every_spelling(namespaces: str, extension: str) -> None:
    points = "".join(
        trkpt(i, extra=f"<extensions>{extension.format(hr=150 + i)}</extensions>") for i in range(5)
    )

    [activity] = run(gpx_text(points, namespaces=namespaces)).activities

    assert activity.avg_hr == 152
    assert activity.max_hr == 154
    assert [p.heart_rate for p in activity.points] == [150, 151, 152, 153, 154]


def test_a_files_namespaces_do_not_stay_registered_in_the_process() -> None:
    namespaces = " ".join(f'xmlns:x{i}="urn:made-up:{i}"' for i in range(50))
    before = dict(ET._namespace_map)  # type: ignore[attr-defined]

    [activity] = run(gpx_text(trkpt(0) + trkpt(1), namespaces=namespaces)).activities

    assert activity.elapsed_s == 10
    assert dict(ET._namespace_map) == before  # type: ignore[attr-defined]


def test_elevation_gain_ignores_noise_and_counts_climbs() -> None:
    noisy_flat = [100 + (1 if i % 2 else -1) for i in range(20)]  # ±1 m of noise
    climb = [100 + i * 5 + (1 if i % 2 else -1) for i in range(11)]  # 100 → 150, ±1 m noise
    points = gpx_points(len(noisy_flat) + len(climb))
    for point, ele in zip(points, noisy_flat + climb, strict=True):
        point.elevation = ele

    [activity] = run(gpx_file(points)).activities

    assert activity.elevation_gain_m == pytest.approx(50, abs=3)


def test_times_with_offsets_are_normalised_to_utc() -> None:
    points = "".join(
        trkpt(i, time=f"2025-05-01T08:00:{10 * i:02d}+02:00") for i in range(5)
    ) + trkpt(5, time="2025-05-01T06:00:50")  # no offset at all: UTC

    [activity] = run(gpx_text(points)).activities

    assert activity.started_at == datetime(2025, 5, 1, 6, 0, tzinfo=UTC)
    assert activity.elapsed_s == 50
    assert all(p.time is not None and p.time.utcoffset() == timedelta(0) for p in activity.points)


def test_altitude_placeholders_are_ignored() -> None:
    points = gpx_points(10)
    points[4].elevation = -500.0
    points[5].elevation = 9999.0

    parsed = run(gpx_file(points))

    [activity] = parsed.activities
    assert activity.points[4].elevation_m is None
    assert activity.points[5].elevation_m is None
    assert activity.elevation_gain_m == 0
    assert any("2 altitude value(s)" in w for w in parsed.warnings)


def test_times_stepping_backwards_are_dropped() -> None:
    points = gpx_points(10)
    points[5].time = T0 - timedelta(seconds=30)

    parsed = run(gpx_file(points))

    [activity] = parsed.activities
    assert len(activity.points) == 9
    assert activity.elapsed_s == 90
    assert parsed.warnings == ["1 point(s) whose time steps backwards: dropped"]


def test_bogus_year_points_are_dropped() -> None:
    points = gpx_points(10)
    points[0].time = datetime(1901, 1, 1, tzinfo=UTC)
    points[9].time = NOW + timedelta(days=30)

    parsed = run(gpx_file(points))

    [activity] = parsed.activities
    assert activity.started_at == T0 + timedelta(seconds=10)
    assert activity.elapsed_s == 70
    assert len(activity.points) == 8
    assert any("2 point(s) with an impossible date" in w for w in parsed.warnings)


def test_dates_at_the_ends_of_the_calendar_are_bogus_not_errors() -> None:
    points = (
        trkpt(0, time="0001-01-01T00:00:00+02:00")
        + trkpt(1, time="9999-12-31T23:59:59-05:00")
        + trkpt(2, time="yesterday")
        + trkpt(3)
        + trkpt(4)
    )

    parsed = run(gpx_text(points))

    [activity] = parsed.activities
    assert activity.started_at == T0 + timedelta(seconds=30)
    assert len(activity.points) == 2


def test_clock_jumping_days_never_makes_a_days_long_run() -> None:
    before = gpx_points(5)
    after = gpx_points(30, start=T0 + timedelta(days=3, seconds=50), lat0=48.0 + 5 * STEP_DEG)

    parsed = run(gpx_file([*before, *after]))

    [activity] = parsed.activities
    assert activity.elapsed_s == 290
    assert activity.started_at == T0 + timedelta(days=3, seconds=50)
    assert len(activity.points) == 30
    assert any("clock jumps by 3 d" in w and "5 point(s)" in w for w in parsed.warnings)


def test_clock_jumping_away_and_back_loses_only_the_points_in_between() -> None:
    points = gpx_points(30)
    for p in points[10:13]:
        assert p.time is not None
        p.time += timedelta(days=20)

    parsed = run(gpx_file(points))

    [activity] = parsed.activities
    assert activity.elapsed_s == 290
    assert len(activity.points) == 27
    assert any("clock jumps by 20 d" in w and "3 point(s)" in w for w in parsed.warnings)


def test_points_without_a_position_keep_time_and_heart_rate() -> None:
    hr = "<extensions><hr>{}</hr></extensions>"
    points = (
        trkpt(0, extra=hr.format(140))
        + trkpt(1, extra=hr.format(140))
        + f"<trkpt><time>{(T0 + timedelta(seconds=20)).isoformat()}</time>{hr.format(170)}</trkpt>"
        + trkpt(3, lat="abc", extra=hr.format(140))  # gpxpy refuses the whole file for this
        + trkpt(4, lat="95", extra=hr.format(140))
        + trkpt(5, extra=hr.format(140))
    )

    parsed = run(gpx_text(points))

    [activity] = parsed.activities
    assert len(activity.points) == 6
    assert [p.lat is not None for p in activity.points] == [True, True, False, False, False, True]
    assert activity.max_hr == 170
    assert activity.elapsed_s == 50
    assert activity.distance_km == round(5 * STEP_M / 1000, 3)
    assert any("3 point(s) without a valid position" in w for w in parsed.warnings)


def test_gpx_without_times_is_measured_but_undated() -> None:
    points = gpx_points(11)
    for p in points:
        p.time = None

    parsed = run(gpx_file(points))

    [activity] = parsed.activities
    assert activity.started_at is None
    assert activity.elapsed_s is None
    assert activity.duration_s is None
    assert activity.distance_km == round(10 * STEP_M / 1000, 3)
    assert len(activity.points) == 11
    assert no_times(parsed.format).detail == "GPX has no track with times"


@pytest.mark.parametrize(
    "body",
    [
        '<rte><rtept lat="48" lon="2"/><rtept lat="48.1" lon="2"/></rte>',
        '<wpt lat="48" lon="2"><name>start</name></wpt>',
    ],
    ids=["route", "waypoints"],
)
def test_route_or_waypoint_only_gpx_is_no_activity(body: str) -> None:
    content = f'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">{body}</gpx>'

    assert refused(content.encode()) == "GPX has only a route (rte) or waypoints: no activity"


def test_long_tracks_are_downsampled_keeping_ends_and_distances() -> None:
    n = MAX_ROUTE_POINTS + 5_000
    points = gpx_points(n, every_s=1)
    for p in points:
        p.latitude = 48.0 + (p.latitude - 48.0) / 100  # 1 m apart, 1 m/s

    parsed = run(gpx_file(points))

    [activity] = parsed.activities
    assert len(activity.points) == MAX_ROUTE_POINTS
    assert activity.points[0].time == T0
    assert activity.points[-1].time == T0 + timedelta(seconds=n - 1)
    distances = [p.distance_m or 0 for p in activity.points]
    assert distances == sorted(distances)
    assert distances[-1] == pytest.approx(activity.distance_km * 1000, abs=1)
    assert activity.elapsed_s == n - 1
    assert any("5000 point(s) thinned out" in w for w in parsed.warnings)


# --- TCX --------------------------------------------------------------------------------------


def _laps(start: datetime) -> list[str]:
    first = [
        tcx_trackpoint(start + timedelta(seconds=10 * i), lat=48 + i * STEP_DEG, hr=140)
        for i in range(6)
    ]
    second = [
        tcx_trackpoint(start + timedelta(seconds=60 + 10 * i), lat=48 + (6 + i) * STEP_DEG, hr=160)
        for i in range(6)
    ]
    return [
        tcx_lap(start, seconds=300.5, metres=1000.0, avg=140, top=150, points=first),
        tcx_lap(start, seconds=100.0, metres=250.0, avg=160, top=175, points=second),
    ]


def test_tcx_takes_timer_time_and_distance_from_the_laps() -> None:
    parsed = run(tcx_file(_laps(T0)))

    assert parsed.format == "tcx"
    [activity] = parsed.activities
    assert activity.started_at == T0
    assert activity.elapsed_s == 110
    assert activity.duration_s == 400  # 300.5 + 100.0, rounded
    assert activity.distance_km == 1.25
    assert activity.avg_hr == round((140 * 300.5 + 160 * 100) / 400.5)
    assert activity.max_hr == 175
    assert activity.sport == "Running"
    assert len(activity.points) == 12
    # no distance on the trackpoints: the route's own haversine sum
    assert activity.points[-1].distance_m == pytest.approx(11 * STEP_M, abs=0.01)


def test_tcx_with_several_activities_months_apart_gives_one_each() -> None:
    later = T0 + timedelta(days=120)

    parsed = run(tcx_file(_laps(T0), _laps(later)))

    assert [a.started_at for a in parsed.activities] == [T0, later]
    assert [a.distance_km for a in parsed.activities] == [1.25, 1.25]
    assert all(a.elapsed_s == 110 for a in parsed.activities)


def test_tcx_points_of_any_shape_read_like_plain_ones() -> None:
    """The reader's fast path for a trackpoint (fields, Position, HeartRateBpm) and its general
    path (a point of another shape: here a field holding an element) read the same values;
    extensions deeper in a point are ignored."""
    plain = [
        tcx_trackpoint(T0 + timedelta(seconds=10 * i), lat=48 + i * STEP_DEG, distance=35.0 * i)
        for i in range(6)
    ]
    extension = (
        '<Extensions><TPX xmlns="http://www.garmin.com/xmlschemas/ActivityExtension/v2">'
        "<Speed>3.5</Speed><Time>2001-01-01T00:00:00Z</Time></TPX></Extensions></Trackpoint>"
    )
    extended = [p.replace("</Trackpoint>", extension) for p in plain]
    # a field whose text is followed by an element: its text is what comes before it
    unusual = [p.replace("</DistanceMeters>", "<Note/></DistanceMeters>") for p in plain]
    files = [
        tcx_file([tcx_lap(T0, seconds=50, metres=175.0, avg=0, top=0, points=points)])
        for points in (plain, extended, unusual)
    ]

    read = [run(content).activities[0] for content in files]

    assert read[0].points == read[1].points == read[2].points
    assert [p.distance_m for p in read[0].points] == [35.0 * i for i in range(6)]
    assert read[0].points[-1].time == T0 + timedelta(seconds=50)
    assert read[0].points[-1].lat == 48 + 5 * STEP_DEG


def test_treadmill_tcx_has_lap_distance_and_no_route() -> None:
    points = [
        tcx_trackpoint(T0 + timedelta(seconds=10 * i), distance=25.0 * i, hr=130) for i in range(61)
    ]
    laps = [tcx_lap(T0, seconds=600, metres=1500.0, avg=131, top=139, points=points)]

    parsed = run(tcx_file(laps))

    [activity] = parsed.activities
    assert parsed.warnings == []
    assert activity.distance_km == 1.5
    assert activity.duration_s == 600
    assert activity.elapsed_s == 600
    assert activity.avg_hr == 131
    assert all(p.lat is None and p.lon is None for p in activity.points)
    assert activity.points[-1].distance_m == 1500.0  # the device's own distance records


def test_a_second_track_inside_a_lap_follows_a_pause() -> None:
    before = [
        tcx_trackpoint(T0 + timedelta(seconds=10 * i), lat=48 + i * STEP_DEG) for i in range(6)
    ]
    # the watch was paused for 10 minutes and moved 1 km (a new <Track> in the same lap)
    after = [
        tcx_trackpoint(T0 + timedelta(seconds=650 + 10 * i), lat=48 + (15 + i) * STEP_DEG)
        for i in range(6)
    ]
    lap = tcx_lap(T0, seconds=100, metres=0, avg=0, top=0, points=before).replace(
        "</Track>", f"</Track><Track>{''.join(after)}</Track>"
    )

    [activity] = run(tcx_file([lap])).activities

    assert activity.duration_s == 100
    assert activity.elapsed_s == 700
    # the laps say 0 m: the route measures 2 × 5 steps, nothing across the pause
    assert activity.distance_km == round(10 * STEP_M / 1000, 3)


@pytest.mark.parametrize("kind", ["gpx", "tcx", "fit"])
def test_a_parsed_file_leaves_nothing_for_the_cycle_collector(kind: str) -> None:
    """Once its result is dropped, nothing a parse built stays alive: no reference cycle keeps
    the reader's points until a full garbage collection (the TCX reader and its expat parser
    referred to each other: 20,000 points outlived every import and made the collector walk
    the whole process once per upload)."""
    content = {
        "gpx": lambda: gpx_file(gpx_points(300, hr=120)),
        "tcx": lambda: tcx_file(_laps(T0)),
        "fit": lambda: fit_file(300),
    }[kind]()
    gc.collect()
    gc.disable()
    try:
        points = run(content).activities[0].points
        # type(), not isinstance(): a dead weak proxy among the objects raises on the latter
        left = [o for o in gc.get_objects() if type(o) in (RawPoint, RawActivity)]
    finally:
        gc.enable()
    assert len(points) > 10
    assert left == []


def test_tcx_without_activity_is_refused() -> None:
    content = f'<TrainingCenterDatabase xmlns="{TCD}"><Courses/></TrainingCenterDatabase>'

    assert "no <Activity>" in refused(content.encode())


# --- FIT --------------------------------------------------------------------------------------


def test_fit_session_gives_timer_time_distance_ascent_and_heart_rate() -> None:
    session = {
        "total_timer_time": 1234.4,
        "total_distance": 4321.0,
        "total_ascent": 42,
        "avg_heart_rate": 151,
        "max_heart_rate": 182,
    }

    parsed = run(fit_file(200, session=session))

    assert parsed.format == "fit"
    [activity] = parsed.activities
    assert activity.started_at == T0
    assert activity.elapsed_s == 1990
    assert activity.duration_s == 1234
    assert activity.distance_km == 4.321
    assert activity.elevation_gain_m == 42
    assert (activity.avg_hr, activity.max_hr) == (151, 182)
    assert activity.sport == "running"
    assert len(activity.points) == 200
    assert activity.points[10].lat == pytest.approx(48.0 + 10 * STEP_DEG, abs=1e-6)
    assert activity.points[-1].distance_m == pytest.approx(19_900, abs=0.1)


def test_fit_without_session_is_measured_from_its_records() -> None:
    parsed = run(fit_file(50, with_session=False))

    [activity] = parsed.activities
    assert activity.distance_km == 4.9  # the records' own distance
    assert activity.duration_s == 490  # 10 m/s all along
    assert activity.elevation_gain_m == 25 * 10  # 100/110 m alternating: 25 climbs of 10 m
    assert activity.max_hr == 144


def test_fit_with_two_sessions_gives_two_activities() -> None:
    from fit_tool.fit_file_builder import FitFileBuilder
    from fit_tool.profile.messages.record_message import RecordMessage
    from fit_tool.profile.messages.session_message import SessionMessage

    builder = FitFileBuilder(auto_define=True)
    starts = [T0, T0 + timedelta(hours=2)]
    for start in starts:
        t0 = round(start.timestamp() * 1000)
        for i in range(30):
            record = RecordMessage()
            record.timestamp = t0 + i * 10_000
            record.position_lat = 48.0 + i * STEP_DEG
            record.position_long = 2.0
            record.distance = i * 100.0
            builder.add(record)
        session = SessionMessage()
        session.timestamp = t0 + 290_000
        session.start_time = t0
        session.total_elapsed_time = 290
        session.total_timer_time = 280
        session.total_distance = 2900.0
        builder.add(session)

    parsed = run(builder.build().to_bytes())

    assert [a.started_at for a in parsed.activities] == starts
    assert [len(a.points) for a in parsed.activities] == [30, 30]
    assert [a.duration_s for a in parsed.activities] == [280, 280]
    assert parsed.activities[1].points[-1].distance_m == 2900.0


def test_truncated_fit_is_refused() -> None:
    content = fit_file(50)

    assert refused(content[: len(content) // 2]) == "truncated FIT file"
    assert refused(content[:13]) == "truncated FIT file"


def test_fit_with_a_bad_crc_is_refused() -> None:
    content = bytearray(fit_file(50))
    content[-1] ^= 0xFF

    assert refused(bytes(content)) == "FIT file fails its CRC check"


# --- bad files --------------------------------------------------------------------------------


def test_truncated_gpx_names_the_line() -> None:
    content = gpx_file(gpx_points(20))
    cut = content[: len(content) // 2]

    detail = refused(cut)

    assert detail.startswith("malformed XML at line ")
    assert "truncated" in detail


def test_malformed_xml_names_the_line() -> None:
    content = b'<gpx version="1.1">\n<trk>\n<trkseg>\n</trk>\n</gpx>'

    assert refused(content) == "malformed XML at line 4: mismatched tag"


@pytest.mark.parametrize(
    "content",
    [
        b"hello, world",
        b"\x89PNG\r\n\x1a\n" + bytes(64),
        b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"></kml>',
        b"{}",
    ],
    ids=["text", "png", "kml", "json"],
)
def test_not_an_activity_file(content: bytes) -> None:
    assert refused(content).startswith("not a GPX, TCX or FIT file")


def test_format_and_encoding_come_from_the_content() -> None:
    latin = gpx_text(trkpt(0) + trkpt(1)).replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    latin = latin.replace(b"<trk>", "<trk><name>Café</name>".encode("latin-1"))
    with_bom = b"\xef\xbb\xbf" + gpx_text(trkpt(0) + trkpt(1))
    utf16 = gpx_text(trkpt(0) + trkpt(1)).decode().replace("UTF-8", "UTF-16").encode("utf-16")

    for content in (latin, with_bom, utf16):
        [activity] = run(content).activities
        assert activity.elapsed_s == 10


@pytest.mark.parametrize("kind", ["gpx", "tcx", "fit"])
def test_corrupt_bytes_are_refused_or_read_never_crash(kind: str) -> None:
    content = {
        "gpx": lambda: gpx_file(gpx_points(30, hr=120)),
        "tcx": lambda: tcx_file(_laps(T0)),
        "fit": lambda: fit_file(40, session={"total_timer_time": 300}),
    }[kind]()
    rng = random.Random(8)
    for _ in range(300):
        damaged = bytearray(content)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(len(damaged))]
        else:
            for _ in range(rng.randint(1, 8)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            parsed = run(bytes(damaged))
        except ImportFileError:
            continue
        assert parsed.activities


def test_empty_file_is_refused() -> None:
    assert refused(b"") == "the file is empty"


@pytest.mark.parametrize(
    "content",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b'<gpx version="1.1"><trk><name>&lol2;</name></trk></gpx>',
        b'<?xml version="1.0"?><!DOCTYPE gpx SYSTEM "file:///etc/passwd"><gpx version="1.1"/>',
        f'<!DOCTYPE x [<!ENTITY e "e">]><TrainingCenterDatabase xmlns="{TCD}">&e;'
        "</TrainingCenterDatabase>".encode(),
    ],
    ids=["entity-expansion", "external-dtd", "tcx-entity"],
)
def test_dtd_and_entities_are_refused(content: bytes) -> None:
    assert "DOCTYPE or ENTITY" in refused(content)


def test_gzip_bomb_is_stopped_at_the_cap() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024))
    assert len(bomb) < 100_000

    with pytest.raises(DecompressedTooLarge) as caught:
        run(bomb)

    assert caught.value.status == 413
    assert "more than 5 MiB" in caught.value.detail


def test_plain_file_over_the_cap_is_refused() -> None:
    with pytest.raises(DecompressedTooLarge, match="more than 1024 bytes"):
        parse(gpx_file(gpx_points(100)), max_decompressed_bytes=1024, now=NOW)


def test_gzip_with_several_members_is_read_whole() -> None:
    content = gpx_file(gpx_points(11))
    half = len(content) // 2

    parsed = run(gzip.compress(content[:half]) + gzip.compress(content[half:]) + bytes(8))

    assert parsed.sha256 == hashlib.sha256(content).hexdigest()
    assert parsed.activities[0].elapsed_s == 100


def test_truncated_gzip_is_refused() -> None:
    zipped = gzip.compress(gpx_file(gpx_points(50)))

    assert refused(zipped[: len(zipped) // 2]) == "truncated gzip file"


# --- real device files (shared/activity-samples, when present) --------------------------------

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "activity-samples"
# README of the samples: points, haversine distance (km), elapsed s, start (UTC)
EXPECTED = {
    "gpx-02-garmin-connect-run-hr-ns3.gpx": (988, 12.821, 5498, "2017-07-29T14:46:35+00:00"),
    "fit-04-garmin-fenix2-run.fit": (2809, 8.996, 2833, "2015-08-15T14:45:08+00:00"),
    "tcx-02-garmin-fr945-run-hr-laps.tcx": (1042, 13.055, 4369, "2025-09-24T13:40:09+00:00"),
}


def _sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is not on this machine (the real samples live in shared/)")
    return path.read_bytes()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_device_files_match_their_readme(name: str) -> None:
    points, km, elapsed, start = EXPECTED[name]

    [activity] = run(_sample(name)).activities

    route = [(p.lat, p.lon) for p in activity.points if p.lat is not None and p.lon is not None]
    assert len(route) == points
    haversine_km = sum(haversine(a, b) for a, b in itertools.pairwise(route)) / 1000
    assert haversine_km == pytest.approx(km, abs=0.02)
    # the stored distance is the device's total where the file has one: within 1 %
    assert activity.distance_km == pytest.approx(km, rel=0.01)
    assert activity.elapsed_s == elapsed
    assert activity.started_at == datetime.fromisoformat(start)
    assert activity.avg_hr is not None
    assert activity.duration_s is not None
    assert activity.duration_s <= elapsed


def test_real_treadmill_file_has_no_route() -> None:
    [activity] = run(_sample("tcx-04-garmin-fr945-treadmill-no-gps.tcx")).activities

    assert activity.elapsed_s == 1638
    assert activity.started_at == datetime(2025, 10, 24, 15, 25, 26, tzinfo=UTC)
    assert activity.distance_km > 0
    assert all(p.lat is None for p in activity.points)


def test_real_route_without_times_is_undated() -> None:
    [activity] = run(_sample("gpx-13-strava-route-no-timestamps.gpx")).activities

    assert activity.started_at is None
    assert len(activity.points) == 113
    assert activity.distance_km == pytest.approx(4.53, abs=0.02)


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("gpx-18-garmin-basecamp-truncated.gpx", "malformed XML at line"),
        ("fit-11-corrupt-truncated-eof.fit", "truncated FIT file"),
    ],
)
def test_real_broken_files_are_refused(name: str, detail: str) -> None:
    assert refused(_sample(name)).startswith(detail)
