"""TCX → one raw activity per `<Activity>`; the laps give the device's timer time and distance.

Read as a stream of expat events (`xmlsafe.parse_events`: defusedxml's guards, DTDs forbidden)
rather than a tree: a 20,000-point file would be ~180,000 Elements, built, walked and left to
the garbage collector. What is read is what a walk of the tree would read: `<Activity>`s
anywhere under the root, their `<Lap>`s, each lap's `<Track>`s and their `<Trackpoint>`s at any
depth; a lap's first `TotalTimeSeconds`, `DistanceMeters`, `AverageHeartRateBpm/Value` and
`MaximumHeartRateBpm/Value` children; a point's direct children (the last one of a kind wins),
an element's text being what precedes its first child. Laps follow each other without a pause;
a second `<Track>` within one lap starts after a pause (a new segment).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from service.imports.errors import ImportFileError
from service.imports.track import RawActivity, RawPoint
from service.imports.xmlsafe import parse_events


def _number(text: str | None) -> float | None:
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


# what an open element is to the reader (the stack holds one entry per open element)
(
    _OTHER,
    _ACTIVITY,
    _LAP,
    _LAP_TIME,
    _LAP_DISTANCE,
    _LAP_AVG_HR,
    _LAP_MAX_HR,
    _LAP_AVG_VALUE,
    _LAP_MAX_VALUE,
    _TRACK,
    _POINT,
    _TIME,
    _POSITION,
    _LAT,
    _LON,
    _ALTITUDE,
    _DISTANCE,
    _HEART_RATE,
    _HR_VALUE,
) = range(19)
# the entries whose text is read
_TEXT = frozenset(
    {_LAP_TIME, _LAP_DISTANCE, _LAP_AVG_VALUE, _LAP_MAX_VALUE}
    | {_TIME, _LAT, _LON, _ALTITUDE, _DISTANCE, _HR_VALUE}
)
_POINT_FIELDS = frozenset({_TIME, _POSITION, _ALTITUDE, _DISTANCE, _HEART_RATE})
_STRUCTURE = frozenset({_ACTIVITY, _LAP, _TRACK, _POINT})


class _Activity:
    __slots__ = ("has_distance", "has_timer", "hr_time", "hr_weighted", "raw", "segment")

    def __init__(self, sport: str | None) -> None:
        self.raw = RawActivity(sport=sport)
        self.raw.distance_m = self.raw.timer_s = 0.0
        self.has_timer = self.has_distance = False
        self.hr_weighted = self.hr_time = 0.0
        self.segment = 0

    def close(self) -> None:
        raw = self.raw
        if not self.has_timer:
            raw.timer_s = None
        if not self.has_distance:
            raw.distance_m = None
        raw.avg_hr = self.hr_weighted / self.hr_time if self.hr_time else None


class _Lap:
    __slots__ = ("activity", "avg", "distance", "seen", "time", "top", "tracks")

    def __init__(self, activity: _Activity) -> None:
        self.activity = activity
        self.time: float | None = None
        self.distance: float | None = None
        self.avg: float | None = None
        self.top: float | None = None
        self.seen: set[int] = set()  # the children found so far (the first one counts)
        self.tracks = 0

    def value(self, kind: int, value: float | None) -> None:
        if kind == _LAP_TIME:
            self.time = value
        elif kind == _LAP_DISTANCE:
            self.distance = value
        else:
            which = _LAP_AVG_HR if kind == _LAP_AVG_VALUE else _LAP_MAX_HR
            if which not in self.seen:  # the first <Value> under any such child counts
                self.seen.add(which)
                if which == _LAP_AVG_HR:
                    self.avg = value
                else:
                    self.top = value

    def close(self) -> None:
        activity, raw = self.activity, self.activity.raw
        assert raw.timer_s is not None and raw.distance_m is not None
        if self.time is not None and self.time >= 0:
            raw.timer_s += self.time
            activity.has_timer = True
        if self.distance is not None and self.distance >= 0:
            raw.distance_m += self.distance
            activity.has_distance = True
        if self.avg and self.time:
            activity.hr_weighted += self.avg * self.time
            activity.hr_time += self.time
        if self.top and (raw.max_hr is None or self.top > raw.max_hr):
            raw.max_hr = self.top


class _Reader:
    """expat callbacks that transcribe the activities (see the module's docstring).

    Character data goes straight into `chunks` (its handler is the list's own append: no Python
    call per piece of text); an element's text is what gathered there before its first child
    or its end. `stack` holds one (kind, payload[, text]) per open element: the payload is the
    point a point's child fills, or what an <Activity>/<Lap> element restores when it ends.
    """

    def __init__(self) -> None:
        self.activities: list[RawActivity] = []
        self.names: dict[str, int] = {}
        self.stack: list[tuple[Any, ...]] = [(_OTHER, None)]  # below the root
        self.chunks: list[str] = []
        self.reading = False  # the top of the stack is an element whose text is being read
        self.activity: _Activity | None = None  # the innermost open ones
        self.lap: _Lap | None = None
        self.track = 0  # open <Track>s in the innermost lap
        # the fast path inside a <Trackpoint> (`fast=True`): the expat parser whose handlers
        # are swapped, and `enter(point)` that swaps them (see _point_handlers)
        self.parser: Any = None
        self.enter: Callable[[RawPoint], None] | None = None

    def bind(self, parser: Any) -> None:
        self.parser = parser
        self.enter = _point_handlers(self, parser)

    def start(self, tag: str, attributes: list[str]) -> None:
        stack, chunks = self.stack, self.chunks
        if self.reading:  # its first child: the text ends here
            top = stack[-1]
            stack[-1] = (top[0], top[1], "".join(chunks) if chunks else None)
            self.reading = False
        if chunks:
            chunks.clear()
        names = self.names
        if not names:
            names = self.names = _names(tag)
        name = names.get(tag, _OTHER)
        parent_kind, parent = stack[-1][0], stack[-1][1]
        kind: int = _OTHER
        payload: Any = None
        if parent_kind == _POINT:  # the hot path: a trackpoint's own children
            if name in _POINT_FIELDS:
                kind, payload = name, parent
                if name == _HEART_RATE:
                    parent.heart_rate = None
        elif parent_kind == _POSITION:
            if name in (_LAT, _LON):
                kind, payload = name, parent
        elif parent_kind == _HEART_RATE:
            if name == _HR_VALUE and parent is not None:
                kind, payload = name, parent
                stack[-1] = (_HEART_RATE, None)  # its first <Value> counts
        elif parent_kind == _LAP:
            assert self.lap is not None  # the lap that element opened
            kind, payload = _lap_child(name, self.lap)
        elif (parent_kind in (_LAP_AVG_HR, _LAP_MAX_HR)) and name == _HR_VALUE:
            kind = _LAP_AVG_VALUE if parent_kind == _LAP_AVG_HR else _LAP_MAX_VALUE
            payload = parent
        if kind == _OTHER and name != _OTHER:
            kind, payload = self._nested(name, attributes)
        stack.append((kind, payload))
        self.reading = kind in _TEXT

    def _nested(self, name: int, attributes: list[str]) -> tuple[int, Any]:
        """An <Activity>, <Lap>, <Track> or <Trackpoint> at any depth inside its parent."""
        if name == _ACTIVITY:
            activity = _Activity(_attribute(attributes, "Sport"))
            self.activities.append(activity.raw)
            restore = (self.activity, self.lap, self.track)
            self.activity, self.lap, self.track = activity, None, 0
            return _ACTIVITY, restore
        if name == _LAP and self.activity is not None:
            raw = self.activity.raw
            if raw.start_hint is None:
                raw.start_hint = _time(_attribute(attributes, "StartTime"))
            previous = (self.lap, self.track)
            self.lap, self.track = _Lap(self.activity), 0
            return _LAP, previous
        if name == _TRACK and self.lap is not None:
            lap = self.lap
            if lap.tracks:  # a lap boundary is no pause; a second <Track> follows a pause
                lap.activity.segment += 1
            lap.tracks += 1
            self.track += 1
            return _TRACK, None
        if name == _POINT and self.track:
            assert self.lap is not None
            activity = self.lap.activity
            point = RawPoint(time=None, lat=None, lon=None, segment=activity.segment)
            activity.raw.points.append(point)
            if self.enter is not None:  # its children: the fast handlers
                self.enter(point)
            return _POINT, point
        return _OTHER, None

    def end(self, tag: str) -> None:
        entry = self.stack.pop()
        chunks = self.chunks
        kind = entry[0]
        if kind in _TEXT:
            # without children, its text is what gathered since it started; else what came
            # before its first child (kept in its entry then)
            text = ("".join(chunks) if chunks else None) if self.reading else entry[2]
            payload = entry[1]
            if kind == _TIME:
                payload.time = _time(text)
            elif kind == _LAT:
                payload.lat = _number(text)
            elif kind == _LON:
                payload.lon = _number(text)
            elif kind == _ALTITUDE:
                payload.elevation_m = _number(text)
            elif kind == _DISTANCE:
                payload.distance_m = _number(text)
            elif kind == _HR_VALUE:
                payload.heart_rate = _number(text)
            else:
                payload.value(kind, _number(text))
        elif kind == _TRACK:
            self.track -= 1
        elif kind == _LAP:
            assert self.lap is not None
            self.lap.close()
            self.lap, self.track = entry[1]
        elif kind == _ACTIVITY:
            assert self.activity is not None
            self.activity.close()
            self.activity, self.lap, self.track = entry[1]
        self.reading = False  # what follows is this element's tail, not its parent's text
        if chunks:
            chunks.clear()


def _point_handlers(reader: _Reader, parser: Any) -> Callable[[RawPoint], None]:
    """Lean start/end handlers for the inside of a <Trackpoint>, for the shape devices write:
    fields, and Position / HeartRateBpm one level down, anything deeper ignored. A field with
    a child element, or an Activity, Lap, Track or Trackpoint inside the point, raises
    _Unusual: `read` then reads the whole document again with the general handlers.
    Closures over local state: ~20 events a point, an attribute lookup each shows."""
    chunks = reader.chunks
    names: dict[str, int] = {}
    point = RawPoint(time=None, lat=None, lon=None)
    depth = 0
    child = grandchild = _OTHER
    reading = False  # the innermost open element is a field whose text is being read
    hr_open = False  # a <HeartRateBpm> whose first <Value> has not come yet

    def enter(new_point: RawPoint) -> None:
        nonlocal point, depth, names
        point, depth, names = new_point, 0, reader.names
        parser.StartElementHandler = start
        parser.EndElementHandler = end

    def start(tag: str, attributes: list[str]) -> None:
        nonlocal depth, child, grandchild, reading, hr_open
        if reading:
            raise _Unusual
        if chunks:
            chunks.clear()
        depth += 1
        kind = names.get(tag, _OTHER)
        if kind in _STRUCTURE:
            raise _Unusual
        if depth == 1:
            if kind in _POINT_FIELDS:
                child = kind
                if kind == _HEART_RATE:
                    point.heart_rate = None
                    hr_open = True
                elif kind != _POSITION:
                    reading = True
            else:
                child = _OTHER
        elif depth == 2:
            if child == _POSITION and kind in (_LAT, _LON):
                grandchild = kind
                reading = True
            elif child == _HEART_RATE and kind == _HR_VALUE and hr_open:
                grandchild = kind
                hr_open = False  # its first <Value> counts
                reading = True
            else:
                grandchild = _OTHER

    def end(tag: str) -> None:
        nonlocal depth, reading
        if not depth:  # the <Trackpoint> itself
            parser.StartElementHandler = reader.start
            parser.EndElementHandler = reader.end
            reader.end(tag)
            return
        if reading:  # a field without children: its text is all that gathered
            text = "".join(chunks) if chunks else None
            kind = child if depth == 1 else grandchild
            if kind == _TIME:
                point.time = _time(text)
            elif kind == _LAT:
                point.lat = _number(text)
            elif kind == _LON:
                point.lon = _number(text)
            elif kind == _ALTITUDE:
                point.elevation_m = _number(text)
            elif kind == _DISTANCE:
                point.distance_m = _number(text)
            else:
                point.heart_rate = _number(text)
            reading = False
        if chunks:
            chunks.clear()
        depth -= 1

    return enter


def _names(root: str) -> dict[str, int]:
    """The reader's kinds by expat name, in the root element's namespace."""
    ns = root[: root.index("}") + 1] if "}" in root else ""
    names = {
        "Activity": _ACTIVITY,
        "Lap": _LAP,
        "Track": _TRACK,
        "Trackpoint": _POINT,
        "TotalTimeSeconds": _LAP_TIME,
        "DistanceMeters": _DISTANCE,
        "AverageHeartRateBpm": _LAP_AVG_HR,
        "MaximumHeartRateBpm": _LAP_MAX_HR,
        "Value": _HR_VALUE,
        "Time": _TIME,
        "Position": _POSITION,
        "LatitudeDegrees": _LAT,
        "LongitudeDegrees": _LON,
        "AltitudeMeters": _ALTITUDE,
        "HeartRateBpm": _HEART_RATE,
    }
    return {ns + name: kind for name, kind in names.items()}


def _lap_child(name: int, lap: _Lap) -> tuple[int, Any]:
    """A lap's first TotalTimeSeconds / DistanceMeters child, or any of its heart-rate ones."""
    if name == _DISTANCE:
        name = _LAP_DISTANCE
    if name in (_LAP_TIME, _LAP_DISTANCE, _LAP_AVG_HR, _LAP_MAX_HR):
        if name in lap.seen:
            return _OTHER, None
        if name in (_LAP_TIME, _LAP_DISTANCE):
            lap.seen.add(name)
        return name, lap
    return _OTHER, None


def _attribute(attributes: list[str], name: str) -> str | None:
    for i in range(0, len(attributes), 2):
        if attributes[i] == name:
            return attributes[i + 1]
    return None


class _Unusual(Exception):
    """A trackpoint the fast path does not read (see _point_handlers)."""


def read(text: str) -> list[RawActivity]:
    try:
        reader = _read(text, fast=True)
    except _Unusual:
        reader = _read(text, fast=False)
    if not reader.activities:
        raise ImportFileError("TCX has no <Activity>: no activity (courses are not runs)")
    return reader.activities


def _read(text: str, *, fast: bool) -> _Reader:
    reader = _Reader()
    try:
        parse_events(
            text,
            start=reader.start,
            end=reader.end,
            data=reader.chunks.append,
            bind=reader.bind if fast else None,
        )
    finally:
        # the reader and the expat parser refer to each other (its handlers are the reader's
        # methods and closures): left as a cycle, the 20,000 points the reader holds would
        # outlive the import until a full garbage collection over the whole process found them
        reader.parser = reader.enter = None
    return reader
