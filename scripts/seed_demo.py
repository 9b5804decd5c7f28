"""Load the demo data set into MONGODB_URI (deterministic, safe to re-run).

python -m scripts.seed_demo --seed 42
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import db
from service.demo import load_demo
from service.settings import Settings

app = typer.Typer(add_completion=False, help=__doc__)
console = Console()


class RichProgress:
    """Adapts rich's progress bar to the demo loader's start/advance protocol."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: object | None = None

    def start(self, label: str, total: int) -> None:
        self.task = self.progress.add_task(label, total=total)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)  # type: ignore[arg-type]


async def _seed(seed: int, size: str) -> dict[str, int]:
    settings = Settings()
    if settings.embedded:
        console.print(
            "[yellow]MONGODB_URI is not set: seeding a throwaway in-memory store "
            "(useful only as a dry run).[/yellow]"
        )
    client, _ = await db.connect(settings)
    try:
        columns = (
            TextColumn("{task.description:>12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            return await load_demo(
                settings=settings,
                seed=seed,
                size=size,  # type: ignore[arg-type]
                progress=RichProgress(progress),
            )
    finally:
        db.close(client)


@app.command()
def main(
    seed: int = typer.Option(42, help="Random seed: the same seed gives the same data."),
    size: str = typer.Option("full", help="full (seed script) or embedded (the startup subset)."),
) -> None:
    """Upsert demo users, cities, teams, runs, competitions, athletes, workouts and routes."""
    if size not in {"full", "embedded"}:
        raise typer.BadParameter("size must be 'full' or 'embedded'")
    summary = asyncio.run(_seed(seed, size))
    console.print({"seed": seed, **summary})


if __name__ == "__main__":
    app()
