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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.rebuild_cli import Report, rebuild_app
from service.posts import rebuild


async def check(*, repair: bool) -> Report:
    drift = await (rebuild.repair() if repair else rebuild.verify())
    checked = f"{drift.checked} posts, runs and workouts checked"
    return Report(
        clean=drift.clean,
        summary=f"{checked}, {len(drift.changed)} drifted",
        details=lambda show: (
            f"{kind} {subject_id}: stored counts differ from its likes/comments"
            for kind, subject_id in drift.changed[:show]
        ),
    )


app = rebuild_app(
    __doc__,
    check=check,
    summary="Rebuild or verify the likes and comments counts against their rows.",
    verify_what="listing the drifted posts, runs and workouts",
    show_help="How many drifted subjects to list.",
)


if __name__ == "__main__":
    app()
