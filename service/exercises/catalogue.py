"""The standard exercises seeded into the public catalogue at startup (`service.seed_catalogue`).

Each entry: name, category, primary muscles, equipment, measures (what a set of it records).
"""

from __future__ import annotations

from typing import NamedTuple


class Standard(NamedTuple):
    name: str
    category: str
    primary_muscles: tuple[str, ...]
    equipment: str
    measures: tuple[str, ...]


_RW = ("reps", "weight_kg")
_R = ("reps",)
_D = ("duration_s",)
_DD = ("duration_s", "distance_m")
_WD = ("weight_kg", "distance_m")

STANDARD_EXERCISES: tuple[Standard, ...] = (
    # strength: barbell
    Standard("Back squat", "strength", ("quadriceps", "glutes"), "barbell", _RW),
    Standard("Front squat", "strength", ("quadriceps", "core"), "barbell", _RW),
    Standard("Deadlift", "strength", ("hamstrings", "glutes", "lower_back"), "barbell", _RW),
    Standard("Romanian deadlift", "strength", ("hamstrings", "glutes"), "barbell", _RW),
    Standard("Bench press", "strength", ("chest", "triceps"), "barbell", _RW),
    Standard("Incline bench press", "strength", ("chest", "shoulders"), "barbell", _RW),
    Standard("Overhead press", "strength", ("shoulders", "triceps"), "barbell", _RW),
    Standard("Barbell row", "strength", ("back", "biceps"), "barbell", _RW),
    Standard("Hip thrust", "strength", ("glutes", "hamstrings"), "barbell", _RW),
    Standard("Barbell curl", "strength", ("biceps",), "barbell", _RW),
    Standard("Power clean", "strength", ("full_body",), "barbell", _RW),
    Standard("Good morning", "strength", ("hamstrings", "lower_back"), "barbell", _RW),
    # strength: dumbbell / kettlebell
    Standard("Dumbbell bench press", "strength", ("chest", "triceps"), "dumbbell", _RW),
    Standard("Dumbbell shoulder press", "strength", ("shoulders", "triceps"), "dumbbell", _RW),
    Standard("Dumbbell row", "strength", ("back", "biceps"), "dumbbell", _RW),
    Standard("Dumbbell curl", "strength", ("biceps",), "dumbbell", _RW),
    Standard("Hammer curl", "strength", ("biceps", "forearms"), "dumbbell", _RW),
    Standard("Lateral raise", "strength", ("shoulders",), "dumbbell", _RW),
    Standard("Dumbbell fly", "strength", ("chest",), "dumbbell", _RW),
    Standard("Goblet squat", "strength", ("quadriceps", "glutes"), "dumbbell", _RW),
    Standard("Walking lunge", "strength", ("quadriceps", "glutes"), "dumbbell", _RW),
    Standard("Bulgarian split squat", "strength", ("quadriceps", "glutes"), "dumbbell", _RW),
    Standard("Step-up", "strength", ("quadriceps", "glutes"), "dumbbell", _RW),
    Standard("Overhead triceps extension", "strength", ("triceps",), "dumbbell", _RW),
    Standard("Farmer's carry", "strength", ("forearms", "traps", "core"), "dumbbell", _WD),
    Standard("Kettlebell swing", "strength", ("glutes", "hamstrings"), "kettlebell", _RW),
    Standard("Turkish get-up", "strength", ("shoulders", "core"), "kettlebell", _RW),
    # strength: machines and cables
    Standard("Leg press", "strength", ("quadriceps", "glutes"), "machine", _RW),
    Standard("Leg extension", "strength", ("quadriceps",), "machine", _RW),
    Standard("Leg curl", "strength", ("hamstrings",), "machine", _RW),
    Standard("Calf raise", "strength", ("calves",), "machine", _RW),
    Standard("Lat pulldown", "strength", ("lats", "biceps"), "cable", _RW),
    Standard("Seated cable row", "strength", ("back", "biceps"), "cable", _RW),
    Standard("Cable triceps pushdown", "strength", ("triceps",), "cable", _RW),
    Standard("Face pull", "strength", ("shoulders", "traps"), "cable", _RW),
    Standard("Cable crossover", "strength", ("chest",), "cable", _RW),
    # strength: bodyweight
    Standard("Push-up", "strength", ("chest", "triceps"), "bodyweight", _R),
    Standard("Pull-up", "strength", ("lats", "biceps"), "pull_up_bar", _R),
    Standard("Chin-up", "strength", ("lats", "biceps"), "pull_up_bar", _R),
    Standard("Weighted pull-up", "strength", ("lats", "biceps"), "pull_up_bar", _RW),
    Standard("Dip", "strength", ("triceps", "chest"), "bodyweight", _R),
    Standard("Inverted row", "strength", ("back", "biceps"), "bodyweight", _R),
    Standard("Air squat", "strength", ("quadriceps", "glutes"), "bodyweight", _R),
    Standard("Lunge", "strength", ("quadriceps", "glutes"), "bodyweight", _R),
    Standard("Glute bridge", "strength", ("glutes",), "bodyweight", _R),
    Standard("Nordic hamstring curl", "strength", ("hamstrings",), "bodyweight", _R),
    Standard("Single-leg calf raise", "strength", ("calves",), "bodyweight", _R),
    Standard("Sit-up", "strength", ("abs",), "bodyweight", _R),
    Standard("Crunch", "strength", ("abs",), "bodyweight", _R),
    Standard("Hanging leg raise", "strength", ("abs", "hip_flexors"), "pull_up_bar", _R),
    Standard("Russian twist", "strength", ("obliques",), "medicine_ball", _RW),
    Standard("Back extension", "strength", ("lower_back", "glutes"), "bench", _R),
    Standard("Plank", "strength", ("core",), "bodyweight", _D),
    Standard("Side plank", "strength", ("obliques", "core"), "bodyweight", _D),
    Standard("Hollow hold", "strength", ("abs",), "bodyweight", _D),
    Standard("Wall sit", "strength", ("quadriceps",), "bodyweight", _D),
    Standard("Dead hang", "strength", ("forearms", "lats"), "pull_up_bar", _D),
    Standard("Sled push", "strength", ("quadriceps", "glutes"), "sled", _WD),
    # cardio
    Standard("Treadmill run", "cardio", ("quadriceps", "calves"), "treadmill", _DD),
    Standard("Indoor rowing", "cardio", ("back", "quadriceps"), "rower", _DD),
    Standard("Stationary bike", "cardio", ("quadriceps",), "bike", _DD),
    Standard("Ski erg", "cardio", ("lats", "triceps"), "ski_erg", _DD),
    Standard("Elliptical", "cardio", ("quadriceps", "glutes"), "machine", _DD),
    Standard("Stair climber", "cardio", ("quadriceps", "glutes", "calves"), "machine", _D),
    Standard("Swimming", "cardio", ("full_body",), "pool", _DD),
    Standard("Jump rope", "cardio", ("calves",), "jump_rope", _D),
    Standard("Mountain climber", "cardio", ("core", "hip_flexors"), "bodyweight", _D),
    Standard("Jumping jack", "cardio", ("full_body",), "bodyweight", _R),
    Standard("Burpee", "cardio", ("full_body",), "bodyweight", _R),
    Standard("Strides", "cardio", ("hamstrings", "calves"), "bodyweight", _R),
    # plyometrics
    Standard("Box jump", "plyometrics", ("quadriceps", "glutes", "calves"), "box", _R),
    Standard("Depth jump", "plyometrics", ("quadriceps", "calves"), "box", _R),
    Standard(
        "Broad jump", "plyometrics", ("glutes", "quadriceps"), "bodyweight", ("reps", "distance_m")
    ),
    Standard("Jump squat", "plyometrics", ("quadriceps", "glutes"), "bodyweight", _R),
    Standard("Split jump", "plyometrics", ("quadriceps", "glutes"), "bodyweight", _R),
    Standard("Skater jump", "plyometrics", ("glutes", "adductors"), "bodyweight", _R),
    Standard("Bounding", "plyometrics", ("glutes", "calves"), "bodyweight", ("distance_m",)),
    Standard("Pogo jump", "plyometrics", ("calves",), "bodyweight", _R),
    Standard("Tuck jump", "plyometrics", ("quadriceps", "abs"), "bodyweight", _R),
    Standard("Medicine ball slam", "plyometrics", ("lats", "core"), "medicine_ball", _RW),
    Standard("Plyometric push-up", "plyometrics", ("chest", "triceps"), "bodyweight", _R),
    # mobility
    Standard("Hip flexor stretch", "mobility", ("hip_flexors",), "bodyweight", _D),
    Standard("Hamstring stretch", "mobility", ("hamstrings",), "bodyweight", _D),
    Standard("Calf stretch", "mobility", ("calves",), "bodyweight", _D),
    Standard("Quad stretch", "mobility", ("quadriceps",), "bodyweight", _D),
    Standard("Pigeon pose", "mobility", ("glutes", "hip_flexors"), "bodyweight", _D),
    Standard(
        "World's greatest stretch", "mobility", ("hip_flexors", "hamstrings"), "bodyweight", _R
    ),
    Standard("Cat-cow", "mobility", ("lower_back",), "bodyweight", _R),
    Standard("Thoracic rotation", "mobility", ("back",), "bodyweight", _R),
    Standard("Leg swing", "mobility", ("hip_flexors", "hamstrings"), "bodyweight", _R),
    Standard("Foam rolling", "mobility", ("full_body",), "foam_roller", _D),
    Standard("Band pull-apart", "mobility", ("shoulders", "traps"), "band", _R),
    Standard("Ankle mobility drill", "mobility", ("calves",), "bodyweight", _R),
)
