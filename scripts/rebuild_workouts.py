"""Recompute each workout's stored totals from its sets, or (--verify) report any drift.

    python -m scripts.rebuild_workouts --verify          # exit 1 and list the drifted workouts
    python -m scripts.rebuild_workouts                   # repair: write only the differences
    python -m scripts.rebuild_workouts --demo --verify   # try it on the embedded store's demo data

`sets_count`, `exercises_count`, `volume_kg` (Σ reps × weight_kg) and `day` (the UTC day of
`started_at`) are recomputed (service.workouts.rebuild). Targets MONGODB_URI (without it, the
in-memory embedded store: empty unless --demo loads the demo data into it first).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import typer
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import db
from service.demo import load_demo
from service.settings import Settings
from service.workouts import rebuild

app = typer.Typer(add_completion=False, help=__doc__)
console = Console()


async def _main(*, verify: bool, demo: bool, seed: int, show: int) -> int:
    settings = Settings()
    client, _ = await db.connect(settings)
    try:
        where = "embedded store" if settings.embedded else f"database {settings.mongodb_db!r}"
        if demo:
            await load_demo(settings=settings, seed=seed, size="embedded")
        elif settings.embedded:
            console.print("[yellow]MONGODB_URI is not set: the embedded store is empty.[/yellow]")
        started = time.perf_counter()
        drift = await (rebuild.verify() if verify else rebuild.repair())
        elapsed = time.perf_counter() - started
        summary = f"{drift.checked} workouts checked, {len(drift.changed)} drifted"
        if drift.clean:
            console.print(f"[green]no drift[/green] in the {where}: {summary} ({elapsed:.1f}s)")
            return 0
        for workout_id in drift.changed[:show]:
            console.print(f"workout {workout_id}: stored totals differ from its sets")
        if verify:
            console.print(f"[red]drift[/red] in the {where}: {summary} ({elapsed:.1f}s)")
            return 1
        console.print(f"[green]repaired[/green] the {where}: {summary} ({elapsed:.1f}s)")
        return 0
    finally:
        db.close(client)


@app.command()
def main(
    verify: bool = typer.Option(
        False, "--verify", help="Only compare; exit 1 on any drift, listing the workouts."
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Load the demo data set (embedded size) into the store first."
    ),
    seed: int = typer.Option(42, help="Demo seed (with --demo)."),
    show: int = typer.Option(20, help="How many drifted workouts to list."),
) -> None:
    """Rebuild or verify the workouts' stored totals against their sets."""
    raise typer.Exit(asyncio.run(_main(verify=verify, demo=demo, seed=seed, show=show)))


if __name__ == "__main__":
    app()
