"""The embedded-store speed-ups return exactly what mongomock itself returns.

`service.embedded_store` patches mongomock (installed by `service.db` when it opens the embedded
store, and here explicitly); each test compares a patched path with mongomock's original on
randomized documents.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import mongomock
import pytest
from bson import ObjectId
from mongomock import filtering, helpers
from pymongo.errors import BulkWriteError, DuplicateKeyError

from service import embedded_store as embedded

embedded.install()
ORIGINAL = embedded.ORIGINALS


@pytest.fixture
def collection() -> Any:
    embedded.install()
    rng = random.Random(1)
    ids = [ObjectId() for _ in range(6)]
    day = datetime(2026, 1, 1, tzinfo=UTC)
    values: list[Any] = [
        None,
        "a",
        "b",
        "A",
        1,
        1.0,
        True,
        0,
        *ids[:3],
        day,
        [ids[0], "a"],
        {"x": 1},
    ]
    docs = []
    for i in range(300):
        doc: dict[str, Any] = {"_id": ids[3] if i == 0 else ObjectId(), "n": i}
        for field in ("kind", "ref", "other"):
            if rng.random() < 0.9:
                doc[field] = rng.choice(values)
        doc["day"] = day + timedelta(days=rng.randrange(5))
        docs.append(doc)
    coll = mongomock.MongoClient(tz_aware=True).db.things
    coll.insert_many(docs)
    coll.ids = ids  # the filters below use them
    return coll


def _filters(ids: list[ObjectId]) -> list[dict[str, Any]]:
    return [
        {"_id": ids[3]},
        {"_id": ids[4]},
        {"_id": str(ids[3])},
        {"kind": "a"},
        {"kind": "A"},
        {"ref": ids[0]},
        {"ref": ids[0], "kind": "b"},
        {"kind": {"$in": ["a", "b"]}},
        {"ref": {"$in": [ids[0], ids[1]]}, "day": {"$gte": datetime(2026, 1, 2, tzinfo=UTC)}},
        {"kind": "a", "$or": [{"ref": None}, {"other": 1}]},
        {"other": "a", "n": {"$lt": 100}},
        {"ref.x": 1},
        {
            "day": {
                "$gte": datetime(2026, 1, 2, tzinfo=UTC),
                "$lt": datetime(2026, 1, 4, tzinfo=UTC),
            }
        },
        {"kind": "a", "day": {"$lt": datetime(2026, 1, 3, tzinfo=UTC)}},
        {"n": {"$gte": 5, "$lt": 9}},
        # numeric ranges: on numbers, on fields mixing types, on floats and booleans
        {"n": {"$gt": 250}},
        {"n": {"$gt": 3.5, "$lte": 20}},
        {"kind": {"$gt": 0}},
        {"other": {"$lte": 1}},
        {"ref": {"$lt": 1.5}, "kind": "a"},
        # numeric equality: on numbers (1 equals 1.0, not true), on fields mixing types
        {"n": 7},
        {"kind": 1},
        {"other": 1.0, "n": {"$gt": 10}},
        {"kind": 0, "ref": {"$ne": None}},
        # a partition value (or several) and a date range: the range cut from the sorted dates
        {"kind": "b", "day": {"$gte": datetime(2026, 1, 2, tzinfo=UTC)}},
        {
            "kind": {"$in": ["a", "A", ids[0]]},
            "day": {
                "$gte": datetime(2026, 1, 2, tzinfo=UTC),
                "$lt": datetime(2026, 1, 4, tzinfo=UTC),
            },
        },
        {"kind": None, "day": {"$lt": datetime(2026, 1, 2, tzinfo=UTC)}},
        {},
    ]


def _assert_finds_like_mongomock(collection: Any, specs: list[dict[str, Any]]) -> None:
    """Each filter finds the same documents, in the same order, patched and unpatched."""
    for spec in specs:
        query = helpers.patch_datetime_awareness_in_document(spec)  # as find() passes it
        patched = [d["n"] for d in collection._iter_documents(query)]
        original = [d["n"] for d in ORIGINAL["iter_documents"](collection, query)]
        assert patched == original, query


def test_queries_find_the_same_documents(collection: Any) -> None:
    _assert_finds_like_mongomock(collection, _filters(collection.ids))


def test_a_partitioned_collection_finds_the_same_documents_through_writes(
    collection: Any,
) -> None:
    """`score_buckets` is partitioned by `kind`: inserts, $inc updates, upserts, deletes and a
    drop keep the partitions in step with what mongomock itself finds."""
    assert embedded.PARTITIONS["score_buckets"] == "kind"
    buckets = collection.database.score_buckets
    rng = random.Random(2)
    buckets.insert_many([{k: v for k, v in doc.items()} for doc in collection.find({})])

    def check() -> None:
        _assert_finds_like_mongomock(buckets, _filters(collection.ids))

    check()
    for n in rng.sample(range(300), 60):
        buckets.delete_one({"n": n})
    for n in rng.sample(range(300), 60):
        buckets.update_one({"n": n}, {"$inc": {"hits": 1}})
    for n in range(300, 340):
        upsert = {"$inc": {"runs": 1}, "$setOnInsert": {"kind": "a"}}
        buckets.update_one({"n": n}, upsert, upsert=True)
    check()
    # dates moved (the sorted dates of a partition follow) and days that are not dates
    day = datetime(2026, 1, 1, tzinfo=UTC)
    for n, value in zip(
        rng.sample(range(300), 40), [None, 3, "x", [day], *[day] * 36], strict=True
    ):
        shifted = value + timedelta(days=rng.randrange(-2, 6)) if value is day else value
        buckets.update_one({"n": n}, {"$set": {"day": shifted}})
    buckets.update_many({"n": {"$lt": 20}}, {"$unset": {"day": ""}})
    check()
    buckets.drop()
    buckets.insert_many([{"n": n, "kind": rng.choice("ab")} for n in range(50)])
    check()


def test_feed_items_by_author_and_time_window_find_the_same_documents(collection: Any) -> None:
    """`feed_items` is partitioned by `actor_id` and kept sorted by `at`: a feed window (authors
    `$in`, `at` from a moment given with or without a zone) finds what mongomock finds."""
    assert embedded.PARTITIONS["feed_items"] == "actor_id"
    assert embedded.RANGES["feed_items"] == "at"
    items = collection.database.feed_items
    items.insert_many(
        [
            {"n": doc["n"], "actor_id": doc.get("kind"), "at": doc["day"], "v": doc.get("other")}
            for doc in collection.find({})
        ]
    )
    ids = collection.ids
    east = timezone(timedelta(hours=5))
    moments = [
        datetime(2026, 1, 2, tzinfo=UTC),
        datetime(2026, 1, 3, 4, 30, tzinfo=east),
        datetime(2026, 1, 2, 23, 59, 59, 999000),
    ]
    specs = []
    for moment in moments:
        specs += [
            {"actor_id": {"$in": ["a", "b", ids[0]]}, "at": {"$gte": moment}},
            {"actor_id": "a", "at": {"$gte": moment, "$lt": moment + timedelta(days=1)}},
            {"actor_id": {"$in": ["A", ids[1]]}, "at": {"$gte": moment}, "$or": [{"v": 1}]},
        ]
    _assert_finds_like_mongomock(items, specs)
    items.update_one({"n": 3}, {"$set": {"at": datetime(2026, 1, 9, tzinfo=UTC)}})
    items.delete_one({"n": 4})
    _assert_finds_like_mongomock(items, specs)


def test_runs_partitioned_by_owner_find_the_same_documents_through_writes(
    collection: Any,
) -> None:
    """`runs` is partitioned by `user_id` (ObjectIds, as stored): equality, `$in` and ranges
    beside it find what mongomock finds, through inserts, updates, replacements and deletes."""
    assert embedded.PARTITIONS["runs"] == "user_id"
    runs = collection.database.runs
    rng = random.Random(3)
    docs = []
    for doc in collection.find({}):
        run = {k: v for k, v in doc.items() if k != "ref"}
        if "ref" in doc:
            run["user_id"] = doc["ref"]
        docs.append(run)
    runs.insert_many(docs)
    ids = collection.ids
    specs = [
        {k.replace("ref", "user_id"): v for k, v in spec.items()} for spec in _filters(ids)
    ] + [
        {"user_id": ids[1], "day": {"$lt": datetime(2026, 1, 3, tzinfo=UTC)}, "n": {"$ne": 7}},
        {"user_id": {"$in": [ids[2], "a"]}},
        {"user_id": str(ids[0])},
    ]

    def check() -> None:
        _assert_finds_like_mongomock(runs, specs)

    check()
    for n in rng.sample(range(300), 60):
        runs.delete_one({"n": n})
    for n in rng.sample(range(300), 40):  # in-place updates never touch the owner (immutable)
        runs.update_one({"n": n}, {"$set": {"day": datetime(2026, 1, 3)}, "$inc": {"score": 1}})
    for n in rng.sample(range(300), 20):  # a replacement keeps the run's owner
        owner = runs.find_one({"n": n}, {"user_id": 1})
        if owner is not None and "user_id" in owner:
            replacement = {"n": n, "user_id": owner["user_id"], "day": datetime(2026, 1, 2)}
            runs.replace_one({"n": n}, replacement)
    runs.insert_many([{"n": n, "user_id": rng.choice(ids[:3])} for n in range(300, 340)])
    check()


def test_board_totals_sorted_pages_match_mongomock_through_writes(collection: Any) -> None:
    """`board_totals` is partitioned by `board` and its sorted reads of one board are cached
    until the next write: pages (sort, skip, limit) and counts equal mongomock's own results
    through inserts, $inc updates, upserts, deletes and a drop."""
    assert embedded.PARTITIONS["board_totals"] == "board"
    rows = collection.database.board_totals
    rng = random.Random(4)
    names = ["ann", "bob", "Cid", "dan", "eve"]

    def row(n: int) -> dict[str, Any]:
        return {
            "_id": f"r{n}",
            "board": rng.choice(["b1", "b2", "b3"]),
            "score": rng.choice([0, 5, 5, 10, 250, 3.5]),
            "sort_name": rng.choice(names),
            "entity_id": rng.choice(collection.ids),
        }

    rows.insert_many([row(n) for n in range(200)])
    order = [("score", -1), ("sort_name", 1), ("entity_id", 1)]
    reverse = [(name, -direction) for name, direction in order]

    def check() -> None:
        for spec in (
            {"board": "b1"},
            {"board": "b2"},
            {"board": "b9"},
            {"board": "b1", "score": {"$gt": 5}},
        ):
            for sort in (order, reverse):
                original = list(ORIGINAL["get_dataset"](rows, spec, sort, None, dict))
                for skip, limit in [(0, 20), (7, 5), (60, 20), (0, 0), (65, 3), (500, 5)]:
                    page = list(rows.find(spec, sort=sort, skip=skip, limit=limit))
                    assert page == original[skip : skip + limit if limit else None], spec
            assert rows.count_documents(spec) == len(original)
        # counts of a range of a cached board order (the rank and position counts of the
        # boards) bisect it: the same numbers as mongomock's own count
        ids = sorted(collection.ids)
        for board in ("b1", "b2", "b9"):
            for conditions in (
                {},
                {"score": {"$gt": 5}},
                {"score": {"$gte": 3.5, "$lt": 250}},
                {"score": {"$lte": 5}},
                {"score": 5},
                {"score": 5.0, "sort_name": {"$lt": "dan"}},
                {"score": 10, "sort_name": {"$gte": "bob"}},
                {"score": 5, "sort_name": "bob", "entity_id": {"$lt": ids[3]}},
                {"score": 0, "sort_name": "ann", "entity_id": {"$gt": ids[0]}},
                {"score": {"$gt": "a"}},  # another kind of bound: mongomock counts
                {"sort_name": "bob"},  # not a prefix of the order: mongomock counts
            ):
                spec = {"board": board, **conditions}
                expected = ORIGINAL["count_documents"](rows, spec)
                assert rows.count_documents(spec) == expected, spec

    check()
    for _ in range(3):  # reads between writes: a stale cached order would show here
        for n in rng.sample(range(200), 30):
            rows.update_one({"_id": f"r{n}"}, {"$inc": {"score": rng.choice([-5, 5, 100])}})
        check()
        for n in rng.sample(range(200), 10):
            rows.delete_one({"_id": f"r{n}"})
        check()
        for n in range(200, 210):
            fields = row(n)
            upsert = {
                "$inc": {"score": 7},
                "$setOnInsert": {k: v for k, v in fields.items() if k not in ("_id", "score")},
            }
            rows.update_one({"_id": fields["_id"]}, upsert, upsert=True)
        check()
        rows.update_many({"sort_name": "bob"}, {"$set": {"sort_name": "zed"}})
        check()
    rows.update_one({"_id": "r201"}, {"$set": {"score": "x"}})  # a board of mixed kinds
    check()
    rows.update_one({"_id": "r202"}, {"$unset": {"sort_name": ""}})
    check()
    rows.drop()
    rows.insert_many([row(n) for n in range(40)])
    check()


def test_cursors_return_the_same_rows_with_skip_and_limit(collection: Any) -> None:
    for skip, limit in [(0, 0), (5, 0), (0, 7), (290, 50), (400, 0)]:
        cursor = collection.find({}, sort=[("n", -1)], skip=skip, limit=limit)
        expected = cursor.clone()._compute_results(with_limit_and_skip=True)
        assert list(cursor) == expected


def test_aggregates_match_mongomock_without_pushdown(collection: Any) -> None:
    ids = collection.ids
    pipelines = [
        [{"$match": {"kind": {"$in": ["a", "b"]}}}, {"$project": {"kind": 1, "day": 1}}],
        [
            {"$match": {"ref": ids[0]}},
            {"$group": {"_id": {"k": "$kind", "d": "$day"}, "n": {"$sum": "$n"}}},
            {"$sort": {"_id.k": 1, "_id.d": -1, "n": 1}},
        ],
        [{"$group": {"_id": "$other", "n": {"$sum": 1}}}],
        [{"$sort": {"kind": 1, "other": -1, "n": 1}}, {"$limit": 60}],
    ]
    for pipeline in pipelines:
        patched = list(collection.aggregate(pipeline))
        docs = list(collection.find({}))
        original = list(
            mongomock.aggregate.process_pipeline(docs, collection.database, pipeline, None)
        )
        assert patched == original, pipeline


def test_grouped_sums_match_mongomock(collection: Any) -> None:
    """A `$group` of sums right after the `$match` reads the stored documents in one pass:
    the same rows, in the same order, as mongomock's own `$group` on copies, for keys of every
    plain type (1, 1.0 and true; missing and null; ObjectIds and their Beanie subclass; dates)
    and for the shapes it leaves to mongomock (array or document keys, other accumulators)."""
    from beanie import PydanticObjectId

    rng = random.Random(7)
    ids = [ObjectId(), PydanticObjectId(), ObjectId()]
    day = datetime(2026, 1, 1)
    keys: list[Any] = [None, "a", "b", 1, 1.0, True, False, 0, 2.5, *ids, day, day.replace(day=2)]
    sums: list[Any] = [1, 2, 2.5, None, "x", True, day]
    docs = []
    for n in range(400):
        doc: dict[str, Any] = {"n": n, "kind": rng.choice("ab")}
        if rng.random() < 0.95:
            doc["key"] = rng.choice(keys)
        for field in ("score", "other"):
            if rng.random() < 0.9:
                doc[field] = rng.choice(sums)
        docs.append(doc)
    for tz_aware in (True, False):
        coll = mongomock.MongoClient(tz_aware=tz_aware).db.grouped
        coll.insert_many([dict(doc) for doc in docs])
        odd = mongomock.MongoClient(tz_aware=tz_aware).db.odd
        odd.insert_many([{**doc, "key": [doc.get("key")]} for doc in docs[:50]])
        odd.insert_many([{"key": {"x": 1}, "score": 1}, {"key": float("nan"), "score": 2}])
        group = {"_id": "$key", "s": {"$sum": "$score"}, "o": {"$sum": "$other"}, "c": {"$sum": 1}}
        pipelines = [
            [{"$match": {}}, {"$group": group}],
            [{"$match": {"kind": "a"}}, {"$group": group}, {"$sort": {"s": -1, "_id": 1}}],
            [
                {"$match": {"kind": "b", "n": {"$gt": 100}}},
                {"$group": {"_id": "$key", "h": {"$sum": 2.5}}},
            ],
            [{"$match": {"kind": "a"}}, {"$group": {"_id": "$missing", "c": {"$sum": 1}}}],
            [{"$match": {"kind": "z"}}, {"$group": group}],
            [{"$match": {}}, {"$group": {"_id": "$key", "m": {"$max": "$n"}}}],
            [{"$match": {}}, {"$group": {"_id": {"k": "$key"}, "c": {"$sum": 1}}}],
        ]
        for target in (coll, odd):
            for pipeline in pipelines:
                patched = list(target.aggregate(pipeline))
                query = pipeline[0]["$match"]
                copies = list(target.find(query))
                original = list(
                    mongomock.aggregate.process_pipeline(
                        copies, target.database, pipeline[1:], None
                    )
                )
                assert repr(patched) == repr(original), (tz_aware, pipeline)


def test_fast_sort_keys_order_like_bson(collection: Any) -> None:
    rng = random.Random(2)
    ids = sorted(ObjectId() for _ in range(3))
    day = datetime(2026, 1, 1, tzinfo=UTC)
    values: list[Any] = [
        None,
        True,
        False,
        -1,
        0,
        2.5,
        3,
        "",
        "a",
        "B",
        *ids,
        day,
        day.replace(day=2),
    ]
    values += [{"a": v} for v in values[:6]] + [{"a": 1, "b": ids[0]}, {"b": 1}, {}]
    for _ in range(2000):
        a, b = rng.choice(values), rng.choice(values)
        fast = filtering.BsonComparable(a) < filtering.BsonComparable(b)
        slow = bool(ORIGINAL["bson_comparable"](a) < ORIGINAL["bson_comparable"](b))
        assert fast == slow, (a, b)


def test_insert_many_refuses_duplicates_like_mongomock() -> None:
    embedded.install()
    results = []
    for patched in (True, False):
        coll = mongomock.MongoClient().db.buckets
        coll.create_index([("k", 1), ("d", 1)], unique=True)
        coll.insert_one({"k": "a", "d": 1})
        insert = coll.insert_many if patched else ORIGINAL["insert_many"].__get__(coll)
        docs = [{"k": "a", "d": 2}, {"k": "a", "d": 1}, {"k": "b", "d": 1}, {"k": "a", "d": 2}]
        with pytest.raises(BulkWriteError) as unordered:
            insert([dict(d) for d in docs], ordered=False)
        with pytest.raises(BulkWriteError) as ordered:
            insert([{"k": "c", "d": 1}, {"k": "c", "d": 1}, {"k": "d", "d": 1}])
        stored = sorted((d["k"], d["d"]) for d in coll.find({}, {"_id": 0}))
        details = [
            [(e["index"], e["code"]) for e in exc.value.details["writeErrors"]]
            for exc in (unordered, ordered)
        ]
        results.append((stored, details))
        with pytest.raises(DuplicateKeyError):
            coll.insert_one({"k": "b", "d": 1})
    assert results[0] == results[1]
    assert results[0][0] == [("a", 1), ("a", 2), ("b", 1), ("c", 1)]


def test_documents_are_stored_like_mongomock_stores_them() -> None:
    """The insert/update copy of a document (datetimes naive UTC at millisecond precision,
    tuples as lists) is mongomock's own, on a route-shaped document and odd values, except
    that a route's positions are kept as tuples; and a reader's copy of it is mongomock's own
    copy of what mongomock would have stored (lists again, nothing shared that can change)."""
    from collections import OrderedDict

    from bson import Timestamp

    moment = datetime(2024, 3, 1, 7, 0, 0, 123456, tzinfo=UTC)
    document = {
        "_id": ObjectId(),
        "geometry": {"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.86]]},
        "timestamps": [moment, moment + timedelta(seconds=1, microseconds=999)],
        "naive": datetime(2024, 3, 1, 7, 0, 0, 999999),
        "distances": [0.0, 1.5],
        "heart_rates": [None, 130],
        "mixed": [1, "a", True, None, b"x", (1, 2), [moment], {"at": moment}],
        "nested": [[1, moment], (2.5, 3)],
        "ordered": OrderedDict([("b", 1), ("a", moment)]),
        "stamp": Timestamp(5, 1),
        "empty": [],
    }
    patched = helpers.patch_datetime_awareness_in_document(document)
    original = ORIGINAL["patch_datetime"](document)
    # the positions only: stored as tuples (the garbage collector stops scanning them)
    assert patched["geometry"]["coordinates"] == [(2.35, 48.85), (2.36, 48.86)]
    assert patched["geometry"]["coordinates"] is not document["geometry"]["coordinates"]
    stored_positions = {**patched["geometry"], "coordinates": original["geometry"]["coordinates"]}
    assert repr({**patched, "geometry": stored_positions}) == repr(original)  # the same classes
    copy_field = mongomock.collection._copy_field
    read, read_original = copy_field(patched, dict), ORIGINAL["copy_field"](original, dict)
    assert repr(read) == repr(read_original)  # lists again, naive datetimes
    read["geometry"]["coordinates"][0].append(1.0)
    read["nested"][0].append(2)
    assert patched["geometry"]["coordinates"][0] == (2.35, 48.85)
    assert patched["nested"][0] == [1, moment.replace(tzinfo=None, microsecond=123000)]
    client = mongomock.MongoClient(tz_aware=True)
    stored = client.db.routes
    stored.insert_one(document)
    found = stored.find_one({"_id": document["_id"]})
    assert found["timestamps"] == [
        moment.replace(microsecond=123000),
        (moment + timedelta(seconds=1)).replace(microsecond=124000),
    ]
    assert found["geometry"]["coordinates"] == [[2.35, 48.85], [2.36, 48.86]]
    assert found["mixed"][5] == [1, 2]  # a tuple is stored and read as a list
    # positions given as tuples (an import's route document) read as lists too
    built = {"_id": ObjectId(), "coordinates": [(2.35, 48.85), [2.36, 48.86]]}
    stored.insert_one(built)
    again = stored.find_one({"_id": built["_id"]})["coordinates"]
    assert repr(again) == repr([[2.35, 48.85], [2.36, 48.86]])


def test_a_list_of_timestamps_is_stored_like_mongomock_stores_it() -> None:
    """The fast path for a route's timestamps (UTC, millisecond precision: made naive) gives
    mongomock's own copy, and other offsets or finer precision still go its way."""
    from datetime import timezone

    moment = datetime(2024, 3, 1, 7, 0, 0, 123000, tzinfo=UTC)
    lists = [
        [moment + timedelta(seconds=i) for i in range(5)],
        [moment, moment.astimezone(timezone(timedelta(hours=2))), moment.replace(microsecond=5)],
        [moment, moment.replace(tzinfo=None), moment.replace(tzinfo=timezone(timedelta(0), "Z"))],
    ]
    for timestamps in lists:
        document = {"_id": ObjectId(), "timestamps": timestamps}
        patched = helpers.patch_datetime_awareness_in_document(document)
        original = ORIGINAL["patch_datetime"](document)
        assert patched == original
        assert repr(patched) == repr(original)
        assert all(t.tzinfo is None for t in patched["timestamps"])


def test_read_cache_returns_fresh_results_through_writes_and_caller_changes() -> None:
    """Board reads are kept until the next write (READ_CACHED): a write to the collection or to
    one a `$lookup` reads gives the new result, and changing a returned row changes nothing."""
    embedded.install()
    db = mongomock.MongoClient(tz_aware=True).db
    buckets, users = db.score_buckets, db.users
    ids = [ObjectId() for _ in range(3)]
    users.insert_many([{"_id": i, "name": f"u{n}"} for n, i in enumerate(ids)])
    buckets.insert_many([{"entity_id": i, "score": 10 * (n + 1)} for n, i in enumerate(ids)])
    pipeline = [
        {"$group": {"_id": "$entity_id", "score": {"$sum": "$score"}}},
        {"$lookup": {"from": "users", "localField": "_id", "foreignField": "_id", "as": "u"}},
        {"$unwind": "$u"},
        {"$sort": {"score": -1}},
    ]

    def board() -> list[tuple[str, int]]:
        return [(row["u"]["name"], row["score"]) for row in buckets.aggregate(pipeline)]

    assert board() == [("u2", 30), ("u1", 20), ("u0", 10)]
    first = list(buckets.aggregate(pipeline))
    first[0]["score"] = 999  # the caller's copy
    first[0]["u"]["name"] = "changed"
    assert board() == [("u2", 30), ("u1", 20), ("u0", 10)]
    buckets.insert_one({"entity_id": ids[0], "score": 25})
    assert board() == [("u0", 35), ("u2", 30), ("u1", 20)]
    users.update_one({"_id": ids[0]}, {"$set": {"name": "renamed"}})  # only the $lookup's
    assert board()[0] == ("renamed", 35)
    page = users.find({}, {"name": 1}).sort("name", 1).limit(2)
    assert [u["name"] for u in page] == ["renamed", "u1"]
    assert users.count_documents({"name": {"$gte": "u"}}) == 2
    users.delete_one({"_id": ids[1]})
    assert [u["name"] for u in users.find({}, {"name": 1}).sort("name", 1).limit(2)] == [
        "renamed",
        "u2",
    ]
    assert users.count_documents({"name": {"$gte": "u"}}) == 1
    db.drop_collection("users")
    assert board() == []  # no user to look up any more: every row is unwound away
