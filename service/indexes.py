"""Index reconciliation at startup: each collection ends up with exactly the declared indexes.

`init_beanie` only ever creates indexes. On a database made by an older version that leaves
indexes no longer declared in place (a stale unique index keeps rejecting writes the current
code makes), and an index whose keys or options changed under the same name makes startup fail
(IndexKeySpecsConflict / IndexOptionsConflict). So `connect()` runs Beanie with
`skip_indexes=True` and then this, for every document in DOCUMENTS:

- an existing index that is not declared (by name) is dropped;
- one declared under the same name with other keys or options is dropped and rebuilt;
- a missing one is created.

Each change is logged once (WARNING for drops and rebuilds, INFO for an index added to an
existing collection; a fresh database's indexes are not logged one by one). Several
processes starting together are fine: creating an identical index is a no-op, and dropping one
that another process already dropped is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from beanie import Document
from pymongo import IndexModel
from pymongo.errors import OperationFailure

log = logging.getLogger("service.indexes")

ID_INDEX = "_id_"
# Options that change what an index does. Others the server reports (v, ns,
# 2dsphereIndexVersion, ...) are its own bookkeeping and are not compared.
COMPARED_OPTIONS = (
    "unique",
    "sparse",
    "expireAfterSeconds",
    "partialFilterExpression",
    "collation",
    "hidden",
)
DEFAULTS: dict[str, Any] = {"unique": False, "sparse": False, "hidden": False}
INDEX_NOT_FOUND = 27


@dataclass
class Changes:
    """What reconciliation did, as (collection, index name) pairs."""

    dropped: list[tuple[str, str]] = field(default_factory=list)
    rebuilt: list[tuple[str, str]] = field(default_factory=list)
    created: list[tuple[str, str]] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.dropped or self.rebuilt or self.created)


def _plain(value: Any) -> Any:
    """1.0 as 1, SON as dict: equal as the server sees them (and readable in the log)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def spec(index: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable part of an index: its keys in order and the options that matter.

    `index` is an IndexModel's `document` or an entry of `index_information()` (whose `key`
    is a list of pairs, or dict items on mongomock).
    """
    keys = index["key"]
    pairs = [
        (str(name), _plain(kind))
        for name, kind in (keys.items() if isinstance(keys, Mapping) else keys)
    ]
    result: dict[str, Any] = {"key": _text_keys(pairs, index)}
    for option in COMPARED_OPTIONS:
        value = index.get(option, DEFAULTS.get(option))
        if value != DEFAULTS.get(option):
            result[option] = _plain(value)
    return result


def _text_keys(pairs: list[tuple[str, Any]], index: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A text index's fields as one ("$text", weights) key: declared as (field, "text") pairs,
    a server reports them as `_fts`/`_ftsx` keys plus a `weights` option."""
    if not any(kind == "text" or name in ("_fts", "_ftsx") for name, kind in pairs):
        return pairs
    declared_fields = [n for n, k in pairs if k == "text" and n not in ("_fts", "_ftsx")]
    weights = {name: 1 for name in declared_fields} | dict(index.get("weights") or {})
    plain = [(n, k) for n, k in pairs if k != "text" and n not in ("_fts", "_ftsx")]
    return [*plain, ("$text", _plain(dict(sorted(weights.items()))))]


def existing_spec(info: Mapping[str, Any], model: IndexModel) -> dict[str, Any]:
    """`spec` of an existing index, as comparable with the declared `model`: a server reports
    a collation with every field filled in, so only the fields declared are compared."""
    have = spec(info)
    wanted_collation = model.document.get("collation")
    if isinstance(wanted_collation, Mapping) and isinstance(have.get("collation"), Mapping):
        have["collation"] = {k: v for k, v in have["collation"].items() if k in wanted_collation}
    return have


def declared(document: type[Document]) -> dict[str, IndexModel]:
    """The indexes a document declares, by name."""
    models: dict[str, IndexModel] = {}
    for item in document.get_settings().indexes or []:
        model = item.index  # Beanie wraps each declared index in an IndexModelField
        models[model.document["name"]] = model
    return models


async def _drop(collection: Any, name: str) -> None:
    try:
        await collection.drop_index(name)
    except OperationFailure as exc:
        if exc.code != INDEX_NOT_FOUND:  # another process dropped it first: fine
            raise


async def _create(collection: Any, model: IndexModel) -> None:
    options = dict(model.document)
    keys = list(options.pop("key").items())
    # One index at a time, with all its options: mongomock's create_indexes would drop a
    # partialFilterExpression (so the embedded store would enforce a partial unique index fully).
    await collection.create_index(keys, **options)


async def reconcile_one(document: type[Document], changes: Changes) -> None:
    collection = document.get_motor_collection()
    name = collection.name
    wanted = declared(document)
    existing = await collection.index_information()
    for index_name, info in existing.items():
        if index_name == ID_INDEX:
            continue
        if index_name not in wanted:
            log.warning("index %s.%s is no longer declared: dropped", name, index_name)
            await _drop(collection, index_name)
            changes.dropped.append((name, index_name))
        elif (have := existing_spec(info, wanted[index_name])) != (
            want := spec(wanted[index_name].document)
        ):
            log.warning("index %s.%s changed (%s -> %s): rebuilt", name, index_name, have, want)
            await _drop(collection, index_name)
            await _create(collection, wanted[index_name])
            changes.rebuilt.append((name, index_name))
    # a new collection's indexes are summed up in one line by reconcile(); an index added to an
    # existing collection (an upgrade) is worth its own
    upgrade = any(index_name != ID_INDEX for index_name in existing)
    for index_name, model in wanted.items():
        if index_name not in existing:
            await _create(collection, model)
            changes.created.append((name, index_name))
            if upgrade:
                log.info("index %s.%s created", name, index_name)


async def reconcile(documents: Iterable[type[Document]]) -> Changes:
    """Bring every document's collection to exactly its declared indexes."""
    changes = Changes()
    for document in documents:
        await reconcile_one(document, changes)
    if changes.created:
        log.debug(
            "created %d index(es) on %d collection(s)",
            len(changes.created),
            len({c for c, _ in changes.created}),
        )
    return changes
