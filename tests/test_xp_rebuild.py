"""The XP rebuild finds every kind of drift between the ledger, its sources and the users, and
repairs exactly that; the demo data comes with its XP (the demo inserts runs without hooks)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from beanie import PydanticObjectId

from documents import Badge, User, XpEntry
from service.demo import load_demo
from service.settings import Settings
from service.xp import rebuild
from service.xp.formulas import level_for
from tests.factories import Api


async def test_rebuild_reports_and_repairs_drift(api: Api, client: httpx.AsyncClient) -> None:
    await Badge.get_motor_collection().delete_many({})  # run XP alone
    runner = await api.user(city="Paris")
    runs = []
    for day in range(1, 5):
        body = {"started_at": f"2024-05-0{day}T07:00:00Z", "distance_km": 5.0, "duration_s": 1800}
        r = await client.post("/runs", json=body, headers=runner.headers)
        assert r.status_code == 201, r.text
        runs.append(r.json()["id"])
    assert (await rebuild.rebuild(repair=False)).clean

    entries = XpEntry.get_motor_collection()
    await entries.update_one({"_id": f"run:{runs[0]}"}, {"$set": {"amount": 7}})  # wrong
    await entries.delete_one({"_id": f"run:{runs[1]}"})  # missing
    ghost = PydanticObjectId()
    await entries.insert_one(  # orphan: its run never existed
        {
            "_id": f"run:{ghost}",
            "user_id": PydanticObjectId(runner.id),
            "kind": "run",
            "source_id": str(ghost),
            "amount": 40,
            "at": datetime(2024, 5, 9, tzinfo=UTC),
            "formula_version": 1,
            "created_at": datetime(2024, 5, 9, tzinfo=UTC),
            "updated_at": datetime(2024, 5, 9, tzinfo=UTC),
        }
    )
    drift = await rebuild.rebuild(repair=False)
    # the user's xp no longer equals the tampered ledger either
    assert drift.counts() == {"missing": 1, "wrong": 1, "orphans": 1, "users": 1}
    assert not drift.clean

    repaired = await rebuild.rebuild(repair=True)
    # users are compared with the ledger as repaired: this one's xp was right all along
    assert repaired.counts() == {**drift.counts(), "users": 0}
    assert (await rebuild.rebuild(repair=False)).clean
    user = await User.get(PydanticObjectId(runner.id))
    assert user is not None
    assert (user.xp, user.level) == (4 * 150, 1)

    await User.get_motor_collection().update_one({"_id": user.id}, {"$set": {"xp": 99_999}})
    assert (await rebuild.rebuild(repair=False)).counts()["users"] == 1
    await rebuild.rebuild(repair=True)
    user = await User.get(PydanticObjectId(runner.id))
    assert user is not None
    assert (user.xp, user.level) == (600, level_for(600))


@pytest.mark.slow  # minutes through the wire server: started first
async def test_demo_users_have_their_xp(client: httpx.AsyncClient, settings: Settings) -> None:
    summary = await load_demo(settings=settings, size="embedded")
    assert summary["xp_entries_added"] > 1000
    assert (await rebuild.rebuild(repair=False)).clean
    demo = await User.find_one(User.email == "runner001@demo.challenge.run")
    assert demo is not None
    assert demo.xp > 0
    assert demo.level == level_for(demo.xp)
