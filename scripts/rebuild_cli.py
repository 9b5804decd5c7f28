"""The plumbing the rebuild scripts share (rebuild_scores, rebuild_records, rebuild_workouts,
rebuild_gamification): their common options, the store they target (MONGODB_URI, or the
embedded store, optionally loaded with the demo data first) and the one-line outcome.

Each script keeps only what it rebuilds and how it prints the differences.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import db
from service.demo import load_demo
from service.settings import Settings

console = Console()


def verify_option(what: str = "printing what differs") -> Any:
    return typer.Option(False, "--verify", help=f"Only compare; exit 1 on any drift, {what}.")


def demo_option() -> Any:
    return typer.Option(
        False, "--demo", help="Load the demo data set (embedded size) into the store first."
    )


def seed_option() -> Any:
    return typer.Option(42, help="Demo seed (with --demo).")


def show_option(what: str = "How many differences to print.") -> Any:
    return typer.Option(20, help=what)


@asynccontextmanager
async def store(*, demo: bool, seed: int, progress: bool = False) -> AsyncIterator[str]:
    """Connect to the store the settings name (loading the demo into it with `demo`); yields
    how to call it in messages ("embedded store", "database 'x'")."""
    settings = Settings()
    client, _ = await db.connect(settings)
    try:
        where = "embedded store" if settings.embedded else f"database {settings.mongodb_db!r}"
        if demo and progress:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            from scripts.seed_demo import RichProgress

            columns = (TextColumn("{task.description:>14}"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
                await load_demo(
                    settings=settings, seed=seed, size="embedded", progress=RichProgress(bar)
                )
        elif demo:
            await load_demo(settings=settings, seed=seed, size="embedded")
        elif settings.embedded:
            console.print("[yellow]MONGODB_URI is not set: the embedded store is empty.[/yellow]")
        yield where
    finally:
        db.close(client)


def outcome(
    *,
    clean: bool,
    verify: bool,
    where: str,
    summary: str,
    elapsed: float,
    details: Callable[[], None] = lambda: None,
    prefix: str = "",
) -> int:
    """Print the outcome (the differences through `details` when there are any); the exit code:
    1 for drift found by --verify, else 0."""
    if clean:
        console.print(f"{prefix}[green]no drift[/green] in the {where}: {summary} ({elapsed:.1f}s)")
        return 0
    details()
    if verify:
        console.print(f"{prefix}[red]drift[/red] in the {where}: {summary} ({elapsed:.1f}s)")
        return 1
    console.print(f"{prefix}[green]repaired[/green] the {where}: {summary} ({elapsed:.1f}s)")
    return 0


def run(main: Coroutine[Any, Any, int]) -> NoReturn:
    """Run the script's coroutine and exit with its code."""
    raise typer.Exit(asyncio.run(main))
