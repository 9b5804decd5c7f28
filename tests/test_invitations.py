"""Invitations: invite, list, accept, decline, expiry, and their fate when accounts go."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
import time_machine
from beanie import PydanticObjectId

from documents import Invitation
from documents.clock import today
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Account, Api
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (a fixture)

# depends on the date or time of day: also run at awkward moments
pytestmark = pytest.mark.clock

UNKNOWN_ID = "0123456789abcdef01234567"


async def pending(client: httpx.AsyncClient, account: Account) -> list[dict]:
    r = await client.get("/users/me/invitations", headers=account.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return body["items"]


async def expire(invitation_id: str) -> None:
    """Move the invitation's expiry into the past, as 14 days of waiting would."""
    invitation = await Invitation.get(PydanticObjectId(invitation_id))
    assert invitation is not None
    await invitation.set({Invitation.expires_at: invitation.created_at - timedelta(seconds=1)})


# --- invite -------------------------------------------------------------------------------


async def test_owner_invites_a_user(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    invitee = await api.user()
    team = await api.team(owner, "Night Owls", visibility="invite")

    r = await client.post(
        f"/teams/{team['id']}/invitations", json={"user_id": invitee.id}, headers=owner.headers
    )

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["team"] == {"id": team["id"], "name": "Night Owls"}
    assert (body["user_id"], body["invited_by"], body["status"]) == (
        invitee.id,
        owner.id,
        "pending",
    )
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["expires_at"]) - created == timedelta(days=14)
    assert await pending(client, invitee) == [body]
    # an invitation is not a membership
    assert await api.members(team["id"]) == [owner.id]


async def test_only_the_owner_or_an_admin_invites(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    member = await api.user()
    invitee = await api.user()
    admin = await api.admin()
    team = await api.team(owner)
    await api.join(member, team["id"])
    url = f"/teams/{team['id']}/invitations"

    assert_problem(
        await client.post(url, json={"user_id": invitee.id}, headers=member.headers), 403
    )
    assert_problem(await client.post(url, json={"user_id": invitee.id}), 401)
    assert await pending(client, invitee) == []

    r = await client.post(url, json={"user_id": invitee.id}, headers=admin.headers)
    assert r.status_code == 201, r.text
    assert r.json()["invited_by"] == admin.id


async def test_invite_errors(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    member = await api.user()
    invitee = await api.user()
    team = await api.team(owner)
    await api.join(member, team["id"])
    url = f"/teams/{team['id']}/invitations"

    assert_problem(await client.post(url, json={"user_id": UNKNOWN_ID}, headers=owner.headers), 404)
    assert_problem(await client.post(url, json={"user_id": member.id}, headers=owner.headers), 409)
    assert_problem(await client.post(url, json={"user_id": owner.id}, headers=owner.headers), 409)
    assert_problem(
        await client.post(
            f"/teams/{UNKNOWN_ID}/invitations", json={"user_id": invitee.id}, headers=owner.headers
        ),
        404,
    )
    for payload in ({}, {"user_id": "someone"}, {"user_id": invitee.id, "role": "owner"}):
        assert_problem(await client.post(url, json=payload, headers=owner.headers), 422)
    assert await pending(client, invitee) == []
    assert await pending(client, member) == []


async def test_duplicate_pending_invitation_conflicts(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    invitee = await api.user()
    team = await api.team(owner)
    first = await api.invite(owner, team["id"], invitee)

    r = await client.post(
        f"/teams/{team['id']}/invitations", json={"user_id": invitee.id}, headers=owner.headers
    )

    assert_problem(r, 409)
    assert [i["id"] for i in await pending(client, invitee)] == [first["id"]]


# --- my invitations -----------------------------------------------------------------------


async def test_my_invitations_lists_only_my_pending_ones(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner = await api.user()
    invitee = await api.user()
    bystander = await api.user()
    teams = [await api.team(owner, name) for name in ("Alpha", "Bravo", "Charlie")]
    invitations = [await api.invite(owner, t["id"], invitee) for t in teams]
    r = await client.post(f"/invitations/{invitations[1]['id']}/decline", headers=invitee.headers)
    assert r.status_code == 200, r.text

    listed = await pending(client, invitee)

    assert [i["team"]["name"] for i in listed] == ["Charlie", "Alpha"]  # newest first
    assert await pending(client, bystander) == []
    page = (
        await client.get("/users/me/invitations", params={"limit": 1}, headers=invitee.headers)
    ).json()
    assert (page["total"], [i["team"]["name"] for i in page["items"]]) == (2, ["Charlie"])
    assert_problem(await client.get("/users/me/invitations"), 401)


# --- accept and decline -------------------------------------------------------------------


async def test_accepting_joins_an_invite_only_team(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    invitee = await api.user()
    team = await api.team(owner, "Night Owls", visibility="invite")
    invitation = await api.invite(owner, team["id"], invitee)

    r = await client.post(f"/invitations/{invitation['id']}/accept", headers=invitee.headers)

    assert r.status_code == 200, r.text
    assert r.json() == {**invitation, "status": "accepted"}
    assert await api.members(team["id"]) == [owner.id, invitee.id]
    mine = (await client.get(f"/users/{invitee.id}/teams")).json()["items"]
    assert [(t["name"], t["role"]) for t in mine] == [("Night Owls", "member")]
    assert await pending(client, invitee) == []


async def test_declining_leaves_the_user_outside(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    invitee = await api.user()
    team = await api.team(owner, visibility="invite")
    invitation = await api.invite(owner, team["id"], invitee)

    r = await client.post(f"/invitations/{invitation['id']}/decline", headers=invitee.headers)

    assert r.status_code == 200, r.text
    assert r.json()["status"] == "declined"
    assert await api.members(team["id"]) == [owner.id]
    assert await pending(client, invitee) == []
    # the owner may ask again
    again = await api.invite(owner, team["id"], invitee)
    assert [i["id"] for i in await pending(client, invitee)] == [again["id"]]


async def test_answering_twice_conflicts(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    invitee = await api.user()
    team = await api.team(owner)
    accepted = await api.invite(owner, team["id"], invitee)
    other_team = await api.team(owner)
    declined = await api.invite(owner, other_team["id"], invitee)
    assert (
        await client.post(f"/invitations/{accepted['id']}/accept", headers=invitee.headers)
    ).status_code == 200
    assert (
        await client.post(f"/invitations/{declined['id']}/decline", headers=invitee.headers)
    ).status_code == 200

    for invitation in (accepted, declined):
        for answer in ("accept", "decline"):
            r = await client.post(
                f"/invitations/{invitation['id']}/{answer}", headers=invitee.headers
            )
            assert_problem(r, 409)

    assert await api.members(team["id"]) == [owner.id, invitee.id]
    assert await api.members(other_team["id"]) == [owner.id]


async def test_someone_elses_invitation_is_404(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    invitee = await api.user()
    intruder = await api.user()
    team = await api.team(owner, visibility="invite")
    invitation = await api.invite(owner, team["id"], invitee)

    for answer in ("accept", "decline"):
        url = f"/invitations/{invitation['id']}/{answer}"
        assert_problem(await client.post(url, headers=intruder.headers), 404)
        assert_problem(await client.post(url, headers=owner.headers), 404)
        assert_problem(await client.post(url), 401)
    for bad_id in (UNKNOWN_ID, "nope"):
        assert_problem(
            await client.post(f"/invitations/{bad_id}/accept", headers=invitee.headers), 404
        )

    assert await api.members(team["id"]) == [owner.id]
    assert [i["status"] for i in await pending(client, invitee)] == ["pending"]


async def test_expired_invitation_cannot_be_answered(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    invitee = await api.user()
    team = await api.team(owner, visibility="invite")
    invitation = await api.invite(owner, team["id"], invitee)
    await expire(invitation["id"])

    assert await pending(client, invitee) == []
    for answer in ("accept", "decline"):
        r = await client.post(f"/invitations/{invitation['id']}/{answer}", headers=invitee.headers)
        assert_problem(r, 409)

    assert await api.members(team["id"]) == [owner.id]
    # an expired invitation no longer blocks a fresh one, which works
    fresh = await api.invite(owner, team["id"], invitee)
    r = await client.post(f"/invitations/{fresh['id']}/accept", headers=invitee.headers)
    assert r.status_code == 200, r.text
    assert await api.members(team["id"]) == [owner.id, invitee.id]


async def test_an_invitation_expires_14_days_after_it_is_sent(
    api: Api, client: httpx.AsyncClient, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(datetime(2030, 3, 4, 9, 0, tzinfo=UTC), tick=False)
    owner = await api.user()
    invitee = await api.user()
    team = await api.team(owner, visibility="invite")
    invitation = await api.invite(owner, team["id"], invitee)

    time_machine.shift(timedelta(days=14, seconds=-1))
    invitee.token = await api.login(invitee.email, invitee.password)  # the old token expired
    assert [i["id"] for i in await pending(client, invitee)] == [invitation["id"]]
    time_machine.shift(timedelta(seconds=1))
    assert await pending(client, invitee) == []
    r = await client.post(f"/invitations/{invitation['id']}/accept", headers=invitee.headers)
    assert_problem(r, 409)
    assert await api.members(team["id"]) == [owner.id]


async def test_invitations_to_a_team_the_user_already_joined(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner = await api.user()
    invitee = await api.user()
    team = await api.team(owner)
    invitation = await api.invite(owner, team["id"], invitee)
    await api.join(invitee, team["id"])

    r = await client.post(f"/invitations/{invitation['id']}/accept", headers=invitee.headers)

    assert r.status_code == 200, r.text
    assert await api.members(team["id"]) == [owner.id, invitee.id]


# --- teams and accounts going away --------------------------------------------------------


async def test_deleting_the_team_drops_its_invitations(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    invitee = await api.user()
    team = await api.team(owner)
    invitation = await api.invite(owner, team["id"], invitee)

    assert (await client.delete(f"/teams/{team['id']}", headers=owner.headers)).status_code == 204

    assert await pending(client, invitee) == []
    r = await client.post(f"/invitations/{invitation['id']}/accept", headers=invitee.headers)
    assert_problem(r, 404)


async def test_account_deletion_removes_invitations_to_and_from_it(
    api: Api, client: httpx.AsyncClient
) -> None:
    inviter = await api.user()
    heir = await api.user()
    invitee = await api.user()
    leaving = await api.user()
    team = await api.team(inviter, "Night Owls")
    await api.join(heir, team["id"])
    sent = await api.invite(inviter, team["id"], invitee)
    other = await api.team(heir, "Early Birds")
    received = await api.invite(heir, other["id"], leaving)

    for account in (inviter, leaving):
        assert (await client.delete("/users/me", headers=account.headers)).status_code == 204

    assert await pending(client, invitee) == []
    r = await client.post(f"/invitations/{sent['id']}/accept", headers=invitee.headers)
    assert_problem(r, 404)
    assert await Invitation.get(PydanticObjectId(received["id"])) is None
    # the team lives on under its new owner, who can invite again
    again = await api.invite(heir, team["id"], invitee)
    assert again["invited_by"] == heir.id


# --- anti-spam cap: invitations sent a day ----------------------------------------------------


async def invite(client: httpx.AsyncClient, owner: Account, team: dict, invitee: Account):
    return await client.post(
        f"/teams/{team['id']}/invitations", json={"user_id": invitee.id}, headers=owner.headers
    )


def at(day_offset: int, moment: time) -> datetime:
    return datetime.combine(today() + timedelta(days=day_offset), moment, UTC)


async def test_invitations_sent_a_day_are_capped() -> None:
    # noon: the test cannot cross a midnight, whenever it runs
    with time_machine.travel(at(0, time(12)), tick=True):
        await _invitations_sent_a_day_are_capped()


async def _invitations_sent_a_day_are_capped() -> None:
    async with serve(make_settings(max_invitations_per_day=2)) as client:
        api = Api(client)
        owner = await api.user()
        team = await api.team(owner)
        first, second, third = [await api.user() for _ in range(3)]
        await api.invite(owner, team["id"], first)
        assert_problem(await invite(client, owner, team, first), 409)  # refused: not counted
        await api.invite(owner, team["id"], second)

        r = await invite(client, owner, team, third)
        body = assert_problem(r, 429)
        assert "invitations" in str(body["detail"])
        assert 43000 < int(r.headers["Retry-After"]) <= 43200  # until midnight UTC
        assert await pending(client, third) == []
        # a new team does not start a new count (deleting a team takes its invitations along)
        await client.delete(f"/teams/{team['id']}", headers=owner.headers)
        fresh_team = await api.team(owner)
        assert_problem(await invite(client, owner, fresh_team, third), 429)
        # others are not affected, and admins are exempt
        other = await api.user()
        await api.invite(other, (await api.team(other))["id"], third)
        admin = await api.admin()
        admins_team = await api.team(admin)
        for invitee in (first, second, third):
            await api.invite(admin, admins_team["id"], invitee)

        # the count starts again on the next UTC day
        with time_machine.travel(at(1, time(0, 0, 30)), tick=True):
            owner.token = await api.login(owner.email, owner.password)
            assert (await invite(client, owner, fresh_team, third)).status_code == 201


@pytest.mark.usefixtures("yielding_database")
async def test_parallel_invitations_never_pass_the_cap() -> None:
    async with serve(make_settings(max_invitations_per_day=3)) as client:
        api = Api(client)
        owner = await api.user()
        team = await api.team(owner)
        invitees = [await api.user() for _ in range(7)]
        responses = await asyncio.gather(*(invite(client, owner, team, i) for i in invitees))
        assert sorted(r.status_code for r in responses) == [201] * 3 + [429] * 4
        invited = [i for i, r in zip(invitees, responses, strict=True) if r.status_code == 201]
        for account in invitees:
            assert len(await pending(client, account)) == (account in invited)


@pytest.mark.usefixtures("yielding_database")
async def test_parallel_invitations_of_one_user_leave_one_pending(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner = await api.user()
    team = await api.team(owner)
    for _ in range(5):  # each round interleaves differently
        invitee = await api.user()
        responses = await asyncio.gather(*(invite(client, owner, team, invitee) for _ in range(6)))
        assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
        invited = [r.json()["id"] for r in responses if r.status_code == 201]
        assert len(invited) <= 1
        assert [i["id"] for i in await pending(client, invitee)] == invited
