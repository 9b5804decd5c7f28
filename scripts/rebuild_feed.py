"""Recompute the feed rows, or (--verify) check them and report any drift.

    python -m scripts.rebuild_feed --verify          # exit 1 on drift
    python -m scripts.rebuild_feed                   # repair: write only the differences
    python -m scripts.rebuild_feed --demo --verify   # try it on the embedded store's demo data

`feed_items` rows are recomputed from runs, workouts, posts, badges earned and challenges
completed (service.feed.rebuild): missing rows inserted, stale ones replaced, orphans deleted.
Targets MONGODB_URI (without it, the in-memory embedded store: empty unless --demo loads the
demo data into it first). Changes made while a repair runs can race with it: repair in a quiet
moment, then --verify again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.rebuild_cli import demo_option, outcome, run, seed_option, store, verify_option
from service.feed import rebuild

app = typer.Typer(add_completion=False, help=__doc__)


async def _main(*, verify: bool, demo: bool, seed: int) -> int:
    async with store(demo=demo, seed=seed) as where:
        started = time.perf_counter()
        drift = await rebuild.rebuild(repair=not verify)
        summary = (
            f"missing {drift.missing}, stale {drift.stale}, orphans {drift.orphans} "
            f"of {drift.rows} rows"
        )
        return outcome(
            clean=drift.clean,
            verify=verify,
            where=where,
            summary=summary,
            elapsed=time.perf_counter() - started,
        )


@app.command()
def main(
    verify: bool = verify_option(), demo: bool = demo_option(), seed: int = seed_option()
) -> None:
    """Rebuild or verify the feed rows against their sources."""
    run(_main(verify=verify, demo=demo, seed=seed))


if __name__ == "__main__":
    app()
