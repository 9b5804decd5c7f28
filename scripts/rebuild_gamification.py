"""Rebuild the gamification state (issue 9) from runs and workouts, or (--verify) report drift.

    python -m scripts.rebuild_gamification --verify             # exit 1 and print drift
    python -m scripts.rebuild_gamification                      # repair
    python -m scripts.rebuild_gamification --only badges        # one part (repeatable)
    python -m scripts.rebuild_gamification --demo --verify      # on the embedded demo data

Each feature adds its part below (a function returning a `Part`) and appends it to PARTS:
- badges: activity_totals from the activities, badges met but missing awarded (never
  revoked), each award's XP entry (also re-runs an interrupted award job of a new badge).
- challenges: open challenges (ended ones are frozen; the demo load includes them) from the
  activities: city/global enrolments, contributions, progress, team/city and collective totals,
  completions and their XP entries, users' completed-challenge counts.
- goals: per-user per-week totals from the activities, goal XP of the current week (met
  exactly when credited), entries of past weeks only checked to belong to a goal then in force.
- xp: run and workout ledger entries from their sources (service.xp.rebuild), then every
  user's xp == sum of their entries and level == level_for(xp).
Targets MONGODB_URI (without it, the in-memory embedded store: empty unless --demo).
Changes made while a repair runs can race with it: repair in a quiet moment, then --verify.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import db
from service.demo import load_demo
from service.settings import Settings

app = typer.Typer(add_completion=False, help=__doc__)
console = Console()


@dataclass
class Part:
    clean: bool
    counts: dict[str, int]
    examples: list[str] = field(default_factory=list)


async def badges_part(*, repair: bool) -> Part:
    from service.badges import jobs, rebuild
    from service.badges import service as badges

    await badges.seed_catalogue()  # as the service's startup does (missing badges only)
    drift = await rebuild.rebuild(repair=repair)
    await jobs.wait_idle()
    return Part(clean=drift.clean, counts=drift.counts(), examples=drift.examples)


async def goals_part(*, repair: bool) -> Part:
    from service.goals import rebuild

    drift = await rebuild.rebuild(repair=repair)
    return Part(clean=drift.clean, counts=drift.counts(), examples=drift.examples)


async def xp_part(*, repair: bool) -> Part:
    """Run and workout entries from their sources, then every user's xp/level from the ledger
    (last: the other parts' repairs move entries through the ledger first)."""
    from service.xp import rebuild

    drift = await rebuild.rebuild(repair=repair)
    return Part(clean=drift.clean, counts=drift.counts(), examples=drift.examples)


async def challenges_part(*, repair: bool) -> Part:
    from service.challenges import rebuild

    drift = await rebuild.rebuild(repair=repair)
    return Part(clean=drift.clean, counts=drift.counts(), examples=drift.examples)


PARTS: dict[str, Callable[..., Awaitable[Part]]] = {
    # before badges: the completed-challenge counts their rule reads
    "challenges": challenges_part,
    "badges": badges_part,
    "goals": goals_part,
    # keep last: users' xp and level checked against the ledger the parts above left
    "xp": xp_part,
}


async def _main(*, verify: bool, demo: bool, seed: int, only: list[str], show: int) -> int:
    settings = Settings()
    client, _ = await db.connect(settings)
    try:
        where = "embedded store" if settings.embedded else f"database {settings.mongodb_db!r}"
        if demo:
            await load_demo(settings=settings, seed=seed, size="embedded")
        elif settings.embedded:
            console.print("[yellow]MONGODB_URI is not set: the embedded store is empty.[/yellow]")
        code = 0
        for name, part in PARTS.items():
            if only and name not in only:
                continue
            started = time.perf_counter()
            result = await part(repair=not verify)
            elapsed = time.perf_counter() - started
            summary = ", ".join(f"{k} {n}" for k, n in result.counts.items())
            if result.clean:
                console.print(f"{name}: [green]no drift[/green] in the {where}: {summary}")
                continue
            for example in result.examples[:show]:
                console.print(f"{name}: {example}")
            if verify:
                console.print(
                    f"{name}: [red]drift[/red] in the {where}: {summary} ({elapsed:.1f}s)"
                )
                code = 1
            else:
                console.print(f"{name}: [green]repaired[/green]: {summary} ({elapsed:.1f}s)")
        return code
    finally:
        db.close(client)


@app.command()
def main(
    verify: bool = typer.Option(
        False, "--verify", help="Only compare; exit 1 on any drift, printing what differs."
    ),
    only: list[str] = typer.Option(
        [], "--only", help=f"Only these parts ({', '.join(PARTS)}); repeatable."
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Load the demo data set (embedded size) into the store first."
    ),
    seed: int = typer.Option(42, help="Demo seed (with --demo)."),
    show: int = typer.Option(20, help="How many differences to print per part."),
) -> None:
    """Rebuild or verify the gamification state against runs and workouts."""
    unknown = set(only) - set(PARTS)
    if unknown:
        raise typer.BadParameter(f"unknown parts: {', '.join(sorted(unknown))}")
    code = asyncio.run(_main(verify=verify, demo=demo, seed=seed, only=only, show=show))
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
