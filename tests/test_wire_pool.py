"""The wire pass's reused databases (tests/wire_pool.py): a test starts on exactly what a fresh
startup leaves, never on another test's data or on a structure a test changed.

Runs on a server only (TEST_MONGODB_URI); the embedded store gives every test a new store.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo import ASCENDING

from tests.conftest import REUSE_DATABASES, TEST_MONGODB_URI, _start_and_stop
from tests.wire_pool import MAX_DOCUMENTS_TO_DELETE, Pool, ensure_template, pool

pytestmark = pytest.mark.skipif(
    not REUSE_DATABASES, reason="databases are reused on a server only (the wire pass)"
)


def _new_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


async def _lent() -> tuple[Pool, str]:
    """The session's pool and a database it lends, as the `app` fixture takes one."""
    assert TEST_MONGODB_URI
    current = pool(TEST_MONGODB_URI)
    await ensure_template(current, _start_and_stop)
    name = current.take(_new_name())
    if name is None:  # every kept database is out: a fresh one, released into the pool below
        name = _new_name()
        await _start_and_stop(name)
        current.free.append(name)
        name = current.take(_new_name())
    assert name is not None
    return current, name


def _state(current: Pool, name: str) -> dict[str, Any]:
    """Every collection with its options, indexes and documents."""
    database = current.client[name]
    return {
        info["name"]: (
            info.get("options", {}),
            database[info["name"]].index_information(),
            list(database[info["name"]].find({}).sort("_id", 1)),
        )
        for info in database.list_collections()
    }


async def test_a_released_database_is_what_a_fresh_startup_leaves() -> None:
    fresh = _new_name()
    await _start_and_stop(fresh)
    current, name = await _lent()
    try:
        database = current.client[name]
        # what a test leaves behind: documents, a changed and a deleted seed, its own exercise,
        # a collection of its own
        # (collections without a validator: the raw documents need not be valid ones)
        database["workouts"].insert_one({"name": "Leg day"})
        database["xp_entries"].insert_many([{"n": i} for i in range(3)])
        seeded = database["exercises"].find_one({"owner_id": None}, sort=[("_id", ASCENDING)])
        assert seeded is not None
        database["exercises"].update_one({"_id": seeded["_id"]}, {"$set": {"name": "Renamed"}})
        database["badges"].delete_one({})
        database["exercises"].insert_one({"owner_id": "someone", "name": "Mine"})
        database["scratch"].insert_one({"left": "behind"})

        current.release(name)

        assert name in current.free
        want, have = _state(current, fresh), _state(current, name)
        assert have.keys() == want.keys()
        for collection, (options, indexes, documents) in want.items():
            assert have[collection][0] == options, collection
            assert have[collection][1] == indexes, collection
            # the seeds are the template's (their ids and times), the rest is empty
            strip = [
                {k: v for k, v in d.items() if k not in ("_id", "created_at", "updated_at")}
                for d in documents
            ]
            assert [
                {k: v for k, v in d.items() if k not in ("_id", "created_at", "updated_at")}
                for d in have[collection][2]
            ] == strip, collection
    finally:
        current.client.drop_database(fresh)


async def test_a_database_whose_index_changed_is_dropped_not_reused() -> None:
    current, name = await _lent()
    current.client[name]["runs"].drop_index(
        next(i for i in current.client[name]["runs"].index_information() if i != "_id_")
    )
    current.release(name)
    assert name not in current.free
    assert name not in current.client.list_database_names()


async def test_a_database_with_too_many_documents_is_dropped_not_emptied() -> None:
    current, name = await _lent()
    current.client[name]["xp_entries"].insert_many(
        [{"n": i} for i in range(MAX_DOCUMENTS_TO_DELETE + 1)]
    )
    current.release(name)
    assert name not in current.free
    assert name not in current.client.list_database_names()


async def test_a_test_that_wrote_to_its_database_first_keeps_it() -> None:
    assert TEST_MONGODB_URI
    current = pool(TEST_MONGODB_URI)
    await ensure_template(current, _start_and_stop)
    own = _new_name()
    current.client[own]["users"].insert_one({"name": "Early"})
    try:
        assert current.take(own) is None
    finally:
        current.client.drop_database(own)
