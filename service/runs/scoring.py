"""The score of a run: one pure function, versioned so a v2 can follow without rewriting history.

The original Challenge Run formula, applied to the run's average pace in seconds per mile:

    miles = distance_km / 1.609344
    pace  = duration_s / miles
    score = round_half_up(miles × 2 ** ((1500 − pace) / 140))

A 25:00 mile earns 1 point per mile and every 140 s/mile faster doubles the points per mile
(10:00/mile ≈ 86 per mile; 10 km in 50 min → 956). No upper cap: the plausibility limits
(≤ 350 km, ≤ 25 km/h) bound the score instead.
"""

from __future__ import annotations

import math

SCORE_VERSION = 1
KM_PER_MILE = 1.609344
BASE_PACE_S_PER_MILE = 1500  # the pace worth exactly one point per mile
DOUBLING_S_PER_MILE = 140  # this much faster per mile doubles the points


def pace_s_per_mile(distance_km: float, duration_s: float) -> float:
    return duration_s / (distance_km / KM_PER_MILE)


def score(distance_km: float, duration_s: float) -> int:
    """Points for a run (score_version 1), rounded half up: 0.5 → 1, 956.5 → 957.

    Python's round() rounds halves to even (round(0.5) == 0); the original app rounded halves
    up, so this adds 0.5 and floors. Computed in IEEE doubles.
    """
    if not (distance_km > 0 and duration_s > 0):
        raise ValueError("distance_km and duration_s must be positive")
    miles = distance_km / KM_PER_MILE
    pace = duration_s / miles
    return math.floor(miles * 2 ** ((BASE_PACE_S_PER_MILE - pace) / DOUBLING_S_PER_MILE) + 0.5)
