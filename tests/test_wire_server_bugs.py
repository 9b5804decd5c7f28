"""Minimal reproductions of the test server's known bugs (tests/wire_server_bugs.py).

Each asserts MongoDB's documented behaviour straight through pymongo, with nothing of the
service involved: it passes on MongoDB, and is an expected failure (strict) under secantusdb
until the server is fixed. They need a server, so they run in the test command's wire-server
pass only.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import ASCENDING, DESCENDING, GEOSPHERE, MongoClient, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure

from tests.conftest import TEST_MONGODB_URI

pytestmark = pytest.mark.skipif(
    not TEST_MONGODB_URI, reason="reproduces a server's behaviour: set TEST_MONGODB_URI"
)


@pytest.fixture
def database() -> Iterator[Database[dict[str, Any]]]:
    assert TEST_MONGODB_URI is not None
    name = f"bugs_{uuid.uuid4().hex[:12]}"
    with MongoClient(TEST_MONGODB_URI) as client:
        yield client[name]
        client.drop_database(name)


def test_gte_on_a_descending_compound_index_keeps_the_boundary(
    database: Database[dict[str, Any]],
) -> None:
    runs = database["runs"]
    runs.create_index([("u", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)])
    runs.insert_many([{"u": 1, "at": at} for at in (1, 2, 3)])
    found = sorted(doc["at"] for doc in runs.find({"u": 1, "at": {"$gte": 2}}))
    assert found == [2, 3]


def test_creating_an_identical_2dsphere_index_again_is_a_no_op(
    database: Database[dict[str, Any]],
) -> None:
    routes = database["routes"]
    routes.create_index([("geometry", GEOSPHERE)], name="geometry_2dsphere")
    routes.create_index([("geometry", GEOSPHERE)], name="geometry_2dsphere")
    assert list(routes.index_information()) == ["_id_", "geometry_2dsphere"]


def test_a_geometry_the_2dsphere_index_refuses_is_error_16755(
    database: Database[dict[str, Any]],
) -> None:
    routes = database["routes"]
    routes.create_index([("geometry", GEOSPHERE)], name="geometry_2dsphere")
    with pytest.raises(OperationFailure) as refused:
        routes.insert_one({"geometry": {"type": "Point", "coordinates": [400, 0]}})
    assert refused.value.code == 16755
    assert routes.count_documents({}) == 0


def _update_racing_delete(runs: Collection[dict[str, Any]]) -> tuple[int, int]:
    """Six conditional updates and one delete of a document at once: (updates that matched,
    the revision of the document the delete returned)."""
    runs.insert_one({"_id": 1, "revision": 0})
    start = threading.Barrier(7)
    matched: list[int] = []
    deleted: list[Any] = []

    def edit() -> None:
        start.wait()
        result = runs.update_one({"_id": 1, "revision": 0}, {"$set": {"revision": 1}})
        matched.append(result.matched_count)

    def delete() -> None:
        start.wait()
        deleted.append(runs.find_one_and_delete({"_id": 1}))

    threads = [threading.Thread(target=edit) for _ in range(6)]
    threads.append(threading.Thread(target=delete))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(matched), deleted[0]["revision"]


def test_an_update_racing_a_delete_is_atomic(database: Database[dict[str, Any]]) -> None:
    """Each single-document write is atomic: the update happens before the delete (which then
    returns the updated document) or after it (and matches nothing), never both half-way."""
    for _ in range(300):  # the server loses the race about once in ten tries
        assert _update_racing_delete(database["runs"]) in {(0, 0), (1, 1)}


def _concurrent_upserts(teams: Collection[dict[str, Any]], key: str) -> list[Any]:
    """Eight find_one_and_update upserts of one new key at once: what each returned."""
    start = threading.Barrier(8)
    returned: list[Any] = []

    def upsert() -> None:
        start.wait()
        returned.append(
            teams.find_one_and_update(
                {"name_key": key},
                {"$setOnInsert": {"name": key}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        )

    threads = [threading.Thread(target=upsert) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return returned


def test_concurrent_upserts_of_one_key_all_return_the_document(
    database: Database[dict[str, Any]],
) -> None:
    """findAndModify with upsert and new: every caller gets the one document: the losers of
    the insert race are retried as updates (equality on the unique index)."""
    teams = database["teams"]
    teams.create_index("name_key", unique=True, name="name_key_unique")
    for n in range(100):  # the server loses the race in about one call in six
        returned = _concurrent_upserts(teams, f"city:{n}")
        assert None not in returned
        assert len({doc["_id"] for doc in returned}) == 1
