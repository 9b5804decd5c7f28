"""Recompute the run and workout entries of the XP ledger from their sources, and every user's
`xp` and `level` from the ledger; or only report what differs (`repair=False`).

Entries of badges, challenges and goals come from their own features' rebuilds; the users'
totals here include them (the ledger is the truth): users are compared with the ledger as
stored, or as repaired when repairing. Reads go in bounded batches by `_id`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo import DeleteOne, ReplaceOne, UpdateOne

from documents import Run, User, Workout, XpEntry
from documents.clock import utcnow
from service.xp.formulas import FORMULA_VERSION, level_for, run_xp, workout_xp
from service.xp.ledger import entry_id

BATCH = 1000


@dataclass
class XpDrift:
    missing: int = 0  # a source earns XP but has no entry
    wrong: int = 0  # an entry's amount, owner or time differs from its source's
    orphans: int = 0  # an entry whose run or workout is gone (or earns nothing now)
    users: int = 0  # users whose xp or level is not the ledger's
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.wrong or self.orphans or self.users)

    def note(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(text)

    def counts(self) -> dict[str, int]:
        return {
            "missing": self.missing,
            "wrong": self.wrong,
            "orphans": self.orphans,
            "users": self.users,
        }


async def _batches(
    collection: Any, projection: Mapping[str, int], query: Mapping[str, Any] | None = None
) -> AsyncIterator[list[dict[str, Any]]]:
    last = None
    while True:
        criteria = dict(query or {})
        if last is not None:
            criteria["_id"] = {"$gt": last}
        rows = await collection.find(criteria, projection).sort("_id", 1).limit(BATCH).to_list(None)
        if not rows:
            return
        yield rows
        last = rows[-1]["_id"]


def _expected_run(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": entry_id("run", row["_id"]),
        "user_id": row["user_id"],
        "kind": "run",
        "source_id": str(row["_id"]),
        "amount": run_xp(int(row["duration_s"])),
        "at": row["started_at"],
    }


def _expected_workout(row: dict[str, Any]) -> dict[str, Any]:
    amount = workout_xp(
        sets=int(row["sets_count"]),
        volume_kg=float(row["volume_kg"]),
        duration_s=int(row["duration_s"]),
    )
    return {
        "_id": entry_id("workout", row["_id"]),
        "user_id": row["user_id"],
        "kind": "workout",
        "source_id": str(row["_id"]),
        "amount": amount,
        "at": row["started_at"],
    }


def _same(stored: dict[str, Any], expected: dict[str, Any]) -> bool:
    return all(stored.get(k) == expected[k] for k in ("user_id", "amount")) and (
        stored["at"].replace(tzinfo=None) == expected["at"].replace(tzinfo=None)
    )


async def _sources(drift: XpDrift, *, repair: bool) -> None:
    entries = XpEntry.get_motor_collection()
    sources = (
        (Run, {"user_id": 1, "duration_s": 1, "started_at": 1}, _expected_run),
        (
            Workout,
            {"user_id": 1, "duration_s": 1, "started_at": 1, "sets_count": 1, "volume_kg": 1},
            _expected_workout,
        ),
    )
    for document, projection, expected_of in sources:
        async for rows in _batches(document.get_motor_collection(), projection):
            expected = {e["_id"]: e for e in map(expected_of, rows)}
            stored = {s["_id"]: s async for s in entries.find({"_id": {"$in": list(expected)}})}
            writes: list[Any] = []
            now = utcnow()
            for key, want in expected.items():
                have = stored.get(key)
                if want["amount"] <= 0:
                    if have is not None:
                        drift.orphans += 1
                        drift.note(f"{key}: stored {have['amount']}, earns nothing")
                        writes.append(DeleteOne({"_id": key}))
                    continue
                if have is None:
                    drift.missing += 1
                    drift.note(f"{key}: missing ({want['amount']} XP)")
                elif not _same(have, want):
                    drift.wrong += 1
                    drift.note(f"{key}: stored {have['amount']}, source says {want['amount']}")
                else:
                    continue
                created = have["created_at"] if have else now
                writes.append(
                    ReplaceOne(
                        {"_id": key},
                        {
                            **want,
                            "formula_version": FORMULA_VERSION,
                            "created_at": created,
                            "updated_at": now,
                        },
                        upsert=True,
                    )
                )
            if repair and writes:
                await entries.bulk_write(writes, ordered=False)
    # entries whose source is gone
    for kind, document in (("run", Run), ("workout", Workout)):
        async for rows in _batches(entries, {"source_id": 1}, {"kind": kind}):
            ids = [r["_id"] for r in rows]
            source_ids = {
                str(s["_id"])
                async for s in document.get_motor_collection().find(
                    {"_id": {"$in": [_oid(r["source_id"]) for r in rows]}}, {"_id": 1}
                )
            }
            gone = [i for i, r in zip(ids, rows, strict=True) if r["source_id"] not in source_ids]
            drift.orphans += len(gone)
            for key in gone:
                drift.note(f"{key}: its {kind} is gone")
            if repair and gone:
                await entries.delete_many({"_id": {"$in": gone}})


def _oid(value: str) -> Any:
    from bson import ObjectId

    return ObjectId(value)


async def _users(drift: XpDrift, *, repair: bool) -> None:
    entries = XpEntry.get_motor_collection()
    async for rows in _batches(User.get_motor_collection(), {"xp": 1, "level": 1}):
        ids = [r["_id"] for r in rows]
        sums = {
            s["_id"]: int(s["xp"])
            async for s in entries.aggregate(
                [
                    {"$match": {"user_id": {"$in": ids}}},
                    {"$group": {"_id": "$user_id", "xp": {"$sum": "$amount"}}},
                    {"$sort": {"_id": 1}},
                ]
            )
        }
        writes = []
        for row in rows:
            xp = sums.get(row["_id"], 0)
            if row.get("xp") != xp or row.get("level") != level_for(xp):
                drift.users += 1
                drift.note(f"user {row['_id']}: xp {row.get('xp')}, ledger says {xp}")
                writes.append(
                    UpdateOne({"_id": row["_id"]}, {"$set": {"xp": xp, "level": level_for(xp)}})
                )
        if repair and writes:
            await User.get_motor_collection().bulk_write(writes, ordered=False)


async def rebuild(*, repair: bool) -> XpDrift:
    """Compare (and with `repair`, fix) the ledger against the sources and users against it."""
    drift = XpDrift()
    await _sources(drift, repair=repair)
    await _users(drift, repair=repair)
    return drift
