"""XP formulas, version 1 (from Tracksy's seed). Pure functions: the ledger and the rebuild
both use them, so a changed formula is one edit and a rebuild."""

from __future__ import annotations

import math

FORMULA_VERSION = 1
XP_PER_LEVEL = 1000
# a run this short or shorter earns nothing (seed: "duration > 100 s")
MIN_RUN_SECONDS_FOR_XP = 100


def run_xp(duration_s: int) -> int:
    """floor(5 x minutes), 0 for a run of 100 s or less."""
    if duration_s <= MIN_RUN_SECONDS_FOR_XP:
        return 0
    return (5 * duration_s) // 60


def workout_xp(*, sets: int, volume_kg: float, duration_s: int) -> int:
    """5 per set + floor(sum of weight x reps / 100) + floor(duration_s / 120)."""
    return 5 * sets + math.floor(volume_kg / 100) + duration_s // 120


def level_for(xp: int) -> int:
    """The seed's rule "while xp >= 1000 x level: level += 1", in closed form."""
    return max(xp, 0) // XP_PER_LEVEL + 1


def xp_to_next_level(xp: int) -> int:
    return XP_PER_LEVEL * level_for(xp) - xp
