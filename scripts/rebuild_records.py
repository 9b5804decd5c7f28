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
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.rebuild_cli import Report, rebuild_app
from service.records import rebuild


async def check(*, repair: bool) -> Report:
    drift = await (rebuild.repair() if repair else rebuild.verify())
    summary = ", ".join(f"{name} {n}" for name, n in drift.counts().items())
    summary += " of " + ", ".join(f"{n} {name}" for name, n in drift.expected.items())

    def details(show: int) -> Iterator[str]:
        for label, part in (
            ("missing", drift.missing),
            ("changed", drift.changed),
            ("orphaned", drift.orphaned),
        ):
            for collection, ids in part.items():
                for doc_id in ids[:show]:
                    yield f"{collection} {label}: {doc_id}"

    return Report(clean=drift.clean, summary=summary, details=details)


app = rebuild_app(
    __doc__,
    check=check,
    summary="Rebuild or verify best efforts and strength summaries against runs and workouts.",
    verify_what="printing what differs",
    show_help="How many differing ids to print per kind.",
)


if __name__ == "__main__":
    app()
