"""A run's route as a GPX 1.1 file (GET /runs/{id}/route.gpx, and the data export).

One track, one segment, a point per stored position with its elevation, time and heart rate;
heart rate is written the way Garmin devices do, in a `gpxtpx:TrackPointExtension`, which
every GPX reader that knows heart rate (Strava, FitTrackee, gpxpy, this service's importer)
reads back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import gpxpy.gpx

from documents import Run
from documents.clock import as_stored

TRACKPOINT_EXTENSION_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
_EXTENSION = f"{{{TRACKPOINT_EXTENSION_NS}}}TrackPointExtension"
_HR = f"{{{TRACKPOINT_EXTENSION_NS}}}hr"
CREATOR = "Challenge Run"


def route_gpx(run: Run, route_document: dict[str, Any]) -> bytes:
    """The GPX 1.1 document (UTF-8) of a run's stored `run_routes` document."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = CREATOR
    gpx.nsmap["gpxtpx"] = TRACKPOINT_EXTENSION_NS
    gpx.time = as_stored(run.started_at)
    track = gpxpy.gpx.GPXTrack(name=f"Run {run.id}")
    track.type = "running"  # type: ignore[assignment]
    segment = gpxpy.gpx.GPXTrackSegment()
    track.segments.append(segment)
    gpx.tracks.append(track)

    coordinates = route_document["geometry"]["coordinates"]
    count = len(coordinates)
    elevations = _parallel(route_document.get("elevations"), count)
    timestamps = _parallel(route_document.get("timestamps"), count)
    heart_rates = _parallel(route_document.get("heart_rates"), count)
    points = segment.points
    for i, position in enumerate(coordinates):
        point = gpxpy.gpx.GPXTrackPoint(
            latitude=position[1],
            longitude=position[0],
            elevation=elevations[i] if elevations is not None else None,
            time=as_stored(timestamps[i]) if timestamps is not None else None,
        )
        if heart_rates is not None and heart_rates[i] is not None:
            extension = ET.Element(_EXTENSION)
            ET.SubElement(extension, _HR).text = str(int(heart_rates[i]))
            point.extensions.append(extension)
        points.append(point)
    return gpx.to_xml(version="1.1").encode("utf-8")


def _parallel(values: list[Any] | None, count: int) -> list[Any] | None:
    """A parallel array, or None when absent or not one value per position."""
    return values if values is not None and len(values) == count else None
