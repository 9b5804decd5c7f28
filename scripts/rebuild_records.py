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
from service.records import rebuild

app = typer.Typer(add_completion=False, help=__doc__)


async def _main(*, verify: bool, demo: bool, seed: int, show: int) -> int:
    async with store(demo=demo, seed=seed) as where:
        started = time.perf_counter()
        drift = await (rebuild.verify() if verify else rebuild.repair())
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{name} {n}" for name, n in drift.counts().items())
        summary += " of " + ", ".join(f"{n} {name}" for name, n in drift.expected.items())

        def details() -> None:
            for label, part in (
                ("missing", drift.missing),
                ("changed", drift.changed),
                ("orphaned", drift.orphaned),
            ):
                for collection, ids in part.items():
                    for doc_id in ids[:show]:
                        console.print(f"{collection} {label}: {doc_id}")

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
    verify: bool = verify_option(),
    demo: bool = demo_option(),
    seed: int = seed_option(),
    show: int = show_option("How many differing ids to print per kind."),
) -> None:
    """Rebuild or verify best efforts and strength summaries against runs and workouts."""
    run(_main(verify=verify, demo=demo, seed=seed, show=show))


if __name__ == "__main__":
    app()
