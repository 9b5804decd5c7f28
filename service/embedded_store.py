"""Speed-ups for the embedded (mongomock) store, so demo-sized data stays interactive.

mongomock 4.3 has no indexes and some accidental quadratic paths that real MongoDB does not:

- `Cursor.__next__` re-slices the whole result list on every call: reading N documents costs
  O(N²) (43k score buckets took 16 s to read, so every aggregate over them did too);
- every query evaluates the full filter on every document, even `{"_id": x}` (so a `$lookup`
  of N rows costs N full scans of the other collection);
- `aggregate` copies *every* document of the collection before a leading `$match` runs;
- each inserted document scans the collection once per unique index: bulk inserts are O(N²);
- `$group` and `$sort` compare values with a pure-Python BSON comparison (~30 µs a comparison:
  rebuilding the buckets of 4,000 runs took 10 s).

`install()` patches these paths while keeping their results identical: the cursor keeps its
window of results between calls; `_id` equality is a dict lookup; plain equality (or `$in`) on
string or ObjectId fields, and `$gte`/`$lt` on dates, reject non-matching documents before the
full filter runs; a leading `$match` is evaluated as `find(filter)`, and a plain inclusion
`$project` after it as the projection; `insert_many` checks unique keys against a set built once
per call; sorting compares plain tuple keys ordered exactly like the BSON comparison.
Idempotent, and a no-op without mongomock. `tests/test_embedded_store.py` checks each
path against mongomock's own behaviour.

`service/db.py` installs it when it opens the embedded store.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bson import ObjectId

_installed = False
# mongomock's own methods, kept so tests can compare the patched paths with them
ORIGINALS: dict[str, Any] = {}
# Query values the equality pre-filter handles, and stored values it can compare them with.
_FILTER_TYPES = (str, ObjectId)
# Per collection, a field whose value never changes once a document is inserted: the store keeps
# the ids of each value apart, so a filter naming values of it reads only those documents (as an
# index would). `score_buckets.kind` qualifies: buckets are only ever moved with $inc; so does
# `runs.user_id` (a run never changes owner): the overlap check of every POST /runs reads one
# runner's runs instead of scanning all of them (200k runs: 4.5 -> 103 POST /runs a second).
# `board_totals.board` too (a row never changes board): a page reads one board's rows.
PARTITIONS: dict[str, str] = {"score_buckets": "kind", "runs": "user_id", "board_totals": "board"}
_PLAIN_TYPES = (str, ObjectId, int, float, bool, type(None))


def install() -> None:
    global _installed
    if _installed:
        return
    try:
        from mongomock import DuplicateKeyError, filtering, helpers
        from mongomock import aggregate as mm_aggregate
        from mongomock.collection import Collection, Cursor
        from mongomock.store import CollectionStore
    except ImportError:  # pragma: no cover - deployments without the embedded store
        return

    original_iter_documents = Collection._iter_documents
    original_ensure_uniques = Collection._ensure_uniques
    original_insert_many = Collection.insert_many
    original_comparable = filtering.BsonComparable
    ORIGINALS.update(
        iter_documents=original_iter_documents,
        ensure_uniques=original_ensure_uniques,
        insert_many=original_insert_many,
        aggregate=Collection.aggregate,
        cursor_next=Cursor.__next__,
        bson_comparable=original_comparable,
    )

    def cursor_next(self: Any) -> Any:
        results = self._compute_results(with_limit_and_skip=False)
        bounds = (self._skip, self._limit)
        window = getattr(self, "_window", None)
        if window is None or window[0] is not results or window[1] != bounds:
            rows = results[self._skip :]
            if self._limit:
                rows = rows[: abs(self._limit)]
            window = (results, bounds, rows)
            self._window = window
        try:
            doc = window[2][self._emitted]
        except IndexError as err:
            raise StopIteration from err
        self._emitted += 1
        return doc

    original_setitem = CollectionStore.__setitem__
    original_delitem = CollectionStore.__delitem__
    original_drop = CollectionStore.drop
    ORIGINALS.update(setitem=original_setitem, delitem=original_delitem, drop=original_drop)

    def partitions(store: Any) -> dict[Any, dict[Any, int]] | None:
        """{partition value: {id: insertion number}} of a partitioned collection, else None."""
        if store.name not in PARTITIONS:
            return None
        parts = store.__dict__.get("_partitions")
        if parts is None:
            field = PARTITIONS[store.name]
            parts = {}
            for number, doc in enumerate(store._documents.values()):
                parts.setdefault(_partition_value(doc.get(field)), {})[doc["_id"]] = number
            store._partitions = parts
            store._inserted = len(store._documents)
        return parts  # type: ignore[no-any-return]

    def setitem(self: Any, key: Any, value: Any) -> None:
        parts = partitions(self)
        if parts is not None:
            field = PARTITIONS[self.name]
            old = self._documents.get(key)
            number = None
            if old is not None:  # a replaced document keeps its place in insertion order
                number = parts.get(_partition_value(old.get(field)), {}).pop(key, None)
            if number is None:
                number, self._inserted = self._inserted, self._inserted + 1
            parts.setdefault(_partition_value(value.get(field)), {})[key] = number
        original_setitem(self, key, value)

    def delitem(self: Any, key: Any) -> None:
        parts = partitions(self)
        old = self._documents.get(key)
        if parts is not None and old is not None:
            parts.get(_partition_value(old.get(PARTITIONS[self.name])), {}).pop(key, None)
        original_delitem(self, key)

    def drop(self: Any) -> None:
        self.__dict__.pop("_partitions", None)
        original_drop(self)

    def partition_candidates(self: Any, filter: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The documents a filter on the partition field can match, in insertion order."""
        field = PARTITIONS.get(self._store.name)
        if field is None or field not in filter:
            return None
        wanted = filter[field]
        if isinstance(wanted, dict) and set(wanted) == {"$in"}:
            values = wanted["$in"]
        elif isinstance(wanted, _FILTER_TYPES):
            values = [wanted]
        else:
            return None
        if not all(isinstance(v, _FILTER_TYPES) for v in values):
            return None
        parts = partitions(self._store)
        assert parts is not None
        numbered: dict[Any, int] = dict(parts.get(_ANY, {}))
        for value in values:
            numbered.update(parts.get(value, {}))
        documents = self._store._documents
        return [documents[i] for i in sorted(numbered, key=numbered.__getitem__) if i in documents]

    def iter_documents(self: Any, filter: Any) -> Iterator[dict[str, Any]]:
        if not isinstance(filter, dict) or self._store.is_empty:
            return original_iter_documents(self, filter)  # type: ignore[no-any-return]
        id_value = filter.get("_id")
        if isinstance(id_value, _FILTER_TYPES):
            # `_id` equality (alone or with other conditions): one dict lookup, then the filter
            doc = self._store._documents.get(id_value)
            return iter([doc] if doc is not None and filtering.filter_applies(filter, doc) else [])
        allowed: list[tuple[str, Any]] = []  # (field, the set of values it may equal)
        ranges: list[tuple[str, datetime | None, datetime | None]] = []  # [low, high) dates
        for key, value in filter.items():
            if key.startswith("$") or "." in key:
                continue
            if _date_range(value):
                ranges.append((key, value.get("$gte"), value.get("$lt")))
            elif isinstance(value, _FILTER_TYPES):
                allowed.append((key, {value}))
            elif (
                isinstance(value, dict)
                and set(value) == {"$in"}
                and isinstance(value["$in"], list | tuple)
                and all(isinstance(v, _FILTER_TYPES) for v in value["$in"])
            ):
                allowed.append((key, set(value["$in"])))
        scope = partition_candidates(self, filter)
        if not allowed and not ranges and scope is None:
            return original_iter_documents(self, filter)  # type: ignore[no-any-return]

        def candidate(doc: dict[str, Any]) -> bool:
            for key, values in allowed:
                stored = doc.get(key)
                # arrays match by membership and exotic types by mongomock's rules: keep them
                if isinstance(stored, _PLAIN_TYPES) and stored not in values:
                    return False
            for key, low, high in ranges:
                stored = doc.get(key)
                if stored.__class__ is datetime:
                    try:
                        if (low is not None and stored < low) or (
                            high is not None and stored >= high
                        ):
                            return False
                    except TypeError:  # naive against aware: mongomock decides
                        pass
            return True

        return (
            doc
            for doc in (list(self._store.documents) if scope is None else scope)
            if candidate(doc) and filtering.filter_applies(filter, doc)
        )

    def ensure_uniques(self: Any, new_data: dict[str, Any]) -> None:
        seen = getattr(self, "_bulk_unique_keys", None)
        if seen is None:
            original_ensure_uniques(self, new_data)
            return
        keys: dict[str, tuple[Any, ...]] = {}
        for name, index in self._store.indexes.items():
            if not index.get("unique"):
                continue
            fields = [key for key, _ in index["key"]]
            key = _unique_key(new_data, fields)
            if index.get("sparse") or index.get("partialFilterExpression") or key is None:
                original_ensure_uniques(self, new_data)  # rare shapes: mongomock decides
                continue
            if name not in seen:
                # built once per insert_many call, from every document but the new one
                seen[name] = {
                    _unique_key(doc, fields) for doc in self._store.documents if doc is not new_data
                }
            if key in seen[name]:
                raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)
            keys[name] = key
        for name, key in keys.items():
            seen[name].add(key)

    def insert_many(self: Any, documents: Any, *args: Any, **kwargs: Any) -> Any:
        self._bulk_unique_keys = {}
        try:
            return original_insert_many(self, documents, *args, **kwargs)
        finally:
            del self._bulk_unique_keys

    def aggregate(self: Any, pipeline: list[dict[str, Any]], session: Any = None, **_: Any) -> Any:
        pipeline = list(pipeline)
        query: dict[str, Any] = {}
        projection: dict[str, Any] | None = None
        if pipeline and set(pipeline[0]) == {"$match"}:
            query = pipeline.pop(0)["$match"]
        if pipeline and set(pipeline[0]) == {"$project"}:
            fields = pipeline[0]["$project"]
            if fields and all(
                "." not in key and not key.startswith("$") and value in (0, 1)
                for key, value in fields.items()
            ):
                projection = pipeline.pop(0)["$project"]
        in_collection = list(self.find(query, projection))
        return mm_aggregate.process_pipeline(in_collection, self.database, pipeline, session)

    def _unique_key(doc: dict[str, Any], fields: list[str]) -> tuple[Any, ...] | None:
        values = []
        for field in fields:
            if "." not in field:
                value = doc.get(field)
            else:
                try:
                    value = helpers.get_value_by_dot(doc, field)
                except KeyError:
                    value = None
            if not isinstance(value, _PLAIN_TYPES) and not hasattr(value, "isoformat"):
                return None
            # MongoDB tells true from 1; Python's set would not
            values.append((value.__class__ is bool, value))
        return tuple(values)

    CollectionStore.__setitem__ = setitem  # type: ignore[method-assign]
    CollectionStore.__delitem__ = delitem  # type: ignore[method-assign]
    CollectionStore.drop = drop  # type: ignore[method-assign]
    Cursor.__next__ = cursor_next  # type: ignore[method-assign]
    Cursor.next = cursor_next  # type: ignore[method-assign]
    Collection._iter_documents = iter_documents  # type: ignore[method-assign]
    Collection._ensure_uniques = ensure_uniques  # type: ignore[method-assign]
    Collection.insert_many = insert_many  # type: ignore[method-assign]
    Collection.aggregate = aggregate  # type: ignore[method-assign]
    filtering.BsonComparable = _comparable(filtering.bson_compare)  # type: ignore[misc, assignment]
    _installed = True


def _comparable(bson_compare: Any) -> type:
    class FastBsonComparable:
        """mongomock's BsonComparable, comparing plain tuple keys when both sides have one."""

        __slots__ = ("fast", "obj")

        def __init__(self, obj: Any) -> None:
            self.obj = obj
            try:
                self.fast: tuple[Any, ...] | None = bson_sort_key(obj)
            except _Unsortable:
                self.fast = None

        def __lt__(self, other: FastBsonComparable) -> bool:
            if self.fast is not None and other.fast is not None:
                try:
                    return self.fast < other.fast
                except TypeError:  # e.g. naive and aware datetimes: mongomock decides
                    pass
            return bool(bson_compare(operator.lt, self.obj, other.obj))

    return FastBsonComparable


def _date_range(value: Any) -> bool:
    """`{"$gte": datetime, "$lt": datetime}` (either bound alone too)."""
    return (
        isinstance(value, dict)
        and bool(value)
        and set(value) <= {"$gte", "$lt"}
        and all(bound.__class__ is datetime for bound in value.values())
    )


class _Unsortable(Exception):
    """A value outside the types `bson_sort_key` mirrors: use mongomock's own comparison."""


def bson_sort_key(value: Any) -> tuple[Any, ...]:
    """A Python sort key ordering values exactly as mongomock's `bson_compare` does.

    For None, booleans, numbers, strings, ObjectIds, datetimes and documents of those: the BSON
    type rank first, then the value (documents: per field the value's rank, the name, the value).
    Anything else raises `_Unsortable`.
    """
    if value is None:
        return (5,)
    if isinstance(value, bool):
        return (40, value)
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            raise _Unsortable
        return (10, value)
    if isinstance(value, str):
        return (15, value)
    if isinstance(value, ObjectId):
        return (35, value)
    if isinstance(value, datetime):
        return (45, value)
    if isinstance(value, dict) and value.__class__ is dict:
        return (20, tuple((bson_sort_key(v)[0], k, bson_sort_key(v)) for k, v in value.items()))
    raise _Unsortable


# Partition of documents whose field holds an array or document: a filter may match inside
# those by mongomock's rules, so they are candidates for every filter.
_ANY = object()


def _partition_value(value: Any) -> Any:
    """The partition a field value files a document under."""
    return value if isinstance(value, _PLAIN_TYPES) else _ANY
