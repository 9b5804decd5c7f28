"""`$jsonSchema` validators (service/validators.py): what a typo in the Mongo shell runs into.

The server-side checks run only through the real driver (TEST_MONGODB_URI: the wire pass of
`scripts/dev.py test`); mongomock ignores validators, so the app does not install them there.
The consistency checks with the documents run on both stores.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from bson import ObjectId
from fastapi import FastAPI
from pymongo.errors import WriteError

from documents import DOCUMENTS
from service import validators
from tests.conftest import TEST_MONGODB_URI, make_settings, serve
from tests.factories import Api

DOCUMENT_VALIDATION_FAILURE = 121

real_server = pytest.mark.skipif(
    not TEST_MONGODB_URI, reason="needs a real server; runs in the wire pass"
)


def _fields(document: Any) -> set[str]:
    return {"_id" if name == "id" else name for name in document.model_fields}


def test_every_validated_field_is_a_field_of_its_document() -> None:
    """A validator naming a field the document does not have would refuse nothing (or, if
    required, every write): each collection and property must exist in documents/."""
    by_collection = {document.Settings.name: document for document in DOCUMENTS}
    for collection, validator in validators.VALIDATORS.items():
        assert collection in by_collection, collection
        schema = validator["$jsonSchema"]
        fields = _fields(by_collection[collection])
        assert set(schema["properties"]) <= fields, (collection, set(schema["properties"]) - fields)
        assert set(schema["required"]) <= fields, collection


def test_enums_are_the_documents_literals() -> None:
    users = validators.VALIDATORS["users"]["$jsonSchema"]["properties"]
    assert users["role"]["enum"] == ["user", "admin"]
    buckets = validators.VALIDATORS["score_buckets"]["$jsonSchema"]["properties"]
    assert "member_month" in buckets["kind"]["enum"]


async def test_the_embedded_store_gets_no_validators(monkeypatch: pytest.MonkeyPatch) -> None:
    """mongomock would accept and ignore them: the app does not pretend to have any."""
    if TEST_MONGODB_URI:
        pytest.skip("embedded store only")
    installed: list[object] = []

    async def spy(database: object) -> list[str]:
        installed.append(database)
        return []

    monkeypatch.setattr(validators, "apply", spy)
    async with serve(make_settings()) as client:
        assert (await client.post("/auth/register", json=NEW_USER)).status_code == 201
    assert installed == []


NEW_USER = {"name": "Ann", "email": "ann@example.com", "password": "password123"}


# --- through the real driver -----------------------------------------------------------------


def _run_document(**changes: Any) -> dict[str, Any]:
    now = datetime(2025, 3, 3, 7, tzinfo=UTC)
    run = {
        "user_id": ObjectId(),
        "team_id": ObjectId(),
        "city_id": None,
        "started_at": now,
        "day": now.replace(hour=0),
        "distance_km": 5.0,
        "duration_s": 1800,
        "pace_s_per_km": 360.0,
        "score": 300,
        "created_at": now,
        "updated_at": now,
    }
    run.update(changes)
    return {key: value for key, value in run.items() if value is not ...}


@real_server
async def test_validators_are_installed_on_every_collection(app: FastAPI) -> None:
    database = app.state.database
    infos = {info["name"]: info["options"] async for info in await database.list_collections()}
    for collection, validator in validators.VALIDATORS.items():
        options = infos[collection]
        assert options.get("validator") == validator, (
            f"{collection}: the server did not keep the validator; does it enforce $jsonSchema?"
        )
        assert options["validationLevel"] == "moderate"
        assert options["validationAction"] == "error"


@real_server
@pytest.mark.parametrize(
    ("label", "changes"),
    [
        ("zero distance", {"distance_km": 0}),
        ("negative duration", {"duration_s": -60}),
        ("distance typed as a string", {"distance_km": "5"}),
        ("start typed as a string", {"started_at": "2025-03-03"}),
        ("user id typed as a string", {"user_id": "6b0cd7d7440594e980094747"}),
        ("negative score", {"score": -1}),
        ("no score", {"score": ...}),
    ],
)
async def test_a_run_that_breaks_the_schema_is_refused(
    app: FastAPI, label: str, changes: dict[str, Any]
) -> None:
    runs = app.state.database["runs"]
    await runs.insert_one(_run_document())  # the valid one goes in
    with pytest.raises(WriteError) as refused:
        await runs.insert_one(_run_document(**changes))
    assert refused.value.code == DOCUMENT_VALIDATION_FAILURE, label
    assert await runs.count_documents({}) == 1


@real_server
async def test_a_shell_typo_on_a_run_is_refused_and_the_api_keeps_working(
    client: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    runner = await api.user(city="Lyon")
    run = await api.run(runner, started_at="2025-03-03T07:00:00Z", distance_km=5.0)
    runs = app.state.database["runs"]
    with pytest.raises(WriteError) as refused:
        await runs.update_one({"_id": ObjectId(run["id"])}, {"$set": {"distance_km": "5.2"}})
    assert refused.value.code == DOCUMENT_VALIDATION_FAILURE
    r = await client.get(f"/runs/{run['id']}", headers=runner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["distance_km"] == 5.0


@real_server
async def test_a_shell_typo_on_a_user_is_refused_and_the_user_can_still_log_in(
    client: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ann = await api.user("Ann", email="ann@example.com")
    users = app.state.database["users"]
    for typo in ({"role": "Admin"}, {"email": "Ann@Example.com"}, {"password_hash": None}):
        with pytest.raises(WriteError) as refused:
            await users.update_one({"_id": ObjectId(ann.id)}, {"$set": typo})
        assert refused.value.code == DOCUMENT_VALIDATION_FAILURE, typo
    me = await client.get(
        "/users/me",
        headers={"Authorization": f"Bearer {await api.login('ann@example.com', ann.password)}"},
    )
    assert me.status_code == 200, me.text
    assert (me.json()["email"], me.json()["role"]) == ("ann@example.com", "user")


@real_server
async def test_moderate_level_old_invalid_documents_can_still_be_updated(app: FastAPI) -> None:
    """Why "moderate": a document stored before a rule existed (here: bypassing validation)
    still takes the app's updates, instead of every write to it failing with 121 (a 500)."""
    teams = app.state.database["teams"]
    legacy = {"name": "Old Club", "name_key": "old club", "kind": "Custom", "visibility": "open"}
    await teams.insert_one(legacy, bypass_document_validation=True)
    await teams.update_one({"_id": legacy["_id"]}, {"$inc": {"members_count": 1}})
    assert (await teams.find_one({"_id": legacy["_id"]}))["members_count"] == 1
    # ... while a valid document cannot be made invalid
    valid = {"name": "New Club", "name_key": "new club", "kind": "custom", "visibility": "open"}
    await teams.insert_one(valid)
    with pytest.raises(WriteError) as refused:
        await teams.update_one({"_id": valid["_id"]}, {"$set": {"visibility": "closed"}})
    assert refused.value.code == DOCUMENT_VALIDATION_FAILURE


@real_server
async def test_apply_is_idempotent_and_creates_missing_collections(app: FastAPI) -> None:
    database = app.state.database
    assert await validators.apply(database) == []  # installed at startup already
    await database.drop_collection("follows")
    await database.command("collMod", "runs", validator={}, validationLevel="off")
    assert await validators.apply(database) == ["runs", "follows"]
    assert await validators.apply(database) == []
    with pytest.raises(WriteError) as refused:
        await database["follows"].insert_one({"follower_id": "me", "athlete_id": ObjectId()})
    assert refused.value.code == DOCUMENT_VALIDATION_FAILURE
