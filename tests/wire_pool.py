"""Reused test databases for the wire pass: a test starts on a database that is exactly what a
fresh startup leaves, without paying for the collections and indexes being created again.

On a server (TEST_MONGODB_URI) every test used to get a new database: startup created ~40
collections with their validators and ~100 indexes, seeded the catalogues, and the test dropped
it all afterwards. On the wire server each created collection or index is a storage table of its
own, so that set-up was most of a test's time. Now:

- The first time a test needs an app, a template database is started with the default test
  settings (the real startup on a fresh database: validators, every index, the seeds) and its
  state is recorded: each collection with its options (validator) and the documents startup
  wrote (the seeded exercises and badges). Whatever DOCUMENTS holds is picked up: nothing here
  names a collection.
- After a test, `release` brings its database back to that state and keeps it for the next test:
  documents the test wrote are deleted, seeded collections it changed are restored from the
  record, collections it created are dropped. A database whose structure the test changed (an
  index created, dropped or altered on one of its collections, a validator changed, a
  collection dropped: seen by a command listener on every client of the test process, and by
  listing the collections with their options), or that holds more documents than are worth
  deleting one by one (the demo tests), is dropped instead and a later test starts on a new one.
- The `app` fixture (tests/conftest.py) takes a kept database when the test has not written to
  its own yet, and still runs the whole startup on it (validators, index reconciliation, seeds,
  the admin account, the demo when the settings ask for one), which then finds everything in
  place. Startup on a fresh database stays covered: by the template, and by every test that
  starts its own app (`serve(...)`, test_indexes.py, test_validators.py, ...), which never
  takes a kept database.

The record and the resets go through a synchronous pymongo client of the test process (no
event loop of its own), used only between tests, after the test's app has shut down.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo import MongoClient, monitoring
from pymongo.errors import PyMongoError

# Above this many documents in a database, dropping it and starting the next test on a new one
# is cheaper than deleting them (the demo-loading tests).
MAX_DOCUMENTS_TO_DELETE = 3_000


# Commands that change a collection or its indexes. Startup sends none of them to a database
# that has its collections, validators and indexes already, so one seen during a test on a
# collection of the template means the test changed its structure: the database is dropped.
# On a collection the test created (the rate limiter's storage creates its own lazily, indexes
# included) they are fine: such collections are dropped after the test.
DDL_COMMANDS = frozenset(
    {
        "create",
        "createIndexes",
        "collMod",
        "drop",
        "dropIndexes",
        "dropDatabase",
        "renameCollection",
        "convertToCapped",
        "cloneCollectionAsCapped",
    }
)


class DdlListener(monitoring.CommandListener):
    """Notes which collections of which database got a structural command from any client of
    this process (the apps' Motor clients, a test's own pymongo client); other processes (mongosh
    recipes, CLIs run by a test) only read and write documents."""

    def __init__(self) -> None:
        self.changed: dict[str, set[str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in DDL_COMMANDS:
            target = event.command.get(event.command_name)
            collection = target if isinstance(target, str) else "*"
            self.changed.setdefault(event.database_name, set()).add(collection)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class Template:
    options: dict[str, dict[str, Any]]  # collection -> its options (validator, ...)
    documents: dict[str, list[dict[str, Any]]]  # collection -> startup's documents, by _id


@dataclass
class Pool:
    uri: str
    client: MongoClient[dict[str, Any]] = field(init=False)
    listener: DdlListener = field(default_factory=DdlListener)
    template: Template | None = None
    free: list[str] = field(default_factory=list)
    reused: int = 0
    dropped: int = 0

    def __post_init__(self) -> None:
        # every client created from now on reports to it (the apps' Motor clients, a test's own)
        monitoring.register(self.listener)
        self.client = MongoClient(self.uri, tz_aware=True, uuidRepresentation="standard")

    # --- state of a database ------------------------------------------------------------------

    def _options(self, name: str) -> dict[str, dict[str, Any]]:
        return {
            info["name"]: dict(info.get("options", {}))
            for info in self.client[name].list_collections()
        }

    def _documents(self, name: str, collection: str) -> list[dict[str, Any]]:
        return list(self.client[name][collection].find({}).sort("_id", 1))

    def _counts(self, name: str, collections: list[str]) -> dict[str, int]:
        """How many documents each collection holds (up to MAX_DOCUMENTS_TO_DELETE + 1; empty
        ones are left out), in one round trip."""

        def count(collection: str) -> list[dict[str, Any]]:
            return [
                {"$limit": MAX_DOCUMENTS_TO_DELETE + 1},
                {"$group": {"_id": None, "n": {"$sum": 1}}},
                {"$project": {"_id": 0, "n": 1, "c": {"$literal": collection}}},
            ]

        pipeline = count(collections[0]) + [
            {"$unionWith": {"coll": c, "pipeline": count(c)}} for c in collections[1:]
        ]
        rows = self.client[name][collections[0]].aggregate(pipeline)
        return {row["c"]: row["n"] for row in rows}

    def record(self, name: str) -> None:
        """Take database `name`, just started on fresh with the default settings, as the
        template, and keep it for a test."""
        options = self._options(name)
        self.template = Template(
            options=options,
            documents={c: docs for c in options if (docs := self._documents(name, c))},
        )
        self.free.append(name)

    # --- lending ------------------------------------------------------------------------------

    def take(self, wanted: str) -> str | None:
        """A kept database in place of `wanted`, if the test has not created `wanted` yet."""
        if not self.free or self.client[wanted].list_collection_names():
            return None
        self.reused += 1
        name = self.free.pop()
        self.listener.changed.pop(name, None)
        return name

    def release(self, name: str) -> None:
        """Bring `name` back to the template's state and keep it, or drop it."""
        try:
            kept = self._reset(name)
        except PyMongoError:
            kept = False
        if kept:
            self.free.append(name)
        else:
            self.dropped += 1
            self.client.drop_database(name)
        self.listener.changed.pop(name, None)

    def _reset(self, name: str) -> bool:
        template = self.template
        assert template is not None
        touched = self.listener.changed.get(name, set())
        if touched & {*template.options, "*"}:
            return False  # an index or a collection of the template changed, or dropped
        database = self.client[name]
        options = self._options(name)
        if any(c.startswith("system.") for c in options):
            return False  # a view was created
        if any(options.get(c) != wanted for c, wanted in template.options.items()):
            return False  # a collection dropped, or its validator changed
        for collection in options:
            if collection not in template.options:
                database.drop_collection(collection)  # created by the test
        counts = self._counts(name, list(template.options))
        if sum(counts.values()) > MAX_DOCUMENTS_TO_DELETE:
            return False
        for collection in template.options:
            seeded = template.documents.get(collection)
            if seeded is None and collection not in counts:
                continue
            if seeded is not None and self._documents(name, collection) == seeded:
                continue
            database[collection].delete_many({})
            if seeded is not None:
                database[collection].insert_many(seeded)
        return True

    def close(self) -> None:
        for name in self.free:
            self.client.drop_database(name)
        self.free.clear()
        self.client.close()


_pool: Pool | None = None


def pool(uri: str) -> Pool:
    global _pool
    if _pool is None:
        _pool = Pool(uri)
    return _pool


def close() -> Pool | None:
    """Drop the kept databases at the end of the session; returns the pool for its counts."""
    global _pool
    done, _pool = _pool, None
    if done is not None:
        done.close()
    return done


async def ensure_template(
    current: Pool, start: Callable[[str], Awaitable[None]], prefix: str = "test_"
) -> None:
    """Record the template once: `start(name)` runs a default app's startup and shutdown on
    the new database `name`."""
    if current.template is not None:
        return
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    await start(name)
    current.record(name)
