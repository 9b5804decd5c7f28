"""The badges seeded into the catalogue at startup (`service.badges.service.seed_catalogue`).

Keyed by `key`: a restart adds only the missing ones and never overwrites an admin's edit.
"""

from __future__ import annotations

from typing import NamedTuple


class Seed(NamedTuple):
    key: str
    title: str
    description: str
    type: str
    activity: str
    rule: str
    threshold: float
    xp_reward: int
    min_distance_km: float | None = None


M, A, S = "milestone", "achievement", "streak"

SEEDED_BADGES: tuple[Seed, ...] = (
    Seed("first-run", "First run", "Log your first run", M, "run", "count", 1, 25),
    Seed("runs-10", "10 runs", "Log 10 runs", M, "run", "count", 10, 50),
    Seed("runs-50", "50 runs", "Log 50 runs", M, "run", "count", 50, 100),
    Seed("runs-100", "100 runs", "Log 100 runs", M, "run", "count", 100, 200),
    Seed("runs-500", "500 runs", "Log 500 runs", M, "run", "count", 500, 500),
    Seed("km-100", "100 km", "Run 100 km in total", M, "run", "distance_total_km", 100, 100),
    Seed("km-500", "500 km", "Run 500 km in total", M, "run", "distance_total_km", 500, 250),
    Seed("km-1000", "1,000 km", "Run 1,000 km in total", M, "run", "distance_total_km", 1000, 500),
    Seed("km-5000", "5,000 km", "Run 5,000 km in total", M, "run", "distance_total_km", 5000, 1000),
    Seed("first-10k", "First 10 km", "Run 10 km in one run", A, "run", "single_run_km", 10, 50),
    Seed(
        "half-marathon",
        "Half marathon",
        "Run 21.1 km in one run",
        A,
        "run",
        "single_run_km",
        21.0975,
        150,
    ),
    Seed("marathon", "Marathon", "Run 42.2 km in one run", A, "run", "single_run_km", 42.195, 300),
    Seed(
        "streak-7-days", "7-day streak", "Be active 7 days in a row", S, "all", "streak_days", 7, 70
    ),
    Seed(
        "streak-30-days",
        "30-day streak",
        "Be active 30 days in a row",
        S,
        "all",
        "streak_days",
        30,
        300,
    ),
    Seed(
        "streak-4-weeks",
        "4-week streak",
        "Be active 4 ISO weeks in a row",
        S,
        "all",
        "streak_weeks",
        4,
        50,
    ),
    Seed(
        "streak-12-weeks",
        "12-week streak",
        "Be active 12 ISO weeks in a row",
        S,
        "all",
        "streak_weeks",
        12,
        150,
    ),
    Seed("level-5", "Level 5", "Reach level 5", M, "all", "level", 5, 100),
    Seed("level-10", "Level 10", "Reach level 10", M, "all", "level", 10, 250),
    Seed("level-25", "Level 25", "Reach level 25", M, "all", "level", 25, 500),
    Seed("first-workout", "First workout", "Log your first workout", M, "workout", "count", 1, 25),
    Seed("workouts-50", "50 workouts", "Log 50 workouts", M, "workout", "count", 50, 150),
    Seed(
        "sub-25-5k",
        "Sub-25 5K",
        "A 5 km best effort under 25:00",
        A,
        "run",
        "best_effort_s",
        1500,
        100,
        5.0,
    ),
    Seed(
        "sub-50-10k",
        "Sub-50 10K",
        "A 10 km best effort under 50:00",
        A,
        "run",
        "best_effort_s",
        3000,
        150,
        10.0,
    ),
    Seed(
        "first-challenge",
        "First challenge",
        "Complete a challenge",
        A,
        "all",
        "challenges_completed",
        1,
        50,
    ),
    Seed(
        "challenges-10",
        "10 challenges",
        "Complete 10 challenges",
        A,
        "all",
        "challenges_completed",
        10,
        200,
    ),
    Seed(
        "hours-10", "10 hours", "Be active 10 hours in total", M, "all", "duration_total_h", 10, 50
    ),
    Seed(
        "hours-100",
        "100 hours",
        "Be active 100 hours in total",
        M,
        "all",
        "duration_total_h",
        100,
        250,
    ),
    Seed(
        "score-10000", "10,000 points", "Score 10,000 points", M, "run", "score_total", 10000, 100
    ),
    Seed(
        "activities-100", "100 activities", "Log 100 runs or workouts", M, "all", "count", 100, 150
    ),
)
