"""The score formula (score_version 1) as a pure function, against the issue's checks."""

import math
import random

import pytest

from service.runs import scoring

MILE_KM = 1.609344


def test_a_25_minute_mile_is_worth_one_point_per_mile() -> None:
    for miles in (1, 2, 5, 26):
        assert scoring.score(miles * MILE_KM, 1500 * miles) == miles


def test_a_10_minute_mile_is_worth_about_86_points_per_mile() -> None:
    assert scoring.score(MILE_KM, 600) == 86
    assert scoring.score(10 * MILE_KM, 6000) == 861  # 86.1 per mile, rounded once at the end


def test_10_km_in_50_minutes_scores_956() -> None:
    assert scoring.score(10.0, 3000) == 956


def test_every_140_seconds_faster_per_mile_doubles_the_points() -> None:
    assert scoring.score(MILE_KM, 1500 - 140) == 2
    assert scoring.score(MILE_KM, 1500 - 280) == 4
    assert scoring.score(MILE_KM, 1500 + 140) == 1  # 0.5 rounds up


def test_halves_round_up_not_to_even() -> None:
    # half a mile at a 25:00 pace is exactly 0.5 points; Python's round() would give 0
    assert scoring.score(MILE_KM / 2, 750) == 1
    assert round(0.5) == 0  # why the formula cannot use round()


def test_no_upper_cap() -> None:
    # a 100 km ultra at 6:00/km scores well above the original app's 1500 cap
    assert scoring.score(100, 36_000) > 1500


def test_matches_the_formula_written_out_on_random_runs() -> None:
    rng = random.Random(3)
    for _ in range(2_000):
        km = rng.uniform(0.5, 100)
        duration = rng.randint(int(km * 150) + 60, int(km * 900) + 60)
        miles = km / 1.609344
        expected = math.floor(miles * 2 ** ((1500 - duration / miles) / 140) + 0.5)
        assert scoring.score(km, duration) == expected


def test_slower_is_never_worth_more() -> None:
    scores = [scoring.score(10, d) for d in range(1800, 12_000, 60)]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(("km", "seconds"), [(0, 600), (-1, 600), (5, 0)])
def test_rejects_non_positive_input(km: float, seconds: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        scoring.score(km, seconds)


def test_score_version_is_1() -> None:
    assert scoring.SCORE_VERSION == 1
