"""The test server's own bugs, in one place: the only failures the wire-server pass excuses.

The second pass of the test command runs the suite through the real driver against
`secantusd-py` (secantusdb 0.7.0b3, a MongoDB wire-protocol server: see README § Tests). Where
it answers differently from MongoDB as the manual documents it, the bug is listed here with a
minimal reproduction straight through pymongo (tests/test_wire_server_bugs.py) and the suite's
tests it breaks. Those tests are marked `xfail(strict=True)` only when the server is
secantusdb, so a fixed bug turns the run red (XPASS) until its entry is removed; on the
embedded store or a real MongoDB nothing is excused. A race the server loses only now and then
(`race=True`) cannot fail a suite test every time: there the suite's tests are non-strict
expected failures, and the reproduction, which retries the race until it shows, stays strict.

Every other difference between the stores is ours to fix, never to list here.

A pytest plugin (registered by tests/conftest.py): it asks the server who it is once per run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

REPRODUCTIONS = "tests/test_wire_server_bugs.py"


@dataclass(frozen=True)
class KnownBug:
    id: str
    summary: str
    manual: str  # the MongoDB manual page that documents the behaviour we rely on
    reproduction: str  # test function in REPRODUCTIONS
    tests: tuple[str, ...] = ()  # node ids of the suite's tests it breaks
    race: bool = False  # breaks `tests` only in some runs

    @property
    def node_ids(self) -> tuple[str, ...]:
        return (f"{REPRODUCTIONS}::{self.reproduction}", *self.tests)


KNOWN_BUGS: tuple[KnownBug, ...] = (
    KnownBug(
        id="gte-on-descending-compound-key",
        summary=(
            "A $gte bound on a descending key that is followed by further keys in a compound "
            "index drops the documents equal to the bound (an index on {u: 1, at: -1, _id: -1} "
            "answers {u: 1, at: {$gte: 2}} without at == 2); the runs and workouts lists "
            "bound `from` with $gt one millisecond earlier (service.pagination.started_criteria), "
            "which breaks no suite test"
        ),
        manual="https://www.mongodb.com/docs/manual/reference/operator/query/gte/",
        reproduction="test_gte_on_a_descending_compound_index_keeps_the_boundary",
    ),
    KnownBug(
        id="2dsphere-recreate-conflict",
        summary=(
            "createIndexes with a 2dsphere index identical to an existing one fails with "
            "IndexKeySpecsConflict (86): the server compares against its stored spec, which "
            "it filled with 2dsphereIndexVersion: 3. MongoDB does nothing. The service's "
            "startup reconciles indexes (service/indexes.py) and so only creates missing "
            "ones, but two processes starting at once on a new database could still hit it"
        ),
        manual="https://www.mongodb.com/docs/manual/reference/method/db.collection.createIndex/",
        reproduction="test_creating_an_identical_2dsphere_index_again_is_a_no_op",
    ),
    KnownBug(
        id="geo-keys-error-code",
        summary=(
            "A document the 2dsphere index cannot store is refused with code 16572; MongoDB "
            'refuses it with 16755 ("Can\'t extract geo keys"), the code the service turns '
            "into a 422 for a route the index refuses"
        ),
        manual=(
            "https://www.mongodb.com/docs/manual/core/indexes/index-types/geospatial/"
            "restrictions/#supported-data-types"
        ),
        reproduction="test_a_geometry_the_2dsphere_index_refuses_is_error_16755",
    ),
    KnownBug(
        id="update-racing-delete",
        summary=(
            "Single-document writes are not isolated from a concurrent delete: an update_one "
            "can report matched 1 while a find_one_and_delete running at the same time returns "
            "the document as it was before that update (about one race in ten on 2 cores), so "
            "the update is lost with no serial order explaining both answers. A run edited "
            "while it is deleted then withdraws its old score twice from the buckets"
        ),
        manual="https://www.mongodb.com/docs/manual/core/write-operations-atomicity/",
        reproduction="test_an_update_racing_a_delete_is_atomic",
        tests=(
            "tests/test_runs_idempotency.py::test_edits_racing_a_delete_leave_no_points_behind",
        ),
        race=True,
    ),
    KnownBug(
        id="find-and-modify-upsert-returns-null",
        summary=(
            "Concurrent find_one_and_update upserts of one new key (equality on a unique index, "
            "returnDocument AFTER) sometimes answer null instead of the document one of them "
            "inserted; MongoDB returns the document to every caller (it retries the losing "
            "upserts as updates). The first uses of a city at once then fail on its city team"
        ),
        manual="https://www.mongodb.com/docs/manual/reference/command/findAndModify/",
        reproduction="test_concurrent_upserts_of_one_key_all_return_the_document",
        tests=(
            "tests/test_gazetteer.py::test_concurrent_first_uses_of_a_gazetteer_city_make_one_city",
            # the same upsert (the city team) under 10 registrations naming one new city
            "tests/test_cities.py::test_concurrent_registrations_in_a_new_city_make_one_city",
        ),
        race=True,
    ),
)

SERVER = "secantusdb"
_server_version: str | None = None


def server_version() -> str | None:
    """secantusdb's version when TEST_MONGODB_URI points at it, else None (asked once)."""
    global _server_version
    uri = os.environ.get("TEST_MONGODB_URI")
    if uri and _server_version is None:
        from pymongo import MongoClient

        with MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
            info = client.admin.command("buildInfo")
        _server_version = str(info.get("secantusVersion") or "")
    return _server_version or None


def pytest_report_header(config: pytest.Config) -> str | None:
    if not os.environ.get("TEST_MONGODB_URI"):
        return "store: embedded (mongomock-motor)"
    version = server_version()
    if version is None:
        return "store: TEST_MONGODB_URI (a MongoDB server: no failure is excused)"
    return (
        f"store: {SERVER} {version} through the real driver; its known bugs are expected "
        f"failures: {', '.join(bug.id for bug in KNOWN_BUGS)}"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("TEST_MONGODB_URI") or server_version() is None:
        return
    bugs = {node_id: bug for bug in KNOWN_BUGS for node_id in bug.node_ids}
    for item in items:
        node_id = item.nodeid.split("[")[0]
        bug = bugs.get(node_id)
        if bug is not None:
            reason = f"{SERVER} bug {bug.id} (tests/wire_server_bugs.py)"
            strict = not bug.race or node_id.startswith(REPRODUCTIONS)
            item.add_marker(pytest.mark.xfail(strict=strict, reason=reason))
