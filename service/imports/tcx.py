"""TCX → one raw activity per `<Activity>`; the laps give the device's timer time and distance.

Parsed with defusedxml (the stdlib ElementTree API, DTDs forbidden). Laps follow each other
without a pause; a second `<Track>` within one lap starts after a pause (a new segment).
"""

from __future__ import annotations

from datetime import datetime
from xml.etree.ElementTree import Element

from service.imports.errors import ImportFileError
from service.imports.track import RawActivity, RawPoint
from service.imports.xmlsafe import parse_tree


def _float(element: Element | None) -> float | None:
    if element is None or element.text is None:
        return None
    try:
        return float(element.text)
    except ValueError:
        return None


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def read(text: str) -> list[RawActivity]:
    root = parse_tree(text)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    activities: list[RawActivity] = []
    for activity in root.iter(f"{ns}Activity"):
        activities.append(_activity(activity, ns))
    if not activities:
        raise ImportFileError("TCX has no <Activity>: no activity (courses are not runs)")
    return activities


def _activity(activity: Element, ns: str) -> RawActivity:
    raw = RawActivity(sport=activity.get("Sport"))
    T_TIME, T_POS, T_LAT, T_LON = (
        f"{ns}Time",
        f"{ns}Position",
        f"{ns}LatitudeDegrees",
        (f"{ns}LongitudeDegrees"),
    )
    T_ALT, T_DIST, T_HR, T_VALUE = (
        f"{ns}AltitudeMeters",
        f"{ns}DistanceMeters",
        f"{ns}HeartRateBpm",
        f"{ns}Value",
    )
    timer = distance = 0.0
    has_timer = has_distance = False
    hr_weighted = hr_time = 0.0
    max_hr: float | None = None
    segment = 0
    points = raw.points
    for lap in activity.iter(f"{ns}Lap"):
        if raw.start_hint is None:
            raw.start_hint = _time(lap.get("StartTime"))
        lap_time = _float(lap.find(f"{ns}TotalTimeSeconds"))
        if lap_time is not None and lap_time >= 0:
            timer += lap_time
            has_timer = True
        lap_distance = _float(lap.find(f"{ns}DistanceMeters"))
        if lap_distance is not None and lap_distance >= 0:
            distance += lap_distance
            has_distance = True
        avg = _float(lap.find(f"{ns}AverageHeartRateBpm/{T_VALUE}"))
        if avg and lap_time:
            hr_weighted += avg * lap_time
            hr_time += lap_time
        top = _float(lap.find(f"{ns}MaximumHeartRateBpm/{T_VALUE}"))
        if top and (max_hr is None or top > max_hr):
            max_hr = top
        for j, track in enumerate(lap.iter(f"{ns}Track")):
            # a lap boundary is no pause; a second <Track> inside one lap follows a pause
            if j:
                segment += 1
            for tp in track.iter(f"{ns}Trackpoint"):
                # one pass over the children: ElementPath finds ("a/b") cost more than the parse
                point = RawPoint(time=None, lat=None, lon=None, segment=segment)
                for child in tp:
                    tag = child.tag
                    if tag == T_TIME:
                        point.time = _time(child.text)
                    elif tag == T_POS:
                        for c in child:
                            if c.tag == T_LAT:
                                point.lat = _float(c)
                            elif c.tag == T_LON:
                                point.lon = _float(c)
                    elif tag == T_ALT:
                        point.elevation_m = _float(child)
                    elif tag == T_DIST:
                        point.distance_m = _float(child)
                    elif tag == T_HR:
                        point.heart_rate = _float(child.find(T_VALUE))
                points.append(point)
    raw.timer_s = timer if has_timer else None
    raw.distance_m = distance if has_distance else None
    raw.avg_hr = hr_weighted / hr_time if hr_time else None
    raw.max_hr = max_hr
    return raw
