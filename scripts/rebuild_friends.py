"""Recompute users' `friends_count` from the friendships rows, or (--verify) report any drift.

    python -m scripts.rebuild_friends --verify         # exit 1 and list what drifted
    python -m scripts.rebuild_friends                  # repair: write only the differences
    python -m scripts.rebuild_friends --demo --verify  # on the embedded store's demo data

Targets MONGODB_URI (without it, the in-memory embedded store: empty unless --demo loads the
demo data into it first).
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
from service.friends import service as friends

app = typer.Typer(add_completion=False, help=__doc__)


async def _main(*, verify: bool, demo: bool, seed: int, show: int) -> int:
    async with store(demo=demo, seed=seed) as where:
        started = time.perf_counter()
        drift = await friends.friends_count_drift(repair=not verify)
        elapsed = time.perf_counter() - started

        def details() -> None:
            for user_id, (stored, actual) in list(drift.items())[:show]:
                console.print(f"user {user_id}: friends_count {stored}, friendships {actual}")

        return outcome(
            clean=not drift,
            verify=verify,
            where=where,
            summary=f"{len(drift)} users' friends_count drifted",
            elapsed=elapsed,
            details=details,
        )


@app.command()
def main(
    verify: bool = verify_option("listing the drifted users"),
    demo: bool = demo_option(),
    seed: int = seed_option(),
    show: int = show_option("How many drifted users to list."),
) -> None:
    """Rebuild or verify users' friends_count against the friendships rows."""
    run(_main(verify=verify, demo=demo, seed=seed, show=show))


if __name__ == "__main__":
    app()
