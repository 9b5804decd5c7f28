"""Writes sent to one collection in batches, for a scan that finds them one document at a time
(the rebuilds' compare-and-set fixes): memory stays bounded by the batch, not the collection.
"""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection
from pymongo.operations import DeleteOne, InsertOne, ReplaceOne, UpdateOne

BATCH = 1000

Write = InsertOne | ReplaceOne | UpdateOne | DeleteOne


class BulkWrites:
    """Queue writes with `add`: every `size` of them go in one unordered `bulk_write`; `flush`
    sends the rest (call it once the scan ends)."""

    def __init__(self, collection: AsyncIOMotorCollection[Any], size: int = BATCH) -> None:
        self.collection = collection
        self.size = size
        self.pending: list[Write] = []

    async def add(self, write: Write) -> None:
        self.pending.append(write)
        if len(self.pending) >= self.size:
            await self.flush()

    async def flush(self) -> None:
        if self.pending:
            writes, self.pending = self.pending, []
            await self.collection.bulk_write(writes, ordered=False)
