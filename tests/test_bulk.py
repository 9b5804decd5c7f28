"""service.bulk.BulkWrites: a scan's writes go in batches of `size`, the rest on flush."""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne

from service.bulk import BulkWrites


class _Collection:
    def __init__(self) -> None:
        self.calls: list[tuple[list[Any], bool]] = []

    async def bulk_write(self, writes: list[Any], ordered: bool = True) -> None:
        self.calls.append((list(writes), ordered))


async def test_writes_go_in_batches_and_the_rest_on_flush() -> None:
    collection = _Collection()
    writes = BulkWrites(collection, size=2)  # type: ignore[arg-type]
    ops = [UpdateOne({"_id": i}, {"$set": {"n": i}}) for i in range(5)]
    for op in ops:
        await writes.add(op)
    assert [batch for batch, _ in collection.calls] == [ops[:2], ops[2:4]]
    await writes.flush()
    await writes.flush()  # nothing left: no empty bulk_write (the driver refuses one)
    assert [batch for batch, _ in collection.calls] == [ops[:2], ops[2:4], ops[4:]]
    assert all(not ordered for _, ordered in collection.calls)
