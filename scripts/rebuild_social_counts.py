"""Recompute the likes and comments counts of posts, runs and workouts, or (--verify) report
any drift.

    python -m scripts.rebuild_social_counts --verify         # exit 1 and list what drifted
    python -m scripts.rebuild_social_counts                  # repair: write only the differences
    python -m scripts.rebuild_social_counts --demo --verify  # on the embedded store's demo data

`likes_count` and `comments_count` are recounted from the likes and comments collections
(service.posts.rebuild). Targets MONGODB_URI (without it, the in-memory embedded store: empty
unless --demo loads the demo data into it first).
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
from service.posts import rebuild

app = typer.Typer(add_completion=False, help=__doc__)


async def _main(*, verify: bool, demo: bool, seed: int, show: int) -> int:
    async with store(demo=demo, seed=seed) as where:
        started = time.perf_counter()
        drift = await (rebuild.verify() if verify else rebuild.repair())
        elapsed = time.perf_counter() - started
        checked = f"{drift.checked} posts, runs and workouts checked"
        summary = f"{checked}, {len(drift.changed)} drifted"

        def details() -> None:
            for kind, subject_id in drift.changed[:show]:
                console.print(f"{kind} {subject_id}: stored counts differ from its likes/comments")

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
    verify: bool = verify_option("listing the drifted posts, runs and workouts"),
    demo: bool = demo_option(),
    seed: int = seed_option(),
    show: int = show_option("How many drifted subjects to list."),
) -> None:
    """Rebuild or verify the likes and comments counts against their rows."""
    run(_main(verify=verify, demo=demo, seed=seed, show=show))


if __name__ == "__main__":
    app()
