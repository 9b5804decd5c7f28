"""Fans follow athletes: one follows collection, counts kept in step, idempotent PUT/DELETE."""

from __future__ import annotations

import httpx

from tests.conftest import assert_problem
from tests.factories import Account, Api


async def followers_count(client: httpx.AsyncClient, athlete: Account) -> int:
    r = await client.get(f"/athletes/{athlete.id}")
    assert r.status_code == 200, r.text
    return r.json()["followers"]


async def following_ids(client: httpx.AsyncClient, fan: Account, **params: int) -> list[str]:
    r = await client.get("/users/me/following", headers=fan.headers, params=params)
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["items"]]


async def test_follow_is_idempotent_and_counted_once(client: httpx.AsyncClient, api: Api) -> None:
    star = await api.athlete()
    fan = await api.user()
    for _ in range(2):
        r = await client.put(f"/users/me/following/{star.id}", headers=fan.headers)
        assert r.status_code == 204
        assert r.content == b""
    assert await followers_count(client, star) == 1
    assert await following_ids(client, fan) == [star.id]


async def test_unfollow_is_idempotent_and_never_goes_below_zero(
    client: httpx.AsyncClient, api: Api
) -> None:
    star = await api.athlete()
    fan = await api.user()
    other_fan = await api.user()
    await api.follow(fan, star)
    await api.follow(other_fan, star)
    for _ in range(2):
        r = await client.delete(f"/users/me/following/{star.id}", headers=fan.headers)
        assert r.status_code == 204
    assert await followers_count(client, star) == 1
    assert await following_ids(client, fan) == []
    assert await following_ids(client, other_fan) == [star.id]
    # never followed: still 204, nothing changes
    stranger = await api.user()
    r = await client.delete(f"/users/me/following/{star.id}", headers=stranger.headers)
    assert r.status_code == 204
    assert await followers_count(client, star) == 1


async def test_following_yourself_is_422(client: httpx.AsyncClient, api: Api) -> None:
    star = await api.athlete()
    r = await client.put(f"/users/me/following/{star.id}", headers=star.headers)
    assert "yourself" in str(assert_problem(r, 422)["detail"])
    assert await followers_count(client, star) == 0
    # even a user who is not an athlete gets the 422, not a 404
    fan = await api.user()
    assert_problem(await client.put(f"/users/me/following/{fan.id}", headers=fan.headers), 422)


async def test_only_athletes_can_be_followed(client: httpx.AsyncClient, api: Api) -> None:
    fan = await api.user()
    not_an_athlete = await api.user()
    for target in (not_an_athlete.id, "0123456789abcdef01234567", "nope"):
        r = await client.put(f"/users/me/following/{target}", headers=fan.headers)
        assert_problem(r, 404)
    assert await following_ids(client, fan) == []
    assert_problem(await client.delete("/users/me/following/nope", headers=fan.headers), 404)


async def test_follow_routes_need_a_token(client: httpx.AsyncClient, api: Api) -> None:
    star = await api.athlete()
    assert_problem(await client.put(f"/users/me/following/{star.id}"), 401)
    assert_problem(await client.delete(f"/users/me/following/{star.id}"), 401)
    assert_problem(await client.get("/users/me/following"), 401)
    assert await followers_count(client, star) == 0


async def test_following_lists_athletes_most_recent_first(
    client: httpx.AsyncClient, api: Api
) -> None:
    fan = await api.user()
    stars = [await api.athlete(await api.user(f"Star {i}")) for i in range(5)]
    for star in stars:
        await api.follow(fan, star)
    await api.follow(await api.user(), stars[0])

    r = await client.get("/users/me/following", headers=fan.headers)
    page = r.json()
    assert [a["id"] for a in page["items"]] == [s.id for s in reversed(stars)]
    assert page["total"] == 5
    first = page["items"][-1]
    assert first["name"] == "Star 0"
    assert first["followers"] == 2
    assert first["disciplines"] == ["100m"]
    assert "followed_at" in first
    assert await following_ids(client, fan, limit=2, offset=1) == [stars[3].id, stars[2].id]


async def test_followers_are_public_profiles_most_recent_first(
    client: httpx.AsyncClient, api: Api
) -> None:
    star = await api.athlete()
    fans = [await api.user(f"Fan {i}") for i in range(4)]
    for fan in fans:
        await api.follow(fan, star)
    r = await client.get(f"/athletes/{star.id}/followers")  # no token needed
    assert r.status_code == 200
    page = r.json()
    assert [u["name"] for u in page["items"]] == ["Fan 3", "Fan 2", "Fan 1", "Fan 0"]
    assert page["total"] == 4
    assert all("email" not in u and "role" not in u for u in page["items"])
    r = await client.get(f"/athletes/{star.id}/followers", params={"limit": 1, "offset": 3})
    assert [u["name"] for u in r.json()["items"]] == ["Fan 0"]
    assert_problem(await client.get("/athletes/0123456789abcdef01234567/followers"), 404)


async def test_a_deleted_fan_stops_counting(client: httpx.AsyncClient, api: Api) -> None:
    stars = [await api.athlete() for _ in range(3)]
    fan = await api.user()
    loyal = await api.user()
    for star in stars:
        await api.follow(fan, star)
    await api.follow(loyal, stars[1])
    assert [await followers_count(client, s) for s in stars] == [1, 2, 1]

    assert (await client.delete("/users/me", headers=fan.headers)).status_code == 204
    assert [await followers_count(client, s) for s in stars] == [0, 1, 0]
    followers = (await client.get(f"/athletes/{stars[1].id}/followers")).json()
    assert [u["id"] for u in followers["items"]] == [loyal.id]


async def test_an_admin_deleting_a_star_clears_fans_lists(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    star = await api.athlete()
    fan = await api.user()
    await api.follow(fan, star)
    assert (await client.delete(f"/users/{star.id}", headers=admin.headers)).status_code == 204
    assert await following_ids(client, fan) == []
    assert (await client.get("/users/me/following", headers=fan.headers)).json()["total"] == 0
