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

import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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

app = typer.Typer(add_completion=False, help=__doc__)


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
    async with store(demo=demo, seed=seed) as where:
        code = 0
        for name, part in PARTS.items():
            if only and name not in only:
                continue
            started = time.perf_counter()
            result = await part(repair=not verify)
            elapsed = time.perf_counter() - started

            def details(name: str = name, result: Part = result) -> None:
                for example in result.examples[:show]:
                    console.print(f"{name}: {example}")

            code |= outcome(
                clean=result.clean,
                verify=verify,
                where=where,
                summary=", ".join(f"{k} {n}" for k, n in result.counts.items()),
                elapsed=elapsed,
                details=details,
                prefix=f"{name}: ",
            )
        return code


@app.command()
def main(
    verify: bool = verify_option(),
    only: list[str] = typer.Option(
        [], "--only", help=f"Only these parts ({', '.join(PARTS)}); repeatable."
    ),
    demo: bool = demo_option(),
    seed: int = seed_option(),
    show: int = show_option("How many differences to print per part."),
) -> None:
    """Rebuild or verify the gamification state against runs and workouts."""
    unknown = set(only) - set(PARTS)
    if unknown:
        raise typer.BadParameter(f"unknown parts: {', '.join(sorted(unknown))}")
    run(_main(verify=verify, demo=demo, seed=seed, only=only, show=show))


if __name__ == "__main__":
    app()
