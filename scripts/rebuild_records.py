"""Recompute the personal records' derived rows, or (--verify) check them and report any drift.

    python -m scripts.rebuild_records --verify          # exit 1 and print what differs on drift
    python -m scripts.rebuild_records                   # repair: write only the differences
    python -m scripts.rebuild_records --demo --verify   # try it on the embedded store's demo data

`best_efforts` are recomputed from the runs' timed routes, `strength_summaries` from the
workouts (service.records.rebuild). Targets MONGODB_URI (without it, the in-memory embedded
store: empty unless --demo loads the demo data into it first). Changes made while a repair runs
can race with it: repair in a quiet moment, then --verify again.
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
from service.records import rebuild
from service.settings import Settings

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
        summary = ", ".join(f"{name} {n}" for name, n in drift.counts().items())
        summary += " of " + ", ".join(f"{n} {name}" for name, n in drift.expected.items())
        if drift.clean:
            console.print(f"[green]no drift[/green] in the {where}: {summary} ({elapsed:.1f}s)")
            return 0
        for label, part in (
            ("missing", drift.missing),
            ("changed", drift.changed),
            ("orphaned", drift.orphaned),
        ):
            for collection, ids in part.items():
                for doc_id in ids[:show]:
                    console.print(f"{collection} {label}: {doc_id}")
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
        False, "--verify", help="Only compare; exit 1 on any drift, printing what differs."
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Load the demo data set (embedded size) into the store first."
    ),
    seed: int = typer.Option(42, help="Demo seed (with --demo)."),
    show: int = typer.Option(20, help="How many differing ids to print per kind."),
) -> None:
    """Rebuild or verify best efforts and strength summaries against runs and workouts."""
    code = asyncio.run(_main(verify=verify, demo=demo, seed=seed, show=show))
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
