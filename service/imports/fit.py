"""FIT → one raw activity per session; the session gives the device's timer time, distance,
ascent and heart rate. Decoded by fitdecode with its CRC check on: a file that fails it, or
ends early, is refused rather than half-read."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import fitdecode

from service.imports.errors import ImportFileError
from service.imports.track import RawActivity, RawPoint

SEMICIRCLE_DEG = 180.0 / 2**31
TRUNCATED = "truncated FIT file"
BAD_CRC = "FIT file fails its CRC check"
_SESSION_FIELDS = (
    "start_time",
    "timestamp",
    "total_elapsed_time",
    "total_timer_time",
    "total_distance",
    "total_ascent",
    "avg_heart_rate",
    "max_heart_rate",
    "sport",
)


def is_fit(content: bytes) -> bool:
    return len(content) >= 12 and content[8:12] == b".FIT"


@dataclass
class _Session:
    fields: dict[str, Any]

    def window(self) -> tuple[datetime, datetime] | None:
        start = self.fields.get("start_time")
        if not isinstance(start, datetime):
            return None
        elapsed = self.fields.get("total_elapsed_time")
        end = self.fields.get("timestamp")
        if isinstance(elapsed, int | float):
            end = start + timedelta(seconds=float(elapsed))
        if not isinstance(end, datetime):
            return None
        return start, end


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def read(content: bytes) -> list[RawActivity]:
    if len(content) < 14:
        raise ImportFileError(TRUNCATED)
    points: list[RawPoint] = []
    sessions: list[_Session] = []
    segment = 0
    paused = False
    try:
        with fitdecode.FitReader(
            io.BytesIO(content),
            check_crc=fitdecode.CrcCheck.RAISE,
            error_handling=fitdecode.ErrorHandling.RAISE,
        ) as reader:
            for frame in reader:
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue
                name = frame.name
                if name == "record":
                    values = {f.name: f.value for f in frame.fields}
                    if paused:  # the first record after the timer was stopped: a new segment
                        segment += 1
                        paused = False
                    lat, lon = values.get("position_lat"), values.get("position_long")
                    altitude = values.get("enhanced_altitude")
                    if altitude is None:
                        altitude = values.get("altitude")
                    time = values.get("timestamp")
                    points.append(
                        RawPoint(
                            time=time if isinstance(time, datetime) else None,
                            lat=lat * SEMICIRCLE_DEG if isinstance(lat, int) else None,
                            lon=lon * SEMICIRCLE_DEG if isinstance(lon, int) else None,
                            elevation_m=_number(altitude),
                            heart_rate=_number(values.get("heart_rate")),
                            distance_m=_number(values.get("distance")),
                            segment=segment,
                        )
                    )
                elif name == "event":
                    if frame.get_value("event", fallback=None) == "timer" and str(
                        frame.get_value("event_type", fallback="")
                    ).startswith("stop"):
                        paused = True
                elif name == "session":
                    sessions.append(
                        _Session({k: frame.get_value(k, fallback=None) for k in _SESSION_FIELDS})
                    )
    except fitdecode.FitCRCError:
        raise ImportFileError(BAD_CRC) from None
    except fitdecode.FitEOFError:
        raise ImportFileError(TRUNCATED) from None
    except fitdecode.FitHeaderError as e:
        raise ImportFileError(f"not a valid FIT file: {e}") from None
    except fitdecode.FitError as e:
        raise ImportFileError(f"malformed FIT file: {e}") from None
    except Exception:  # fitdecode trips over corrupt bytes in many ways
        # (struct.error, TypeError, AssertionError...) before it reaches the CRC at the end
        raise ImportFileError("malformed FIT file: corrupt data") from None
    if not sessions:
        if not points:
            raise ImportFileError("FIT file has no activity (no session and no records)")
        return [RawActivity(points=points)]
    return [_activity(session, points, len(sessions)) for session in sessions]


def _activity(session: _Session, points: list[RawPoint], sessions: int) -> RawActivity:
    f = session.fields
    window = session.window() if sessions > 1 else None
    if window is not None:
        start, end = window
        mine = [p for p in points if p.time is not None and start <= p.time <= end]
    else:
        mine = points if sessions == 1 else []
    sport = f.get("sport")
    return RawActivity(
        points=mine,
        timer_s=_number(f.get("total_timer_time")),
        distance_m=_number(f.get("total_distance")),
        ascent_m=_number(f.get("total_ascent")),
        avg_hr=_number(f.get("avg_heart_rate")),
        max_hr=_number(f.get("max_heart_rate")),
        sport=str(sport) if sport is not None else None,
        start_hint=f.get("start_time") if isinstance(f.get("start_time"), datetime) else None,
    )
