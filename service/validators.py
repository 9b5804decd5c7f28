"""`$jsonSchema` validators: the core invariants of every collection, enforced by the server.

The API never writes a document that breaks these (the documents and the services already
guarantee them); they are there for everything else, above all an operator's typo in `mongosh`
(`{$set: {distance_km: "5"}}`, an upper-case email, a role "Admin"), which the server then
refuses with code 121 (DocumentValidationFailure) instead of leaving a document that breaks the
API on its next read.

Kept to invariants the app always satisfies: required fields, BSON types, enums taken from the
documents' own `Literal` types, a run's positive distance and duration, a non-negative run
score, a user's lower-case email. Derived totals (score buckets, counters) get types only: a
bucket can dip below zero for a moment while two changes of one run overlap (see
`buckets.apply`). Optional fields allow null, which is how Beanie stores an unset one.

Applied at startup by `db.connect` on a real server only (mongomock ignores validators), with
`collMod`, creating a missing collection with its validator. `validationLevel: "moderate"`:
inserts, and updates of documents that satisfy the schema, are checked; a document stored
before the schema (or before a rule was added) can still be updated, so a rule added later never
turns the API's writes to old data into 500s, while the shell cannot make a valid document
invalid. `--verify`-style checking of old data: `db.<collection>.find({$nor: [<validator>]})`.
"""

from __future__ import annotations

import logging
from typing import Any, get_args

from pymongo.errors import CollectionInvalid, OperationFailure

from documents.competition import CompetitionStatus, EntryStatus
from documents.run import BucketKind
from documents.team import InvitationStatus, MemberRole, TeamKind, Visibility
from documents.user import Role

log = logging.getLogger("service.validators")

Schema = dict[str, Any]

VALIDATION_LEVEL = "moderate"
VALIDATION_ACTION = "error"
UNAUTHORIZED = 13

# Any BSON number: pydantic writes floats as doubles and ints as int32/int64 depending on size.
NUMBER: Schema = {"bsonType": ["double", "int", "long", "decimal"]}
STRING: Schema = {"bsonType": "string"}
DATE: Schema = {"bsonType": "date"}
OBJECT_ID: Schema = {"bsonType": "objectId"}
BOOL: Schema = {"bsonType": "bool"}


def optional(schema: Schema) -> Schema:
    """The same type, or null (an optional field Beanie stores as null when unset)."""
    types = schema["bsonType"]
    return {**schema, "bsonType": [*(types if isinstance(types, list) else [types]), "null"]}


def one_of(literal: Any) -> Schema:
    """A string enum from a `Literal[...]` type of the documents: one source for both."""
    return {"bsonType": "string", "enum": list(get_args(literal))}


def positive(schema: Schema) -> Schema:
    # MongoDB's $jsonSchema follows draft 4: exclusiveMinimum is a boolean beside minimum
    return {**schema, "minimum": 0, "exclusiveMinimum": True}


def at_least_zero(schema: Schema) -> Schema:
    return {**schema, "minimum": 0}


def document(required: list[str], **properties: Schema) -> Schema:
    """A `$jsonSchema` validator: `required` must be present, every named field is typed.

    Fields not named stay free (no `additionalProperties: false`): a new optional field in a
    document class must not need a validator change before it can be written.
    """
    missing = set(required) - properties.keys()
    assert not missing, f"required fields without a type: {missing}"
    return {
        "$jsonSchema": {
            "bsonType": "object",
            "required": required,
            "properties": properties,
        }
    }


# lower-case: no ASCII capital anywhere (the app stores `email.lower()`); one "@" at least
EMAIL_PATTERN = "^[^A-Z@]+@[^A-Z]+$"

VALIDATORS: dict[str, Schema] = {
    "users": document(
        ["name", "name_key", "email", "password_hash", "role"],
        name=STRING,
        name_key=STRING,
        email={**STRING, "pattern": EMAIL_PATTERN},
        password_hash=STRING,
        role=one_of(Role),
        city_id=optional(OBJECT_ID),
        xp=NUMBER,
        level=NUMBER,
        token_version=NUMBER,
        created_at=DATE,
    ),
    "login_failures": document(
        ["account", "failures", "expires_at"],
        account=STRING,
        failures={"bsonType": "array", "items": {"bsonType": "object", "required": ["id", "at"]}},
        expires_at=DATE,
    ),
    "cities": document(
        ["name", "slug"],
        name=STRING,
        slug=STRING,
        country=optional(STRING),
        team_id=optional(OBJECT_ID),
        created_at=DATE,
    ),
    "teams": document(
        ["name", "name_key", "kind", "visibility"],
        name=STRING,
        name_key=STRING,
        kind=one_of(TeamKind),
        city_id=optional(OBJECT_ID),
        visibility=one_of(Visibility),
        owner_id=optional(OBJECT_ID),
        members_count=NUMBER,
        created_at=DATE,
    ),
    "memberships": document(
        ["team_id", "user_id", "role"],
        team_id=OBJECT_ID,
        user_id=OBJECT_ID,
        role=one_of(MemberRole),
        joined_at=DATE,
    ),
    "invitations": document(
        ["team_id", "user_id", "invited_by", "status", "expires_at"],
        team_id=OBJECT_ID,
        user_id=OBJECT_ID,
        invited_by=OBJECT_ID,
        status=one_of(InvitationStatus),
        created_at=DATE,
        expires_at=DATE,
    ),
    "runs": document(
        ["user_id", "team_id", "started_at", "day", "distance_km", "duration_s", "score"],
        user_id=OBJECT_ID,
        team_id=OBJECT_ID,
        city_id=optional(OBJECT_ID),
        started_at=DATE,
        ends_at=optional(DATE),
        day=DATE,
        distance_km=positive(NUMBER),
        duration_s=positive(NUMBER),
        pace_s_per_km=NUMBER,
        score=at_least_zero(NUMBER),
        score_version=NUMBER,
        elevation_gain_m=optional(NUMBER),
        notes=optional(STRING),
        has_route=BOOL,
        revision=NUMBER,
        created_at=DATE,
        updated_at=DATE,
    ),
    "run_routes": document(
        ["user_id", "geometry"],
        user_id=OBJECT_ID,
        geometry={
            "bsonType": "object",
            "required": ["type", "coordinates"],
            "properties": {"type": {"enum": ["LineString"]}, "coordinates": {"bsonType": "array"}},
        },
    ),
    "score_buckets": document(
        ["kind", "entity_id", "day", "score", "distance_m", "runs"],
        kind=one_of(BucketKind),
        entity_id=OBJECT_ID,
        team_id=optional(OBJECT_ID),
        city_id=optional(OBJECT_ID),
        day=DATE,
        score=NUMBER,
        distance_m=NUMBER,
        runs=NUMBER,
    ),
    "idempotency_keys": document(
        ["user_id", "run_id", "fingerprint", "created_at"],
        user_id=OBJECT_ID,
        run_id=OBJECT_ID,
        fingerprint=STRING,
        created_at=DATE,
    ),
    "competitions": document(
        ["name", "name_key", "sport", "city", "city_key", "country", "starts_on", "ends_on"],
        name=STRING,
        name_key=STRING,
        sport=STRING,
        city=STRING,
        city_key=STRING,
        country=STRING,
        location=optional({"bsonType": "object"}),
        starts_on=DATE,
        ends_on=DATE,
        status=one_of(CompetitionStatus),
        created_at=DATE,
    ),
    "events": document(
        ["competition_id", "name", "discipline", "starts_at"],
        competition_id=OBJECT_ID,
        name=STRING,
        discipline=STRING,
        starts_at=DATE,
        round=optional(STRING),
        created_at=DATE,
    ),
    "athletes": document(
        ["name", "name_key"],
        name=STRING,
        name_key=STRING,
        disciplines={"bsonType": "array", "items": STRING},
        followers_count=NUMBER,
        birth_year=optional(NUMBER),
        created_at=DATE,
    ),
    "calendar_entries": document(
        ["athlete_id", "event_id", "competition_id", "event_starts_at", "status"],
        athlete_id=OBJECT_ID,
        event_id=OBJECT_ID,
        competition_id=OBJECT_ID,
        event_starts_at=DATE,
        status=one_of(EntryStatus),
        created_at=DATE,
    ),
    "follows": document(
        ["follower_id", "athlete_id"],
        follower_id=OBJECT_ID,
        athlete_id=OBJECT_ID,
        created_at=DATE,
    ),
}


async def apply(database: Any) -> list[str]:
    """Install every validator: create a missing collection with it, `collMod` one whose
    validator or level differs, leave alone one that has it already (a restart costs one
    `listCollections`). Runs before the indexes are reconciled, so a fresh database's
    collections are created with their validators rather than implicitly.

    Returns the collections it changed. A user without the `collMod` privilege gets a warning
    and no validators rather than an app that cannot start.
    """
    options = {"validationLevel": VALIDATION_LEVEL, "validationAction": VALIDATION_ACTION}
    current = {
        info["name"]: info.get("options", {})
        async for info in await database.list_collections(filter={"type": "collection"})
    }
    changed = []
    for name, validator in VALIDATORS.items():
        have = current.get(name)
        if have is not None and have == {**have, "validator": validator, **options}:
            continue  # installed already
        try:
            if have is None:
                try:
                    await database.create_collection(name, validator=validator, **options)
                    changed.append(name)
                    continue
                except CollectionInvalid:  # created meanwhile by another instance
                    pass
            await database.command("collMod", name, validator=validator, **options)
            changed.append(name)
        except OperationFailure as exc:
            if exc.code != UNAUTHORIZED:
                raise
            log.warning(
                "Schema validators not applied: the database user may not run collMod (%s). "
                "Grant dbAdmin on the database, or apply them by hand (docs/admin.md).",
                exc.details.get("errmsg") if exc.details else exc,
            )
            return changed
    return changed
