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
import time
from pathlib import Path

import typer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.rebuild_cli import (
    console,
    demo_option,
    outcome,
    run,
    seed_option,
    show_option,
    store,
    verify_option,
)
from service.workouts import rebuild

app = typer.Typer(add_completion=False, help=__doc__)


async def _main(*, verify: bool, demo: bool, seed: int, show: int) -> int:
    async with store(demo=demo, seed=seed) as where:
        started = time.perf_counter()
        drift = await (rebuild.verify() if verify else rebuild.repair())
        elapsed = time.perf_counter() - started
        summary = f"{drift.checked} workouts checked, {len(drift.changed)} drifted"

        def details() -> None:
            for workout_id in drift.changed[:show]:
                console.print(f"workout {workout_id}: stored totals differ from its sets")

        return outcome(
            clean=drift.clean,
            verify=verify,
            where=where,
            summary=summary,
            elapsed=elapsed,
            details=details,
        )


@app.command()
def main(
    verify: bool = verify_option("listing the workouts"),
    demo: bool = demo_option(),
    seed: int = seed_option(),
    show: int = show_option("How many drifted workouts to list."),
) -> None:
    """Rebuild or verify the workouts' stored totals against their sets."""
    run(_main(verify=verify, demo=demo, seed=seed, show=show))


if __name__ == "__main__":
    app()
