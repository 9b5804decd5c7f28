"""GPX 1.0/1.1 → one raw activity: every track and segment in order (segment gaps are pauses).

gpxpy reads the file; when it refuses the whole file over one bad value (a latitude of "abc",
an altitude of "n/a"), our own lenient reader over defusedxml reads it instead and only that
point loses the value. Heart rate is found by local name in any namespace: Garmin's
`gpxtpx:`/`ns3:` TrackPointExtension `hr`, or a plain `<hr>` / `<heartrate>`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import datetime
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

import gpxpy
import gpxpy.gpx

from service.imports.errors import ImportFileError
from service.imports.track import RawActivity, RawPoint
from service.imports.xmlsafe import local, parse_tree

HR_NAMES = frozenset({"hr", "heartrate", "heart_rate", "heartratebpm"})
_HR_ELEMENT = re.compile(r"<(?:[\w.\-]+:)?(?:hr|heartrate|heart_rate)>", re.IGNORECASE)
NO_ACTIVITY = "GPX has only a route (rte) or waypoints: no activity"
NO_TRACK = "GPX has no track points: no activity"


def _heart_rate(extensions: Iterable[Element]) -> float | None:
    for ext in extensions:
        for element in ext.iter():
            if local(element.tag).lower() in HR_NAMES:
                text = (element.text or "").strip()
                if not text:  # <HeartRateBpm><Value>142</Value></HeartRateBpm>
                    text = next(((c.text or "").strip() for c in element), "")
                try:
                    return float(text)
                except ValueError:
                    return None
    return None


# gpxpy registers every xmlns prefix of the file in ElementTree's process-wide namespace map
# (for writing the file back, which we never do): a stream of uploads with made-up namespaces
# would grow it forever, so each parse puts the map back as it found it
_NAMESPACES: dict[str, str] = ElementTree._namespace_map  # type: ignore[attr-defined]
_NAMESPACES_LOCK = threading.Lock()


def _gpxpy_parse(text: str) -> gpxpy.gpx.GPX:
    with _NAMESPACES_LOCK:
        saved = dict(_NAMESPACES)
        try:
            return gpxpy.parse(text)
        finally:
            if saved != _NAMESPACES:
                _NAMESPACES.clear()
                _NAMESPACES.update(saved)


def read(text: str) -> RawActivity:
    try:
        gpx = _gpxpy_parse(text)
    except Exception:  # GPXException mostly; any refusal of gpxpy is handled alike
        # gpxpy gives up on the whole file (one bad value, or bad XML): read it ourselves,
        # which is lenient per point and names the line of truly malformed XML
        return _read_lenient(text)
    points: list[RawPoint] = []
    segment = 0
    sport = None
    for track in gpx.tracks:
        sport = sport or track.type
        for seg in track.segments:
            for p in seg.points:
                points.append(
                    RawPoint(
                        time=p.time,
                        lat=p.latitude,
                        lon=p.longitude,
                        elevation_m=p.elevation,
                        heart_rate=_heart_rate(p.extensions) if p.extensions else None,
                        segment=segment,
                    )
                )
            segment += 1
    if not points:
        raise ImportFileError(NO_ACTIVITY if gpx.routes or gpx.waypoints else NO_TRACK)
    if all(p.heart_rate is None for p in points) and _HR_ELEMENT.search(text):
        # GPX 1.0 lets heart rate sit right inside <trkpt>, where gpxpy does not look
        return _read_lenient(text)
    return RawActivity(points=points, sport=sport)


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _read_lenient(text: str) -> RawActivity:
    root = parse_tree(text)
    if local(root.tag) != "gpx":
        raise ImportFileError("not a GPX, TCX or FIT file")
    points: list[RawPoint] = []
    segment = 0
    sport = None
    has_other = False
    for child in root:
        name = local(child.tag)
        if name in ("rte", "wpt"):
            has_other = True
        if name != "trk":
            continue
        for seg in child:
            tag = local(seg.tag)
            if tag == "type" and not sport:
                sport = (seg.text or "").strip() or None
            if tag != "trkseg":
                continue
            for pt in seg:
                if local(pt.tag) != "trkpt":
                    continue
                point = RawPoint(
                    time=None, lat=_float(pt.get("lat")), lon=_float(pt.get("lon")), segment=segment
                )
                for field in pt:
                    fname = local(field.tag)
                    if fname == "time":
                        point.time = _time(field.text)
                    elif fname == "ele":
                        point.elevation_m = _float(field.text)
                    elif fname == "extensions" or fname.lower() in HR_NAMES:
                        # GPX 1.0 allows foreign elements right inside <trkpt>
                        hr = _heart_rate([field])
                        if hr is not None:
                            point.heart_rate = hr
                points.append(point)
            segment += 1
    if not points:
        raise ImportFileError(NO_ACTIVITY if has_other else NO_TRACK)
    return RawActivity(points=points, sport=sport)
