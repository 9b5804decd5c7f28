"""Plausibility limits of a run, and the one check applied on create and on every edit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from documents.clock import as_stored
from service.errors import Unprocessable

EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(minutes=5)
MAX_DISTANCE_KM = 350
MIN_DURATION_S = 60
MAX_DURATION_S = 172_800  # 48 h
MAX_SPEED_KMH = 25
MAX_ELEVATION_GAIN_M = 30_000
MAX_NOTES_LENGTH = 2_000
MAX_ROUTE_POINTS = 20_000
MAX_IDEMPOTENCY_KEY_LENGTH = 200


def round_to_metres(distance_km: float) -> float:
    """Half-up rounding of the decimal the client wrote (0.0005 → 0.001), not of its float."""
    return float(Decimal(repr(distance_km)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


_STARTED = ("body", "started_at")


def check_plausible(
    *, started_at: datetime, distance_km: float, duration_s: int, now: datetime
) -> None:
    """Raise Unprocessable (422) with a readable detail when a run cannot be real."""
    if started_at < EARLIEST_START:
        raise Unprocessable(
            f"started_at {started_at.isoformat()} is before 2000-01-01T00:00:00Z", loc=_STARTED
        )
    if started_at > now + FUTURE_SKEW:
        raise Unprocessable(
            f"started_at {started_at.isoformat()} is in the future "
            f"(server time {as_stored(now).isoformat()}; 5 minutes of clock skew allowed)",
            loc=_STARTED,
        )
    if not 0 < distance_km <= MAX_DISTANCE_KM:
        raise Unprocessable(
            f"distance_km must be more than 0 and at most {MAX_DISTANCE_KM} "
            f"(got {distance_km} after rounding to whole metres)",
            loc=("body", "distance_km"),
        )
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        raise Unprocessable(
            f"duration_s must be between {MIN_DURATION_S} and {MAX_DURATION_S} (got {duration_s})",
            loc=("body", "duration_s"),
        )
    # distance_km / (duration_s / 3600) > 25, without dividing
    if distance_km * 3600 > MAX_SPEED_KMH * duration_s:
        speed = distance_km * 3600 / duration_s
        raise Unprocessable(
            f"Average speed {speed:.1f} km/h is above the {MAX_SPEED_KMH} km/h limit for a run "
            f"({distance_km} km in {duration_s} s)",
            locs=[("body", "distance_km"), ("body", "duration_s")],
        )
