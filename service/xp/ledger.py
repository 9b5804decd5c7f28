"""The XP ledger: credit, re-credit and withdraw one source's XP, and keep `users.xp` in step.

Every change of an entry is one atomic write that reports the amount it replaced (insert, or
find-and-modify returning the entry before), and the user's `xp` moves by exactly the
difference with `$inc`: concurrent changes of one source, or of many sources of one user, sum
up exactly. `users.level` follows `xp` through a write conditional on the `xp` it was computed
from, so the last change always leaves the level of the final `xp`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from documents import Run, User, Workout, XpEntry
from documents.clock import utcnow
from documents.xp import XpKind
from service import events
from service.pagination import Fetched, PageParams, fetch_page
from service.queries import QueryShape
from service.xp.formulas import FORMULA_VERSION, level_for, run_xp, workout_xp

log = logging.getLogger("service.xp")

# a user's ledger page, newest source first (service.queries: checked against the indexes)
LEDGER = QueryShape(
    "xp_ledger", XpEntry, equality=("user_id",), sort=(("at", -1),), index="user_at"
)


def entry_id(kind: XpKind, *parts: object) -> str:
    """The natural key of a source: "run:<id>", "badge:<user>:<badge>", ..."""
    return ":".join([kind, *(str(p) for p in parts)])


async def _credit(
    *, user_id: PydanticObjectId, delta: int, kind: XpKind, source_id: str, at: datetime
) -> None:
    users = User.get_motor_collection()
    after = await users.find_one_and_update(
        {"_id": user_id},
        {"$inc": {"xp": delta}},
        projection={"xp": 1, "level": 1},
        return_document=ReturnDocument.AFTER,
    )
    if after is None:  # the user is being deleted: their entries go with them
        return
    xp = int(after["xp"])
    level = level_for(xp)
    if after.get("level") != level:
        await users.update_one({"_id": user_id, "xp": xp}, {"$set": {"level": level}})
    await events.xp_changed.emit(
        user_id=user_id, delta=delta, xp=xp, level=level, kind=kind, source_id=source_id, at=at
    )


async def set_entry(
    *, user_id: PydanticObjectId, kind: XpKind, key: str, source_id: str, amount: int, at: datetime
) -> None:
    """Make the entry `key` worth `amount` (0 removes it) and move the user's XP by the change."""
    if amount <= 0:
        await remove_entry(key)
        return
    entries = XpEntry.get_motor_collection()
    now = utcnow()
    while True:
        try:
            await entries.insert_one(
                {
                    "_id": key,
                    "user_id": user_id,
                    "kind": kind,
                    "source_id": source_id,
                    "amount": amount,
                    "at": at,
                    "formula_version": FORMULA_VERSION,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            before = 0
            break
        except DuplicateKeyError:
            previous = await entries.find_one_and_update(
                {"_id": key},
                {"$set": {"amount": amount, "at": at, "updated_at": now}},
                projection={"amount": 1},
                return_document=ReturnDocument.BEFORE,
            )
            if previous is not None:
                before = int(previous["amount"])
                break
            # removed between the two writes: insert again
    if amount != before:
        await _credit(user_id=user_id, delta=amount - before, kind=kind, source_id=source_id, at=at)


async def remove_entry(key: str) -> None:
    """Withdraw an entry (if it exists) and its XP."""
    removed = await XpEntry.get_motor_collection().find_one_and_delete({"_id": key})
    if removed is not None and removed["amount"]:
        await _credit(
            user_id=removed["user_id"],
            delta=-int(removed["amount"]),
            kind=removed["kind"],
            source_id=removed["source_id"],
            at=removed["at"],
        )


async def entry(key: str) -> dict[str, Any] | None:
    return await XpEntry.get_motor_collection().find_one({"_id": key})


async def ledger(*, user: User, page: PageParams) -> Fetched[XpEntry]:
    """A user's entries, newest source first (index `user_at`)."""
    return await fetch_page(LEDGER, {"user_id": user.id}, page)


# --- hooks: runs and workouts earn XP --------------------------------------------------------


async def _run_recorded(*, run: Run, **_: Any) -> None:
    await set_entry(
        user_id=run.user_id,
        kind="run",
        key=entry_id("run", run.id),
        source_id=str(run.id),
        amount=run_xp(run.duration_s),
        at=run.started_at,
    )


async def _run_changed(*, before: Run, after: Run) -> None:
    await _run_recorded(run=after)


async def _run_deleted(*, run: Run) -> None:
    await remove_entry(entry_id("run", run.id))


def workout_amount(workout: Workout) -> int:
    return workout_xp(
        sets=workout.sets_count, volume_kg=workout.volume_kg, duration_s=workout.duration_s
    )


async def _workout_recorded(*, workout: Workout, **_: Any) -> None:
    await set_entry(
        user_id=workout.user_id,
        kind="workout",
        key=entry_id("workout", workout.id),
        source_id=str(workout.id),
        amount=workout_amount(workout),
        at=workout.started_at,
    )


async def _workout_changed(*, before: Workout, after: Workout) -> None:
    await _workout_recorded(workout=after)


async def _workout_deleted(*, workout: Workout) -> None:
    await remove_entry(entry_id("workout", workout.id))


async def add_many(
    *, kind: XpKind, entries: Sequence[tuple[PydanticObjectId, str, str, int, datetime]]
) -> None:
    """Credit many new entries at once (a bulk award: badges of a later badge's job, a
    rebuild, the demo): `(user_id, key, source_id, amount, at)` each. One insert_many, then
    one $inc and one `xp_changed` per user for the sum of the entries it inserted; an entry
    that already exists goes through `set_entry` (made worth `amount`)."""
    rows = [e for e in entries if e[3] > 0]
    if not rows:
        return
    now = utcnow()
    documents = [
        {
            "_id": key,
            "user_id": user_id,
            "kind": kind,
            "source_id": source_id,
            "amount": amount,
            "at": at,
            "formula_version": FORMULA_VERSION,
            "created_at": now,
            "updated_at": now,
        }
        for user_id, key, source_id, amount, at in rows
    ]
    existing: set[int] = set()
    try:
        await XpEntry.get_motor_collection().insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        errors = (exc.details or {}).get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        existing = {int(e["index"]) for e in errors}
    sums: dict[PydanticObjectId, tuple[int, str, datetime]] = {}
    for index, (user_id, _, source_id, amount, at) in enumerate(rows):
        if index in existing:
            continue
        total = sums.get(user_id, (0, source_id, at))[0] + amount
        sums[user_id] = (total, source_id, at)
    for user_id, (delta, source_id, at) in sums.items():
        await _credit(user_id=user_id, delta=delta, kind=kind, source_id=source_id, at=at)
    for index in sorted(existing):
        user_id, key, source_id, amount, at = rows[index]
        await set_entry(
            user_id=user_id, kind=kind, key=key, source_id=source_id, amount=amount, at=at
        )


async def remove_many(user_id: PydanticObjectId, keys: Iterable[str]) -> None:
    """Withdraw many entries of one user at once (a batch deletion): one delete, one $inc."""
    keys = list(keys)
    entries = XpEntry.get_motor_collection()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        total = 0
        async for doc in entries.find({"_id": {"$in": chunk}}, {"amount": 1}):
            total += int(doc["amount"])
        result = await entries.delete_many({"_id": {"$in": chunk}})
        if result.deleted_count and total:
            users = User.get_motor_collection()
            after = await users.find_one_and_update(
                {"_id": user_id}, {"$inc": {"xp": -total}}, return_document=ReturnDocument.AFTER
            )
            if after is not None:
                await users.update_one(
                    {"_id": user_id, "xp": after["xp"]},
                    {"$set": {"level": level_for(int(after["xp"]))}},
                )


async def _runs_deleted(*, user: User, runs: Sequence[Run]) -> None:
    await remove_many(user.id, (entry_id("run", r.id) for r in runs))  # type: ignore[arg-type]


async def _workouts_deleted(*, user: User, workouts: Sequence[Workout]) -> None:
    await remove_many(user.id, (entry_id("workout", w.id) for w in workouts))  # type: ignore[arg-type]


async def _user_deleted(*, user: User) -> None:
    await XpEntry.get_motor_collection().delete_many({"user_id": user.id})


events.run_recorded.connect(_run_recorded)
events.run_changed.connect(_run_changed)
events.run_deleted.connect(_run_deleted)
events.runs_deleted.connect(_runs_deleted)
events.workout_recorded.connect(_workout_recorded)
events.workout_changed.connect(_workout_changed)
events.workout_deleted.connect(_workout_deleted)
events.workouts_deleted.connect(_workouts_deleted)
events.user_deleted.connect(_user_deleted)
