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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.rebuild_cli import Report, rebuild_app
from service.feed import rebuild


async def check(*, repair: bool) -> Report:
    drift = await rebuild.rebuild(repair=repair)
    summary = (
        f"missing {drift.missing}, stale {drift.stale}, orphans {drift.orphans} "
        f"of {drift.rows} rows"
    )
    return Report(clean=drift.clean, summary=summary)


app = rebuild_app(
    __doc__,
    check=check,
    summary="Rebuild or verify the feed rows against their sources.",
    verify_what="printing what differs",
    show_help=None,
)


if __name__ == "__main__":
    app()
