"""Recompute every score bucket and board total from the runs, or (--verify) check them and
report any drift.

    python -m scripts.rebuild_scores --verify          # exit 1 and print what differs on drift
    python -m scripts.rebuild_scores                   # repair: write only the differences
    python -m scripts.rebuild_scores --demo --verify   # try it on the embedded store's demo data

A repair also fills in `ends_at` (started_at + duration_s) on runs stored before it existed;
--verify reports how many lack it. Overlap checks are correct either way (they fall back to
started_at + duration_s), the backfill only lets the database filter those runs itself.

Targets MONGODB_URI (without it, the in-memory embedded store: empty unless --demo loads the
demo data into it first). Run changes made while a repair runs can race with it: repair in a
quiet moment, then --verify again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents import Run, ScoreBucket
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
from service.leaderboards import rebuild
from service.runs import overlap

app = typer.Typer(add_completion=False, help=__doc__)


async def _tamper() -> None:
    """Corrupt three buckets (demonstrates and tests --verify): one changed, one gone, one ghost."""
    buckets = ScoreBucket.get_motor_collection()
    first = await buckets.find_one({"kind": "team"}, sort=[("day", 1), ("entity_id", 1)])
    last = await buckets.find_one({"kind": "user"}, sort=[("day", -1), ("entity_id", 1)])
    if first is None or last is None:
        return
    await buckets.update_one({"_id": first["_id"]}, {"$inc": {"score": 7}})
    await buckets.delete_one({"_id": last["_id"]})
    ghost = {key: first[key] for key in ("kind", "entity_id", "city_id")}
    await buckets.insert_one(
        {**ghost, "day": first["day"].replace(year=2001), "score": 1, "distance_m": 1, "runs": 1}
    )


def _report(drift: rebuild.Drift, show: int) -> None:
    table = Table("bucket", "day", "stored", "runs say", title="Drift")
    for difference in drift.differences[:show]:
        kind, entity_id, team_id, city_id, day = difference.key
        where = f"{kind} {entity_id}" + (f" (team {team_id})" if team_id else "")
        where += f" (city {city_id})" if city_id else ""
        stored, expected = difference.stored, difference.expected
        table.add_row(where, day.date().isoformat(), str(stored or "-"), str(expected or "-"))
    console.print(table)
    if len(drift.differences) > show:
        console.print(f"... and {len(drift.differences) - show} more")
    for line in drift.totals.describe(show):
        console.print(f"board total {line}")


async def _main(*, verify: bool, demo: bool, seed: int, show: int, tamper: bool) -> int:
    async with store(demo=demo, seed=seed, progress=True) as where:
        if tamper:
            await _tamper()
        if verify:
            missing = await Run.find({"ends_at": None}).count()
            if missing:
                console.print(f"[yellow]{missing} runs lack ends_at[/yellow]: a repair fills it in")
        else:
            filled = await overlap.backfill_ends_at()
            if filled:
                console.print(f"ends_at filled in on {filled} runs stored before it existed")
        started = time.perf_counter()
        drift = await (rebuild.verify() if verify else rebuild.repair())
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{name} {n}" for name, n in drift.counts().items())
        summary += "; board totals: " + ", ".join(
            f"{name} {n}" for name, n in drift.totals.counts().items()
        )
        return outcome(
            clean=drift.clean,
            verify=verify,
            where=where,
            summary=summary,
            elapsed=elapsed,
            details=lambda: _report(drift, show),
        )


@app.command()
def main(
    verify: bool = verify_option(),
    demo: bool = demo_option(),
    seed: int = seed_option(),
    show: int = show_option(),
    tamper: bool = typer.Option(
        False, "--tamper", hidden=True, help="Corrupt three buckets first (demonstration)."
    ),
) -> None:
    """Rebuild or verify the score buckets and board totals against the runs."""
    run(_main(verify=verify, demo=demo, seed=seed, show=show, tamper=tamper))


if __name__ == "__main__":
    app()
