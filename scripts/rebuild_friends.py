"""Recompute users' `friends_count` from the friendships rows, or (--verify) report any drift.

    python -m scripts.rebuild_friends --verify         # exit 1 and list what drifted
    python -m scripts.rebuild_friends                  # repair: write only the differences
    python -m scripts.rebuild_friends --demo --verify  # on the embedded store's demo data

Targets MONGODB_URI (without it, the in-memory embedded store: empty unless --demo loads the
demo data into it first).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.rebuild_cli import Report, rebuild_app
from service.friends import service as friends


async def check(*, repair: bool) -> Report:
    drift = await friends.friends_count_drift(repair=repair)
    return Report(
        clean=not drift,
        summary=f"{len(drift)} users' friends_count drifted",
        details=lambda show: (
            f"user {user_id}: friends_count {stored}, friendships {actual}"
            for user_id, (stored, actual) in list(drift.items())[:show]
        ),
    )


app = rebuild_app(
    __doc__,
    check=check,
    summary="Rebuild or verify users' friends_count against the friendships rows.",
    verify_what="listing the drifted users",
    show_help="How many drifted users to list.",
)


if __name__ == "__main__":
    app()
