"""The plumbing the rebuild scripts share: their common options, the store they target
(MONGODB_URI, or the embedded store, optionally loaded with the demo data first) and the
one-line outcome.

A script that checks one thing (rebuild_records, rebuild_workouts, rebuild_friends,
rebuild_feed, rebuild_social_counts) is only its `check` (a `Report` of one pass, repairing or
not) given to `rebuild_app`; rebuild_scores and rebuild_gamification, which do more around the
pass, build their command from the pieces (`store`, `outcome`, the options).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Report:
    """One pass of a check: whether it found nothing to repair, the outcome line's summary, and
    the lines naming the differences (`details(show)`: at most `show` of each kind)."""

    clean: bool
    summary: str
    details: Callable[[int], Iterable[str]] = lambda show: ()


Check = Callable[..., Awaitable[Report]]  # check(*, repair: bool) -> Report


async def check_once(*, check: Check, verify: bool, demo: bool, seed: int, show: int) -> int:
    """One pass of `check` on the target store (repairing unless `verify`); the exit code."""
    async with store(demo=demo, seed=seed) as where:
        started = time.perf_counter()
        report = await check(repair=not verify)
        elapsed = time.perf_counter() - started

        def details() -> None:
            for line in report.details(show):
                console.print(line)

        return outcome(
            clean=report.clean,
            verify=verify,
            where=where,
            summary=report.summary,
            elapsed=elapsed,
            details=details,
        )


def rebuild_app(
    doc: str | None, *, check: Check, summary: str, verify_what: str, show_help: str | None
) -> typer.Typer:
    """The Typer app of a script that checks one thing: `--verify`, `--demo`, `--seed` and, when
    `show_help` is given, `--show`; `doc` is the app's help, `summary` the command's."""
    app = typer.Typer(add_completion=False, help=doc)
    if show_help is None:

        @app.command(help=summary)
        def main(
            verify: bool = verify_option(verify_what),
            demo: bool = demo_option(),
            seed: int = seed_option(),
        ) -> None:
            run(check_once(check=check, verify=verify, demo=demo, seed=seed, show=0))

    else:

        @app.command(help=summary)
        def main_showing(
            verify: bool = verify_option(verify_what),
            demo: bool = demo_option(),
            seed: int = seed_option(),
            show: int = show_option(show_help),
        ) -> None:
            run(check_once(check=check, verify=verify, demo=demo, seed=seed, show=show))

    return app
