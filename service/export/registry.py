"""What goes into a user's export: a list of contributors, each adding files to the archive.

A contributor is an async generator function taking the `ExportContext` and yielding
`ExportFile`s (a path and the file's bytes as an async iterable). Features add their files by
registering a contributor from their own module, as they connect hooks in `service.events`:

    from service.export import ExportContext, ExportFile, register

    @register
    async def badges(context: ExportContext) -> AsyncIterator[ExportFile]:
        yield json_file("badges.json", await badges_of(context.user))

The export code never changes for a new file. Contributors run in registration order, one file
at a time, and each file's bytes are pulled only as the archive is written: a contributor must
read its documents in bounded batches (`read_batches`) and never build a whole file in memory
unless it is small by construction (the account, the records).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

from documents import User


@dataclass(frozen=True)
class ExportFile:
    path: str  # inside the archive, "/"-separated
    chunks: AsyncIterable[bytes]
    # known up front (a small file built whole): the archive then needs no zip64 fields for it
    size: int | None = None


@dataclass
class ExportContext:
    user: User
    batch_size: int  # documents per round trip (EXPORT_BATCH_SIZE)
    started_at: datetime  # every file's modification time
    # documents read by each round trip, in order: the export's memory follows the largest
    reads: list[int] = field(default_factory=list)


Contributor = Callable[[ExportContext], AsyncIterator[ExportFile]]

_contributors: list[Contributor] = []


def register(contributor: Contributor) -> Contributor:
    """Add a contributor (once) after those already registered; usable as a decorator."""
    if contributor not in _contributors:
        _contributors.append(contributor)
    return contributor


def contributors() -> list[Contributor]:
    return list(_contributors)
