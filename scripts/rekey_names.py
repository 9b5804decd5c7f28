"""Recompute the name keys of users, custom teams and athletes (NFKC, casefolded).

    python -m scripts.rekey_names --verify   # exit 1 when some stored key is not in today's form
    python -m scripts.rekey_names            # repair: rewrite those keys

Needed once on a database holding names stored before keys were NFKC-normalised; safe to run
any time. A name whose new key belongs to another account already is reported, not changed:
rename one of the two. Targets MONGODB_URI (without it, the empty embedded store).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import db, names
from service.settings import Settings

app = typer.Typer(add_completion=False, help=__doc__)
console = Console()


async def _main(*, verify: bool) -> int:
    settings = Settings()
    client, _ = await db.connect(settings)
    try:
        reports = await names.rekey(repair=not verify)
    finally:
        db.close(client)
    code = 0
    for report in reports:
        line = f"{report.collection}: {report.stale} stale"
        if not verify:
            line += f", {report.fixed} fixed"
        console.print(line)
        for name in report.clashes:
            console.print(f"[red]{report.collection}: {name!r} collides with another name[/red]")
        if (verify and report.stale) or report.clashes:
            code = 1
    return code


@app.command()
def main(
    verify: bool = typer.Option(False, "--verify", help="Only count; exit 1 on stale keys."),
) -> None:
    """Re-key stored names (NFKC, casefolded)."""
    raise typer.Exit(asyncio.run(_main(verify=verify)))


if __name__ == "__main__":
    app()
