"""The one module that knows which MongoDB driver is in use.

`MONGODB_URI` set: a Motor client to that server. Unset: the embedded store, an in-process
mongomock-motor client whose data lives in memory only.
"""

from __future__ import annotations

import logging
from typing import Any

from beanie import init_beanie
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from documents import DOCUMENTS
from service import validators
from service.indexes import reconcile
from service.settings import Settings

log = logging.getLogger("service.db")

__all__ = ["Database", "DuplicateKeyError", "PyMongoError", "close", "connect", "ping"]

Database = AsyncIOMotorDatabase


def make_client(settings: Settings) -> Any:
    if settings.mongodb_uri:
        return AsyncIOMotorClient(
            settings.mongodb_uri,
            tz_aware=True,
            uuidRepresentation="standard",
            # fail fast when the server is away: /ready answers 503 instead of waiting 30 s
            serverSelectionTimeoutMS=settings.mongodb_server_selection_timeout_ms,
        )
    from mongomock_motor import AsyncMongoMockClient

    from service import embedded_store

    embedded_store.install()

    log.warning(
        "Embedded store: data is kept in memory only and is lost when the process stops. "
        "Set MONGODB_URI (and SECRET_KEY) to use a real MongoDB, e.g. `docker compose up`."
    )
    return AsyncMongoMockClient(tz_aware=True)


async def connect(settings: Settings) -> tuple[Any, Database]:
    """Open the client, initialise Beanie with every document and reconcile their indexes."""
    client = make_client(settings)
    database = client[settings.mongodb_db]
    try:
        # Beanie only ever adds indexes: reconcile() also drops stale ones, rebuilds changed ones
        await init_beanie(database=database, document_models=DOCUMENTS, skip_indexes=True)
        if not settings.embedded:  # mongomock ignores validators
            await validators.apply(database)
        await reconcile(DOCUMENTS)
    except BaseException:
        client.close()  # e.g. no server within the selection timeout: stop the client's monitors
        raise
    return client, database


async def ping(database: Database) -> bool:
    try:
        await database.command("ping")
    except (PyMongoError, OSError):
        return False
    return True


def close(client: Any) -> None:
    client.close()
