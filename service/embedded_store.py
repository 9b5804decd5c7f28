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
per call; a document is copied for storage with one type check per value (`_insert`'s
datetime patch, same result); sorting compares plain tuple keys ordered exactly like the
BSON comparison (computed once per document and sort key); a cursor with a limit copies only
its window of documents; numeric `$gt`/`$gte`/`$lt`/`$lte` reject documents before the full
filter; a filter on the partition field alone is answered by the partition; and one board's
rows of `board_totals` in board order are kept sorted until the collection's next write
(`SORT_CACHED`), and a count of a range of that order (the rank and `around=me` position counts
of the boards) is two bisections of it; a document whose plain stored values decide every
condition of the filter matches without mongomock's full filter; one partition's documents are
kept sorted by a date field (`RANGES`: `score_buckets.day`) until the next write, so a date
range reads only its documents; and a `$group` of sums right after the `$match` reads the stored
documents in one pass, without copying them (same rows, same order as mongomock's); and the
results of reads of the boards' collections (`READ_CACHED`: finds, counts, aggregates) are kept
until the next write to what they read (every write stamps its collection with a number never
used before), so a repeated board page costs a copy of its rows (bounded per collection); a
route's positions are stored as tuples (the garbage collector stops scanning them: each stored
route would otherwise add 20,000 lists to every full collection of the process) and a reader's
copy of a document gives them back as lists, with a list of scalars or datetimes copied in one
call. Idempotent, and a no-op without mongomock. `tests/test_embedded_store.py` checks each
path against mongomock's own behaviour.

`service/db.py` installs it when it opens the embedded store.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections.abc import Iterator
from datetime import UTC, datetime
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
# `feed_items.actor_id` too (a feed row never changes author): GET /feed reads its authors' rows.
PARTITIONS: dict[str, str] = {
    "score_buckets": "kind",
    "runs": "user_id",
    "board_totals": "board",
    "feed_items": "actor_id",
}
_PLAIN_TYPES = (str, ObjectId, int, float, bool, type(None))
# values mongomock stores as they are (exact classes: a subclass goes through mongomock)
_SCALARS = frozenset({str, ObjectId, int, float, bool, type(None), bytes})
_DATETIME = frozenset({datetime})
_TUPLE = frozenset({tuple})
_POSITIONS = frozenset({list, tuple})  # what the items of a list of positions may be
# values a reader's copy may share with the stored document: nobody changes them in place
_IMMUTABLE = _SCALARS | _DATETIME
# Per partitioned collection, a date field kept sorted within each partition value until the
# next write: `score_buckets.day`, so a custom-period board reads only the buckets of its days.
# `feed_items.at` too: a feed page's window of time reads only its authors' rows in that window.
RANGES: dict[str, str] = {"score_buckets": "day", "feed_items": "at"}
# Collections whose sorted reads of one partition are cached until the collection's next write
# (insert, update, delete): a board page sorts its board's rows once, not on every request.
SORT_CACHED = {"board_totals"}
# Collections whose read results (a find's rows, a count, an aggregate's rows) are kept until the
# collection's next write, and for an aggregate until the next write to a collection its
# `$lookup`s read: a repeated read of unchanged data (a board's page, a custom period's sums,
# the names of a page's runners) costs a copy of its rows. What the boards read; documents small.
READ_CACHED = {"score_buckets", "board_totals", "users", "teams", "cities", "memberships"}
READ_CACHE_ENTRIES = 256  # per collection; the oldest entry goes first
READ_CACHE_ROWS = 20_000  # rows kept per collection at most (oldest entries go first)
READ_CACHE_MAX_ROWS = 1000  # a larger result is not kept
_READ_CACHE_MAX_KEY = 20_000  # characters of a query's repr (a huge `$in` is not kept)
# Every write stamps its collection with a new number from this counter: a stamp is never
# reused, also across collections dropped and created again under the same name.
_stamps = itertools.count(1)


def install() -> None:
    global _installed
    if _installed:
        return
    try:
        from mongomock import DuplicateKeyError, command_cursor, filtering, helpers
        from mongomock import aggregate as mm_aggregate
        from mongomock import collection as mm_collection
        from mongomock.collection import Collection, Cursor, validate_is_mapping
        from mongomock.store import CollectionStore
    except ImportError:  # pragma: no cover - deployments without the embedded store
        return

    original_iter_documents = Collection._iter_documents
    original_ensure_uniques = Collection._ensure_uniques
    original_insert_many = Collection.insert_many
    original_comparable = filtering.BsonComparable
    original_get_dataset = Collection._get_dataset
    ORIGINALS.update(
        get_dataset=original_get_dataset,
        iter_documents=original_iter_documents,
        ensure_uniques=original_ensure_uniques,
        insert_many=original_insert_many,
        aggregate=Collection.aggregate,
        cursor_next=Cursor.__next__,
        bson_comparable=original_comparable,
    )

    def cursor_next(self: Any) -> Any:
        bounds = (self._skip, self._limit)
        window = getattr(self, "_window", None)
        if window is None or window[0] is not self._factory or window[1] != bounds:

            def compute() -> list[dict[str, Any]]:
                if self._limit and self._results is None:
                    # only the window is ever read: copy (and project) skip + limit documents,
                    # not every match (a page of 20 out of 400 board rows copied all 400)
                    rows = _window(self, self._skip, self._skip + abs(self._limit))
                    if self.collection.codec_options.tz_aware:
                        rows = [helpers.make_datetime_timezone_aware_in_document(x) for x in rows]
                    return rows
                results = self._compute_results(with_limit_and_skip=False)
                rows = results[self._skip :]
                return rows[: abs(self._limit)] if self._limit else rows

            collection = self.collection
            if collection._store.name in READ_CACHED:
                key = _read_key(
                    "find",
                    collection.codec_options.tz_aware,
                    self._spec,
                    self._sort,
                    self._projection,
                    bounds,
                )
                rows = cached_read(collection, key, (), compute)
            else:
                rows = compute()
            window = (self._factory, bounds, rows)
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
        _written(self)
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
        _written(self)
        parts = partitions(self)
        old = self._documents.get(key)
        if parts is not None and old is not None:
            parts.get(_partition_value(old.get(PARTITIONS[self.name])), {}).pop(key, None)
        original_delitem(self, key)

    def drop(self: Any) -> None:
        _written(self)
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
        store = self._store
        parts = partitions(store)
        assert parts is not None
        # the ordered ids of one value are kept until the next write (documents enter or leave a
        # partition only through __setitem__/__delitem__, which count as writes)
        key = (tuple(values), _version(store)) if len(values) == 1 else None
        cached = store.__dict__.get("_ordered", {}).get(key) if key else None
        if cached is None:
            numbered: dict[Any, int] = dict(parts.get(_ANY, {}))
            for value in values:
                numbered.update(parts.get(value, {}))
            cached = sorted(numbered, key=numbered.__getitem__)
            if key:
                ordered = store.__dict__.setdefault("_ordered", {})
                if len(ordered) >= 4096 or any(k[1] != key[1] for k in ordered):
                    ordered.clear()
                ordered[key] = cached
        documents = store._documents
        return [documents[i] for i in cached if i in documents]

    def range_candidates(self: Any, filter: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The documents of a filter on the partition field and a date range on the
        collection's `RANGES` field that can match, in insertion order: per partition value,
        its documents sorted by that date are kept until the next write, and the range is cut
        from them by bisection; documents whose field is not a (naive, as stored) date stay
        candidates. None when the filter has no such shape."""
        store = self._store
        field, date_field = PARTITIONS.get(store.name), RANGES.get(store.name)
        bounds: Any = filter.get(date_field) if date_field else None
        if field is None or not _date_range(bounds) or field not in filter:
            return None
        # stored dates are naive UTC (mongomock drops the zone): an aware bound is compared as
        # its UTC moment
        low, high = (_naive_utc(bounds.get(op)) for op in ("$gte", "$lt"))
        wanted = filter[field]
        if isinstance(wanted, dict) and set(wanted) == {"$in"}:
            values = list(wanted["$in"])
        elif isinstance(wanted, _FILTER_TYPES):
            values = [wanted]
        else:
            return None
        if not all(isinstance(v, _FILTER_TYPES) for v in values):
            return None
        parts = partitions(store)
        assert parts is not None
        version = _version(store)
        cache = store.__dict__.setdefault("_by_date", {})
        documents = store._documents
        numbered: dict[Any, int] = {}
        for value in [_ANY, *values]:
            entry = cache.get(value)
            if entry is None or entry[0] != version:
                if len(cache) >= 4096 or any(e[0] != version for e in cache.values()):
                    cache.clear()
                dated: list[tuple[datetime, int, Any]] = []
                other: list[tuple[int, Any]] = []
                for _id, number in parts.get(value, {}).items():
                    day = documents[_id].get(date_field)
                    if value is not _ANY and day.__class__ is datetime and day.tzinfo is None:
                        dated.append((day, number, _id))
                    else:
                        other.append((number, _id))
                dated.sort(key=operator.itemgetter(0, 1))
                entry = cache[value] = (version, [d for d, _, _ in dated], dated, other)
            _, days, dated, other = entry
            start = 0 if low is None else bisect.bisect_left(days, low)
            stop = len(days) if high is None else bisect.bisect_left(days, high)
            numbered.update((_id, number) for _, number, _id in dated[start:stop])
            numbered.update((_id, number) for number, _id in other)
        return [documents[i] for i in sorted(numbered, key=numbered.__getitem__)]

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
        numbers: list[tuple[str, Any, int | float]] = []  # (field, comparison, bound)
        # every condition is one of those: a document passing them all on plain stored values
        # (below) matches without mongomock's full filter
        complete = True
        for key, value in filter.items():
            if key.startswith("$") or "." in key:
                complete = False
                continue
            if _number_range(value):
                numbers += [(key, _COMPARE[op], bound) for op, bound in value.items()]
            elif value.__class__ in (int, float) and value == value:  # not NaN
                numbers.append((key, operator.eq, value))
            elif _date_range(value):
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
            else:
                complete = False
        scope = range_candidates(self, filter)
        if scope is None:
            scope = partition_candidates(self, filter)
        if not allowed and not ranges and not numbers and scope is None:
            return original_iter_documents(self, filter)  # type: ignore[no-any-return]
        field = PARTITIONS.get(self._store.name)
        if (
            scope is not None
            and set(filter) == {field}
            and isinstance(filter[field], _FILTER_TYPES)
        ):
            # the partition is the answer: its documents hold exactly this plain value (those
            # holding arrays or documents, filed under _ANY, still go through the filter)
            value, name = filter[field], str(field)
            return (
                doc
                for doc in scope
                if doc.get(name).__class__ is value.__class__
                or filtering.filter_applies(filter, doc)
            )

        def candidate(doc: dict[str, Any]) -> int:
            """0: no match; 1: a match (plain stored values decided every condition of a
            complete filter); 2: maybe (mongomock's filter decides)."""
            sure = complete
            for key, values in allowed:
                stored = doc.get(key)
                # arrays match by membership and exotic types by mongomock's rules: keep them
                if isinstance(stored, _PLAIN_TYPES) and stored not in values:
                    return 0
                # a string or ObjectId equal to one of the (string or ObjectId) values matches;
                # anything else (1 == True, arrays) is left to mongomock
                sure = sure and (stored.__class__ is str or isinstance(stored, ObjectId))
            for key, low, high in ranges:
                stored = doc.get(key)
                if stored.__class__ is datetime:
                    try:
                        if (low is not None and stored < low) or (
                            high is not None and stored >= high
                        ):
                            return 0
                    except TypeError:  # naive against aware: mongomock decides
                        sure = False
                else:
                    sure = False
            for key, compare, bound in numbers:
                stored = doc.get(key)
                if stored.__class__ in (int, float):
                    if not compare(stored, bound):
                        return 0
                    sure = sure and stored == stored  # NaN: mongomock decides
                else:
                    sure = False
            return 1 if sure else 2

        return (
            doc
            for doc in (list(self._store.documents) if scope is None else scope)
            if (verdict := candidate(doc)) == 1
            or (verdict and filtering.filter_applies(filter, doc))
        )

    def get_dataset(self: Any, spec: Any, sort: Any, fields: Any, as_class: Any) -> Any:
        """mongomock's `_get_dataset`, sorting on plain tuple keys computed once per document
        (one stable pass per sort key, last key first, as mongomock does); any value outside
        `bson_sort_key`'s types falls back to mongomock's own sort."""
        if not _sortable(sort):
            yield from original_get_dataset(self, spec, sort, fields, as_class)
            return
        dataset = _cached_sorted(self, spec, sort)
        if dataset is None:
            dataset = _sorted_documents(self, spec, sort)
        if dataset is None:
            yield from original_get_dataset(self, spec, sort, fields, as_class)
            return
        for document in dataset:
            yield self._copy_only_fields(document, fields, as_class)

    def _sortable(sort: Any) -> bool:
        return bool(sort) and not isinstance(sort, dict) and not any(k[0] == "$" for k, _ in sort)

    def _cached_sorted(self: Any, spec: Any, sort: Any) -> list[dict[str, Any]] | None:
        """One board's rows in board order, kept until the next write to the collection; None
        for other collections and filters (or values only mongomock's own sort orders)."""
        if self._store.name not in SORT_CACHED or set(spec) != {PARTITIONS[self._store.name]}:
            return None
        cache = self._store.__dict__.setdefault("_sorted", {})
        # the sorts cached per partition value: what a count of that partition may bisect
        sorts = self._store.__dict__.setdefault("_sorted_specs", {})
        key, version = (repr(spec), repr(sort)), _version(self._store)
        cached = cache.get(key)
        if cached is None or cached[0] != version:
            if len(cache) >= 1024:  # bounded: at most this many boards kept
                cache.clear()
                sorts.clear()
            order = [(name, direction) for name, direction in sort]
            # (version, rows, their kinds of values per field (filled by counts), the sort)
            cached = cache[key] = (version, _sorted_documents(self, spec, sort), {}, order)
            sorts.setdefault(key[0], set()).add(key)
        return cached[1]  # type: ignore[no-any-return]

    def cached_count(self: Any, spec: dict[str, Any]) -> int | None:
        """A count of one board's rows in a range of its cached order, by bisection.

        `spec`: the partition value and conditions on a prefix of a cached sort's fields
        (equality on the first ones, then at most one range: `$gt`/`$gte`/`$lt`/`$lte`), e.g.
        the rows ahead of a row on its board. Such rows are contiguous in that order when every
        row and bound of those fields is one plain kind of value (all numbers, all strings or
        all ObjectIds): Python compares them as MongoDB does. None otherwise, or with no cached
        order for the partition (mongomock then counts the matching rows itself)."""
        store = self._store
        field = PARTITIONS.get(store.name)
        if field is None or store.name not in SORT_CACHED:
            return None
        if not isinstance(spec.get(field), _FILTER_TYPES):
            return None
        rest = {k: v for k, v in spec.items() if k != field}
        version = _version(store)
        cache = store.__dict__.get("_sorted", {})
        for key in store.__dict__.get("_sorted_specs", {}).get(repr({field: spec[field]}), ()):
            entry = cache.get(key)
            if entry is None or entry[0] != version or entry[1] is None:
                continue
            counted = _count_in_order(entry[1], entry[2], entry[3], rest)
            if counted is not None:
                return counted
        return None

    original_count_documents = Collection.count_documents
    ORIGINALS["count_documents"] = original_count_documents

    def count_documents(self: Any, filter: Any, **kwargs: Any) -> int:
        if not kwargs and isinstance(filter, dict) and self._store.name in SORT_CACHED:
            counted = cached_count(self, helpers.patch_datetime_awareness_in_document(filter))
            if counted is not None:
                return counted
        if self._store.name not in READ_CACHED or "session" in kwargs:
            return original_count_documents(self, filter, **kwargs)  # type: ignore[no-any-return]
        return cached_read(  # type: ignore[no-any-return]
            self,
            _read_key("count", filter, kwargs),
            (),
            lambda: original_count_documents(self, filter, **kwargs),
        )

    def cached_read(collection: Any, key: str | None, reads: tuple[str, ...], compute: Any) -> Any:
        """`compute()`, or a copy of its result from the last time `key` was read from this
        collection (one of READ_CACHED) with no write since to it or to the collections `reads`."""
        store = collection._store
        if key is None:
            return compute()
        databases = collection.database._store
        stamps = tuple(_version(databases[name]) for name in reads)
        held = store.__dict__.get("_reads")
        if held is None or held[0] != _version(store):
            held = store._reads = (_version(store), {}, [0])
        entries: dict[tuple[str, tuple[int, ...]], Any] = held[1]
        kept = held[2]  # [rows held]
        found = entries.get((key, stamps))
        if found is not None:
            return _copy(found)
        result = compute()
        size = len(result) if isinstance(result, list) else 1
        if not isinstance(result, list | int) or size > READ_CACHE_MAX_ROWS:
            return result
        while entries and (len(entries) >= READ_CACHE_ENTRIES or kept[0] + size > READ_CACHE_ROWS):
            oldest = entries.pop(next(iter(entries)))
            kept[0] -= len(oldest) if isinstance(oldest, list) else 1
        entries[(key, stamps)] = _copy(result)
        kept[0] += size
        return result

    def _window(cursor: Any, start: int, stop: int) -> list[dict[str, Any]]:
        """Documents [start, stop) of a cursor's results, copying only those."""
        collection, sort = cursor.collection, cursor._sort
        if _sortable(sort):
            dataset = _cached_sorted(collection, cursor._spec, sort)
            if dataset is not None:  # a deep page of a board: no copy of the rows it skips
                return [
                    collection._copy_only_fields(doc, cursor._projection, dict)
                    for doc in dataset[start:stop]
                ]
        return list(itertools.islice(cursor._factory(), start, stop))

    def _sorted_documents(self: Any, spec: Any, sort: Any) -> list[dict[str, Any]] | None:
        """The matching documents, sorted; None when a value needs mongomock's own sort."""
        dataset = list(self._iter_documents(spec))
        try:
            for sort_key, direction in reversed(sort):
                keys = {id(doc): _sort_key(filtering.resolve_key(sort_key, doc)) for doc in dataset}
                dataset.sort(key=lambda doc: keys[id(doc)], reverse=direction < 0)
        except (_Unsortable, TypeError):
            return None
        return dataset

    def _version(store: Any) -> int:
        return store.__dict__.get("_version", 0)  # type: ignore[no-any-return]

    def _written(store: Any) -> None:
        store._version = next(_stamps)

    original_update = Collection._update
    ORIGINALS["update"] = original_update

    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        # updates change stored documents in place (no __setitem__): count them as writes
        try:
            return original_update(self, *args, **kwargs)
        finally:
            _written(self._store)

    def _sort_key(value: Any) -> tuple[int, tuple[Any, ...]]:
        # mongomock's resolve_sort_key: missing sorts as null; arrays by their first value
        if value is filtering.NOTHING:
            return (1, bson_sort_key(None))
        if isinstance(value, tuple | list):
            return (0, bson_sort_key(None)) if not value else (1, bson_sort_key(value[0]))
        return (1, bson_sort_key(value))

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
        reads = _lookups(pipeline) if self._store.name in READ_CACHED else None
        if session is not None or reads is None:
            return run_aggregate(self, pipeline, session)
        key = _read_key("aggregate", self.codec_options.tz_aware, pipeline)
        rows = cached_read(self, key, reads, lambda: list(run_aggregate(self, pipeline, None)))
        return command_cursor.CommandCursor(rows) if isinstance(rows, list) else rows

    def run_aggregate(self: Any, pipeline: list[dict[str, Any]], session: Any) -> Any:
        pipeline = list(pipeline)
        query: dict[str, Any] = {}
        projection: dict[str, Any] | None = None
        if pipeline and set(pipeline[0]) == {"$match"}:
            query = pipeline.pop(0)["$match"]
        if pipeline and set(pipeline[0]) == {"$group"} and session is None:
            validate_is_mapping("filter", query)
            spec = helpers.patch_datetime_awareness_in_document(query)
            grouped = _grouped_sums(
                self._iter_documents(spec),
                pipeline[0]["$group"],
                helpers.make_datetime_timezone_aware_in_document
                if self.codec_options.tz_aware
                else None,
                mm_aggregate._GROUPING_OPERATOR_MAP["$sum"],
            )
            if grouped is not None:
                return mm_aggregate.process_pipeline(grouped, self.database, pipeline[1:], session)
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

    original_patch = helpers.patch_datetime_awareness_in_document
    ORIGINALS.update(patch_datetime=original_patch)

    def patch_datetime(value: Any) -> Any:
        """mongomock's copy of a document as stored (datetimes naive UTC, millisecond
        precision), without its per-value isinstance chain: a 20,000-point route is a list of
        float lists and of datetimes, copied here with one type check per value."""
        kind = value.__class__
        if kind is dict:
            return {k: patch_datetime(v) for k, v in value.items()}
        if kind is list or kind is tuple:
            # the kinds of values, collected in C (map/set): a route's 20,000 positions
            kinds = set(map(type, value))
            if kinds <= _SCALARS:
                return list(value)
            if (
                kinds <= _POSITIONS
                and set(map(type, itertools.chain.from_iterable(value))) <= _SCALARS
            ):
                # arrays of number arrays (a route's positions): kept as tuples, which the
                # garbage collector stops scanning (each stored route would add 20,000 lists to
                # every full collection of the process); reads give lists again (copy_field).
                # tuple() of a tuple (an import's positions) is that tuple: nothing is copied
                return list(map(tuple, value))
            if kinds == _DATETIME:
                # a route's timestamps: already UTC at millisecond precision, the stored value
                # is the same moment made naive (mongomock's patch otherwise)
                return [
                    t.replace(tzinfo=None)
                    if t.tzinfo is UTC and not t.microsecond % 1000
                    else original_patch(t)
                    for t in value
                ]
            return [patch_datetime(item) for item in value]
        if kind in _SCALARS:
            return value
        return original_patch(value)  # OrderedDict, datetime, Timestamp, subclasses

    original_copy_field = mm_collection._copy_field
    ORIGINALS.update(copy_field=original_copy_field)

    def copy_field(value: Any, container: Any) -> Any:
        """mongomock's copy of a stored value for a reader, with lists of scalars, datetimes
        or stored positions (tuples, see patch_datetime) copied in one C-level call each."""
        kind = value.__class__
        if kind is list:
            kinds = set(map(type, value))
            if kinds <= _IMMUTABLE:
                return list(value)
            if kinds == _TUPLE:
                return list(map(list, value))
            return [copy_field(item, container) for item in value]
        if kind in _IMMUTABLE:
            return value  # what copy.copy gives: an equal value, never changed in place
        if isinstance(value, dict):
            new = container()
            for key, item in value.items():
                new[key] = copy_field(item, container)
            return new
        return original_copy_field(value, container)

    helpers.patch_datetime_awareness_in_document = patch_datetime
    mm_collection._copy_field = copy_field
    CollectionStore.__setitem__ = setitem  # type: ignore[method-assign]
    CollectionStore.__delitem__ = delitem  # type: ignore[method-assign]
    CollectionStore.drop = drop  # type: ignore[method-assign]
    Cursor.__next__ = cursor_next  # type: ignore[method-assign]
    Cursor.next = cursor_next  # type: ignore[method-assign]
    Collection._iter_documents = iter_documents  # type: ignore[method-assign]
    Collection._get_dataset = get_dataset  # type: ignore[method-assign]
    Collection._update = update  # type: ignore[method-assign]
    Collection._ensure_uniques = ensure_uniques  # type: ignore[method-assign]
    Collection.insert_many = insert_many  # type: ignore[method-assign]
    Collection.aggregate = aggregate  # type: ignore[method-assign]
    Collection.count_documents = count_documents  # type: ignore[method-assign]
    filtering.BsonComparable = _comparable(filtering.bson_compare)  # type: ignore[misc, assignment]
    _installed = True


def _read_key(*parts: Any) -> str | None:
    """A read's cache key: the repr of everything that decides its result (None: too big)."""
    key = repr(parts)
    return key if len(key) <= _READ_CACHE_MAX_KEY else None


_WRITING_STAGES = {"$out", "$merge"}
_VOLATILE = ("$$NOW", "$$CLUSTER_TIME", "$rand", "$sample")


def _lookups(pipeline: Any) -> tuple[str, ...] | None:
    """The collections a pipeline reads besides its own (`$lookup`/`$graphLookup` `from`,
    `$unionWith`), or None when its result may not be kept: it writes (`$out`, `$merge`) or
    depends on the moment or on chance."""
    names: set[str] = set()

    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            for name, inner in value.items():
                if name in _WRITING_STAGES or name in _VOLATILE:
                    return False
                if name in {"$lookup", "$graphLookup"} and isinstance(inner, dict):
                    if not isinstance(inner.get("from"), str):
                        return False
                    names.add(inner["from"])
                if name == "$unionWith":
                    target = inner.get("coll") if isinstance(inner, dict) else inner
                    if not isinstance(target, str):
                        return False
                    names.add(target)
                if not walk(inner):
                    return False
            return True
        if isinstance(value, list | tuple):
            return all(walk(item) for item in value)
        return not (isinstance(value, str) and value in _VOLATILE)

    return tuple(sorted(names)) if walk(pipeline) else None


def _copy(value: Any) -> Any:
    """A copy of a read's result deep enough that the caller may change it: dicts and lists are
    copied, their other values (str, numbers, ObjectId, datetime: immutable) shared."""
    kind = value.__class__
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if isinstance(value, dict):  # OrderedDict, SON
        return kind((k, _copy(v)) for k, v in value.items())
    return value


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


_COMPARE = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}


def _number_range(value: Any) -> bool:
    """`{"$gt": 5}`, `{"$gte": 1, "$lt": 9.5}`...: int or float bounds (not booleans, not NaN)."""
    return (
        isinstance(value, dict)
        and bool(value)
        and set(value) <= set(_COMPARE)
        and all(
            bound.__class__ in (int, float) and bound == bound  # NaN != NaN
            for bound in value.values()
        )
    )


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _date_range(value: Any) -> bool:
    """`{"$gte": datetime, "$lt": datetime}` (either bound alone too)."""
    return (
        isinstance(value, dict)
        and bool(value)
        and set(value) <= {"$gte", "$lt"}
        and all(bound.__class__ is datetime for bound in value.values())
    )


_RANGE_OPS = frozenset({"$gt", "$gte", "$lt", "$lte"})
# a stored value below what a condition matches (it lies before the matches in ascending order),
# or above it
_TOO_LOW = {"$eq": operator.lt, "$gte": operator.lt, "$gt": operator.le}
_TOO_HIGH = {"$eq": operator.gt, "$lte": operator.gt, "$lt": operator.ge}


def _kind_of(value: Any) -> str | None:
    """The plain kind of value whose order Python and MongoDB agree on, else None."""
    kind = value.__class__
    if kind is int or kind is float:
        return "number" if value == value else None  # NaN: no
    if kind is str:
        return "string"
    if isinstance(value, ObjectId):
        return "objectid"
    return None


def _count_in_order(
    rows: list[dict[str, Any]],
    kinds: dict[str, str | None],
    order: list[tuple[str, int]],
    conditions: dict[str, Any],
) -> int | None:
    """How many of `rows` (sorted by `order`) match `conditions`: equality on the first fields
    of `order`, then at most one range on the next; two bisections. None for any other shape,
    or when a field's values (or a bound) are not all of one plain kind. `kinds` memoizes each
    field's kind over `rows` (the rows never change: the cache entry goes with any write)."""
    checks: list[tuple[str, int, list[tuple[str, Any]]]] = []  # (field, direction, [(op, v)])
    remaining = dict(conditions)
    for name, direction in order:
        if name not in remaining:
            break
        value = remaining.pop(name)
        if isinstance(value, dict):
            if not value or not set(value) <= _RANGE_OPS:
                return None
            checks.append((name, direction, list(value.items())))
            break
        checks.append((name, direction, [("$eq", value)]))
    if remaining:
        return None
    for name, _, bounds in checks:
        if name not in kinds:
            found = {_kind_of(row.get(name)) for row in rows}
            kinds[name] = found.pop() if len(found) == 1 else None
        kind = kinds[name]
        if kind is None or any(_kind_of(bound) != kind for _, bound in bounds):
            return None if rows else 0

    def side(row: dict[str, Any]) -> int:
        """-1: before the matching rows in `order`; 0: one of them; 1: after them."""
        for name, direction, bounds in checks:
            stored = row[name]
            for op, bound in bounds:
                if op in _TOO_LOW and _TOO_LOW[op](stored, bound):
                    return -1 if direction > 0 else 1
                if op in _TOO_HIGH and _TOO_HIGH[op](stored, bound):
                    return 1 if direction > 0 else -1
        return 0

    def first(past: int) -> int:
        lo, hi = 0, len(rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if side(rows[mid]) < past:
                lo = mid + 1
            else:
                hi = mid
        return lo

    return first(1) - first(0)


def _sum(values: list[Any], sum_of: Any) -> Any:
    """mongomock's `$sum` (`sum_of`), with its plain case first: only ints sum to their int."""
    return sum(values) if all(v.__class__ is int for v in values) else sum_of(values)


# group keys whose grouping and order `_grouped_sums` reproduces (immutable, with a sort key)
_KEY_TYPES = frozenset({str, ObjectId, int, float, bool, type(None), datetime})


def _field_path(value: Any) -> str | None:
    """`"$name"` (a top-level field: no dots, no variables) -> "name"; None for anything else."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "$" and value[1] != "$":
        return None if "." in value else value[1:]
    return None


def _grouped_sums(
    docs: Iterator[dict[str, Any]],
    spec: dict[str, Any],
    aware: Any,
    sum_of: Any,
) -> list[dict[str, Any]] | None:
    """mongomock's `$group` of `{_id: "$field", name: {$sum: "$field" or a number}, ...}`, read
    from the stored documents (never copied nor changed) in one pass.

    Same rows in the same order as mongomock: it sorts the documents by key (BSON order,
    stable) and lets `itertools.groupby` cut groups where a key differs (`==`) from its group's
    first one; here the documents are filed by the key's sort key, the groups sorted by it and
    neighbours with equal keys (1 and True) merged, each group's values kept in document order
    and summed by mongomock's own `$sum`. A missing key groups as null, as there. Any other
    shape, or a key of another type (arrays, documents, NaN), returns None: mongomock groups
    copies itself. `aware`: mongomock's tz-aware copy of a value (datetime keys), or None.
    """
    key_field = _field_path(spec.get("_id"))
    if key_field is None:
        return None
    sums: list[tuple[str, str | None, Any]] = []
    for name, accumulator in spec.items():
        if name == "_id":
            continue
        if not isinstance(accumulator, dict) or list(accumulator) != ["$sum"]:
            return None
        argument = accumulator["$sum"]
        field = _field_path(argument)
        if field is None and argument.__class__ not in (int, float):
            return None
        sums.append((name, field, argument))
    groups: dict[tuple[Any, ...], tuple[Any, list[list[Any]]]] = {}
    for doc in docs:
        key = doc.get(key_field)
        # (Beanie stores PydanticObjectId, an ObjectId subclass; NaN has no place in a group)
        if (key.__class__ not in _KEY_TYPES and not isinstance(key, ObjectId)) or key != key:
            return None
        sort_key = bson_sort_key(key)
        group = groups.get(sort_key)
        if group is None:
            group = groups[sort_key] = (key, [[] for _ in sums])
        for values, (_, field, argument) in zip(group[1], sums, strict=True):
            if field is None:
                values.append(argument)
            elif field in doc:
                values.append(doc[field])
    try:
        ordered = sorted(groups.items(), key=operator.itemgetter(0))
    except TypeError:  # pragma: no cover - sort keys of one rank hold comparable values
        return None
    merged: list[tuple[Any, list[list[Any]]]] = []
    for _, (key, lists) in ordered:
        if merged and merged[-1][0] == key:
            for into, values in zip(merged[-1][1], lists, strict=True):
                into.extend(values)
        else:
            merged.append((key, lists))
    rows = []
    for key, lists in merged:
        row = {name: _sum(values, sum_of) for (name, _, _), values in zip(sums, lists, strict=True)}
        row["_id"] = aware(key) if aware is not None else key
        rows.append(row)
    return rows


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
