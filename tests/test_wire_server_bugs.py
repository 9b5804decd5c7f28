"""Minimal reproductions of the test server's known bugs (tests/wire_server_bugs.py).

Each asserts MongoDB's documented behaviour straight through pymongo, with nothing of the
service involved: it passes on MongoDB, and is an expected failure (strict) under secantusdb
until the server is fixed. They need a server, so they run in the test command's wire-server
pass only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pymongo import ASCENDING, DESCENDING, GEOSPHERE, MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure

from tests.conftest import TEST_MONGODB_URI

pytestmark = pytest.mark.skipif(
    not TEST_MONGODB_URI, reason="reproduces a server's behaviour: set TEST_MONGODB_URI"
)


@pytest.fixture
def database() -> Iterator[Database[dict[str, object]]]:
    assert TEST_MONGODB_URI is not None
    name = f"bugs_{uuid.uuid4().hex[:12]}"
    with MongoClient(TEST_MONGODB_URI) as client:
        yield client[name]
        client.drop_database(name)


def test_gte_on_a_descending_compound_index_keeps_the_boundary(
    database: Database[dict[str, object]],
) -> None:
    runs = database["runs"]
    runs.create_index([("u", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)])
    runs.insert_many([{"u": 1, "at": at} for at in (1, 2, 3)])
    found = sorted(doc["at"] for doc in runs.find({"u": 1, "at": {"$gte": 2}}))
    assert found == [2, 3]


def test_creating_an_identical_2dsphere_index_again_is_a_no_op(
    database: Database[dict[str, object]],
) -> None:
    routes = database["routes"]
    routes.create_index([("geometry", GEOSPHERE)], name="geometry_2dsphere")
    routes.create_index([("geometry", GEOSPHERE)], name="geometry_2dsphere")
    assert list(routes.index_information()) == ["_id_", "geometry_2dsphere"]


def test_a_geometry_the_2dsphere_index_refuses_is_error_16755(
    database: Database[dict[str, object]],
) -> None:
    routes = database["routes"]
    routes.create_index([("geometry", GEOSPHERE)], name="geometry_2dsphere")
    with pytest.raises(OperationFailure) as refused:
        routes.insert_one({"geometry": {"type": "Point", "coordinates": [400, 0]}})
    assert refused.value.code == 16755
    assert routes.count_documents({}) == 0
