"""A zip archive streamed from async sources, never held whole: stream-zip's writer.

stream-zip writes from synchronous iterables. Its writer runs in a small dedicated thread pool,
one step (one output chunk) at a time; every file and every chunk of a file it asks for is
fetched on the event loop (`run_coroutine_threadsafe`), so the database reads stay on the loop
and the compression happens off it. Like stream-zip's own `async_stream_zip`, but on a pool of
its own: exports never take the threads the default executor keeps for everything else, and
at most EXPORT_THREADS archives compress at once (others wait their turn, they never fail).
"""

from __future__ import annotations

import asyncio
import stat
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from stream_zip import ZIP_64, ZIP_AUTO, stream_zip

from service.export.registry import ExportFile

EXPORT_THREADS = 2
# how long the writer thread waits for the event loop to produce one item (a batch of documents
# read, a route built): without a bound, a thread caught mid-step by a stopping loop would wait
# forever and hold up the process's exit
PULL_TIMEOUT_S = 120.0
CHUNK_SIZE = 64 * 1024
# zlib's default level: level 9 costs about twice the CPU for a few percent on JSON and GPX
COMPRESSION_LEVEL = 6
FILE_MODE = stat.S_IFREG | 0o600

_executor = ThreadPoolExecutor(max_workers=EXPORT_THREADS, thread_name_prefix="export-zip")

T = TypeVar("T")


async def _next(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


def _pulled(source: AsyncIterable[T], loop: asyncio.AbstractEventLoop) -> Iterator[T]:
    """A synchronous view of an async iterable, for the writer thread: each item is produced on
    the event loop, which is free meanwhile (it is awaiting this thread's step)."""
    iterator = source.__aiter__()
    while True:
        try:
            future = asyncio.run_coroutine_threadsafe(_next(iterator), loop)
            try:
                item = future.result(timeout=PULL_TIMEOUT_S)
            except TimeoutError:
                future.cancel()
                raise
            yield item
        except StopAsyncIteration:
            return


def _compressor() -> Any:
    return zlib.compressobj(wbits=-zlib.MAX_WBITS, level=COMPRESSION_LEVEL)


async def stream_archive(
    files: AsyncIterable[ExportFile], *, modified_at: datetime, chunk_size: int = CHUNK_SIZE
) -> AsyncIterator[bytes]:
    """The zip archive of `files`, chunk by chunk (at most `chunk_size` bytes each)."""
    loop = asyncio.get_running_loop()

    def members() -> Iterator[tuple[str, datetime, int, Any, Iterator[bytes]]]:
        for file in _pulled(files, loop):
            # a file of known size gets zip64 fields only when it needs them; one of unknown
            # size (an array written as it is read) always has them
            method = (
                ZIP_AUTO(file.size, level=COMPRESSION_LEVEL) if file.size is not None else ZIP_64
            )
            # aware UTC: the DOS fields get UTC's wall clock, the extended timestamp the instant
            yield file.path, modified_at, FILE_MODE, method, _pulled(file.chunks, loop)

    chunks = iter(stream_zip(members(), chunk_size=chunk_size, get_compressobj=_compressor))

    def step() -> bytes | None:
        return next(chunks, None)

    while True:
        chunk = await loop.run_in_executor(_executor, step)
        if chunk is None:
            return
        yield chunk
