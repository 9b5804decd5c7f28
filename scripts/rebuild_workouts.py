"""Recompute each workout's stored totals from its sets, or (--verify) report any drift.

    python -m scripts.rebuild_workouts --verify          # exit 1 and list the drifted workouts
    python -m scripts.rebuild_workouts                   # repair: write only the differences
    python -m scripts.rebuild_workouts --demo --verify   # try it on the embedded store's demo data

`sets_count`, `exercises_count`, `volume_kg` (Σ reps × weight_kg) and `day` (the UTC day of
`started_at`) are recomputed (service.workouts.rebuild). Targets MONGODB_URI (without it, the
in-memory embedded store: empty unless --demo loads the demo data into it first).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.rebuild_cli import Report, rebuild_app
from service.workouts import rebuild


async def check(*, repair: bool) -> Report:
    drift = await (rebuild.repair() if repair else rebuild.verify())
    return Report(
        clean=drift.clean,
        summary=f"{drift.checked} workouts checked, {len(drift.changed)} drifted",
        details=lambda show: (
            f"workout {workout_id}: stored totals differ from its sets"
            for workout_id in drift.changed[:show]
        ),
    )


app = rebuild_app(
    __doc__,
    check=check,
    summary="Rebuild or verify the workouts' stored totals against their sets.",
    verify_what="listing the workouts",
    show_help="How many drifted workouts to list.",
)


if __name__ == "__main__":
    app()
