"""My account (/users/me) and public profiles, search and lookups."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import assert_problem
from tests.factories import Account, Api

PUBLIC_KEYS = {"id", "name", "city", "bio", "xp", "level", "created_at"}


async def me(client: httpx.AsyncClient, account: Account) -> httpx.Response:
    return await client.get("/users/me", headers=account.headers)


async def patch_me(client: httpx.AsyncClient, account: Account, **changes: Any) -> httpx.Response:
    return await client.patch("/users/me", json=changes, headers=account.headers)


async def can_login(client: httpx.AsyncClient, email: str, password: str) -> bool:
    r = await client.post("/auth/login", json={"email": email, "password": password})
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


# --- /users/me ------------------------------------------------------------------------------


async def test_me_is_the_owner_view(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user("Mia Miles", city="Lisbon")
    r = await me(client, user)
    assert r.status_code == 200
    body = r.json()
    assert body == user.body
    assert body["email"] == user.email
    assert body["role"] == "user"
    assert body["city"] == "Lisbon"


async def test_the_registration_answer_matches_later_reads(
    api: Api, client: httpx.AsyncClient
) -> None:
    user = await api.user("No City")  # no city: nothing rewrites the user after the insert
    assert (await me(client, user)).json() == user.body
    public = (await client.get(f"/users/{user.id}")).json()
    assert public["created_at"] == user.body["created_at"]


async def test_me_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/users/me"), 401)
    assert_problem(await client.patch("/users/me", json={"bio": "hi"}), 401)
    assert_problem(await client.delete("/users/me"), 401)


async def test_patch_me_changes_profile_fields(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user("Old Name")
    r = await patch_me(
        client,
        user,
        name="New  Name",
        email="New@Example.com",
        current_password=user.password,
        city="Porto",
        bio="  Hills!  ",
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "New Name"
    assert body["email"] == "new@example.com"
    assert body["city"] == "Porto"
    assert body["bio"] == "Hills!"
    assert (await me(client, user)).json() == body
    # the new email and name log in; the old email no longer does
    assert await can_login(client, "new@example.com", user.password)
    assert await can_login(client, "new name", user.password)
    assert not await can_login(client, user.email, user.password)
    # the old name is free again
    assert (await client.get("/users/by-name/Old Name")).status_code == 404


async def test_patch_me_leaves_unsent_fields_alone(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user("Keep Me", city="Oslo")
    await patch_me(client, user, bio="first")
    r = await patch_me(client, user, bio="second")
    body = r.json()
    assert (body["name"], body["city"], body["bio"]) == ("Keep Me", "Oslo", "second")


async def test_patch_me_can_change_own_name_case(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user("casey jones")
    r = await patch_me(client, user, name="Casey Jones")
    assert r.status_code == 200
    assert r.json()["name"] == "Casey Jones"


async def test_patch_me_respects_name_uniqueness(api: Api, client: httpx.AsyncClient) -> None:
    await api.user("Taken Name")
    user = await api.user("Free Name")
    assert_problem(await patch_me(client, user, name="TAKEN name"), 409)
    assert (await me(client, user)).json()["name"] == "Free Name"


async def test_patch_me_respects_email_uniqueness(api: Api, client: httpx.AsyncClient) -> None:
    other = await api.user()
    user = await api.user()
    r = await patch_me(client, user, email=other.email.upper(), current_password=user.password)
    assert_problem(r, 409)
    assert (await me(client, user)).json()["email"] == user.email


async def test_new_email_needs_current_password(api: Api, client: httpx.AsyncClient) -> None:
    """A stolen token alone must not move the account to the thief's address."""
    user = await api.user()
    body = assert_problem(await patch_me(client, user, email="thief@example.com", bio="x"), 422)
    assert "current_password" in str(body["detail"])
    assert [e["loc"] for e in body["errors"]] == [["body", "current_password"]]  # type: ignore[union-attr]
    after = (await me(client, user)).json()
    assert (after["email"], after["bio"]) == (user.email, None)
    assert not await can_login(client, "thief@example.com", user.password)


async def test_new_email_with_a_wrong_current_password_is_403(
    api: Api, client: httpx.AsyncClient
) -> None:
    user = await api.user()
    r = await patch_me(client, user, email="thief@example.com", current_password="not-it-at-all")
    assert_problem(r, 403)
    assert (await me(client, user)).json()["email"] == user.email


async def test_a_taken_email_is_not_revealed_without_the_password(
    api: Api, client: httpx.AsyncClient
) -> None:
    """Without current_password nobody learns whether an address has an account (no 409)."""
    other = await api.user()
    user = await api.user()
    assert_problem(await patch_me(client, user, email=other.email), 422)
    r = await patch_me(client, user, email=other.email, current_password="not-it-at-all")
    assert_problem(r, 403)


async def test_guessing_current_password_for_an_email_change_is_locked_out(
    api: Api, client: httpx.AsyncClient
) -> None:
    user = await api.user(password="old-password")
    for _ in range(5):
        r = await patch_me(client, user, email="new@example.com", current_password="guess-guess")
        assert_problem(r, 403)
    r = await patch_me(client, user, email="new@example.com", current_password="old-password")
    assert_problem(r, 429)
    assert (await me(client, user)).json()["email"] == user.email


async def test_the_same_email_needs_no_password(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user()
    r = await patch_me(client, user, email=user.email.upper(), bio="same address")
    assert r.status_code == 200, r.text
    assert (r.json()["email"], r.json()["bio"]) == (user.email, "same address")


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "X"},
        {"email": "nope"},
        {"bio": "b" * 501},
        {"city": "!!!"},
        {"city": ""},
        {"password": "short", "current_password": "password123"},
        {"role": "admin"},
        {"xp": 5000},
        {"level": 10},
        {"id": "0123456789abcdef01234567"},
        {"token_version": 7},
    ],
)
async def test_patch_me_rejects_bad_or_unknown_fields(
    api: Api, client: httpx.AsyncClient, changes: dict[str, Any]
) -> None:
    user = await api.user()
    before = (await me(client, user)).json()
    body = assert_problem(await patch_me(client, user, **changes), 422)
    [field] = [k for k in changes if k != "current_password"]
    assert ["body", field] in [e["loc"] for e in body["errors"]]  # type: ignore[union-attr]
    assert (await me(client, user)).json() == before


async def test_a_rejected_change_changes_nothing(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user("Before Name", city="Oslo")
    r = await patch_me(client, user, name="After Name", bio="new bio", city="???")
    body = assert_problem(r, 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "city"]]  # type: ignore[union-attr]
    now = (await me(client, user)).json()
    assert (now["name"], now["bio"], now["city"]) == ("Before Name", None, "Oslo")


async def test_new_password_needs_current_password(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user(password="old-password")
    body = assert_problem(await patch_me(client, user, password="new-password", bio="x"), 422)
    assert "current_password" in str(body["detail"])
    assert [e["loc"] for e in body["errors"]] == [["body", "current_password"]]  # type: ignore[union-attr]
    assert await can_login(client, user.email, "old-password")
    assert (await me(client, user)).json()["bio"] is None


async def test_wrong_current_password_is_403(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user(password="old-password")
    r = await patch_me(client, user, password="new-password", current_password="not-it-at-all")
    assert_problem(r, 403)
    assert await can_login(client, user.email, "old-password")
    assert not await can_login(client, user.email, "new-password")
    assert (await me(client, user)).status_code == 200


async def test_guessing_current_password_is_locked_out_like_logins(
    api: Api, client: httpx.AsyncClient
) -> None:
    """A stolen token must not allow unlimited guesses at the password behind it."""
    user = await api.user(password="old-password")
    for _ in range(5):
        r = await patch_me(client, user, password="new-password", current_password="guess-guess")
        assert_problem(r, 403)
    r = await patch_me(client, user, password="new-password", current_password="old-password")
    assert_problem(r, 429)
    assert int(r.headers["Retry-After"]) > 0
    # the same lockout guards the login: both are guesses at one password
    login = await client.post("/auth/login", json={"email": user.email, "password": "old-password"})
    assert_problem(login, 429)
    assert (await me(client, user)).status_code == 200  # the session itself still works


async def test_a_right_current_password_clears_earlier_misses(
    api: Api, client: httpx.AsyncClient
) -> None:
    user = await api.user(password="old-password")
    for _ in range(4):
        r = await patch_me(client, user, password="new-password", current_password="guess-guess")
        assert_problem(r, 403)
    r = await patch_me(client, user, password="new-password", current_password="old-password")
    assert r.status_code == 200
    for _ in range(4):
        assert not await can_login(client, user.email, "wrong-password")
    assert await can_login(client, user.email, "new-password")


async def test_current_password_alone_is_422(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user(password="old-password")
    r = await patch_me(client, user, current_password="old-password")
    body = assert_problem(r, 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "current_password"]]  # type: ignore[union-attr]


async def test_password_change_logs_out_old_tokens(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user(password="old-password")
    second_session = await api.login(user.email, "old-password")
    r = await patch_me(client, user, password="new-password", current_password="old-password")
    assert r.status_code == 200
    assert_problem(await me(client, user), 401)
    stale = await client.get("/users/me", headers={"Authorization": f"Bearer {second_session}"})
    assert_problem(stale, 401)
    assert not await can_login(client, user.email, "old-password")
    fresh = await api.login(user.email, "new-password")
    assert (await client.get("/users/me", headers={"Authorization": f"Bearer {fresh}"})).json()[
        "id"
    ] == user.id


async def test_delete_me(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user("Gone Soon")
    other = await api.user()
    r = await client.delete("/users/me", headers=user.headers)
    assert r.status_code == 204
    assert r.content == b""
    assert_problem(await me(client, user), 401)
    assert not await can_login(client, user.email, user.password)
    assert_problem(await client.get(f"/users/{user.id}"), 404)
    assert (await client.get("/users")).json()["total"] == 1
    assert (await me(client, other)).status_code == 200
    # name and email can be registered again
    again = await client.post(
        "/auth/register",
        json={"name": "gone soon", "email": user.email, "password": "password123"},
    )
    assert again.status_code == 201


# --- public profiles ------------------------------------------------------------------------


async def test_public_profile_by_id_hides_email_and_role(
    api: Api, client: httpx.AsyncClient
) -> None:
    user = await api.user("Pat Public", city="Rome")
    await patch_me(client, user, bio="I run")
    r = await client.get(f"/users/{user.id}")
    assert r.status_code == 200
    body = r.json()
    assert body.keys() >= PUBLIC_KEYS
    assert not {"email", "role", "password_hash"} & body.keys()
    assert user.email not in r.text
    assert (body["id"], body["name"], body["city"], body["bio"]) == (
        user.id,
        "Pat Public",
        "Rome",
        "I run",
    )
    assert (body["xp"], body["level"]) == (0, 1)


async def test_profile_by_name_is_case_insensitive(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user("Lena Long")
    for name in ["Lena Long", "lena long", "LENA LONG"]:
        r = await client.get(f"/users/by-name/{name}")
        assert r.status_code == 200
        assert r.json()["id"] == user.id
        assert "email" not in r.json()
        assert "role" not in r.json()
    assert_problem(await client.get("/users/by-name/Lena Short"), 404)


async def test_unknown_user_id_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/users/0123456789abcdef01234567"), 404)


# --- search ---------------------------------------------------------------------------------


async def test_search_is_a_case_insensitive_substring_match(
    api: Api, client: httpx.AsyncClient
) -> None:
    for name in ["Joanna Park", "ANNA Berg", "Bob Hann", "Carl Smith"]:
        await api.user(name)
    r = await client.get("/users", params={"search": "ann"})
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 3
    assert sorted(u["name"] for u in page["items"]) == ["ANNA Berg", "Bob Hann", "Joanna Park"]
    for item in page["items"]:
        assert item.keys() >= PUBLIC_KEYS
        assert not {"email", "role"} & item.keys()
    assert (await client.get("/users", params={"search": "CARL"})).json()["total"] == 1
    assert (await client.get("/users", params={"search": "zed"})).json()["total"] == 0


async def test_search_treats_regex_characters_literally(
    api: Api, client: httpx.AsyncClient
) -> None:
    await api.user("abc def")
    await api.user("a.c (x)")
    r = await client.get("/users", params={"search": "a.c"})
    assert [u["name"] for u in r.json()["items"]] == ["a.c (x)"]
    r = await client.get("/users", params={"search": ".*"})
    assert r.json()["total"] == 0
    r = await client.get("/users", params={"search": "(x"})
    assert r.json()["total"] == 1


async def test_list_pages_through_everyone_by_name(api: Api, client: httpx.AsyncClient) -> None:
    names = [f"Runner {c}" for c in "EDCBA"]
    for name in names:
        await api.user(name)
    first = (await client.get("/users", params={"limit": 2})).json()
    assert first["total"] == 5
    assert (first["limit"], first["offset"]) == (2, 0)
    assert [u["name"] for u in first["items"]] == ["Runner A", "Runner B"]
    rest = (await client.get("/users", params={"limit": 2, "offset": 4})).json()
    assert [u["name"] for u in rest["items"]] == ["Runner E"]
    assert (rest["limit"], rest["offset"]) == (2, 4)
    beyond = (await client.get("/users", params={"offset": 10})).json()
    assert beyond == {"items": [], "total": 5, "limit": 20, "offset": 10, "next": None}


async def test_list_defaults_to_20(api: Api, client: httpx.AsyncClient) -> None:
    for _ in range(21):
        await api.user()
    page = (await client.get("/users")).json()
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (21, 20, 20, 0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "many"}, "limit"),
        ({"search": "s" * 41}, "search"),
    ],
)
async def test_list_rejects_bad_paging(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    body = assert_problem(await client.get("/users", params=params), 422)
    assert [e["loc"] for e in body["errors"]] == [["query", field]]  # type: ignore[union-attr]


async def test_list_accepts_the_maximum_limit(client: httpx.AsyncClient) -> None:
    assert (await client.get("/users", params={"limit": 100})).json()["limit"] == 100


# --- by email -------------------------------------------------------------------------------


async def test_by_email_for_myself(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user()
    r = await client.get(f"/users/by-email/{user.email.upper()}", headers=user.headers)
    assert r.status_code == 200
    assert r.json()["id"] == user.id
    assert r.json()["email"] == user.email


async def test_by_email_for_admins(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    user = await api.user()
    r = await client.get(f"/users/by-email/{user.email}", headers=admin.headers)
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["email"], r.json()["role"]) == (user.id, user.email, "user")
    missing = await client.get("/users/by-email/nobody@example.com", headers=admin.headers)
    assert_problem(missing, 404)


async def test_by_email_is_forbidden_for_others(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user()
    other = await api.user()
    assert_problem(await client.get(f"/users/by-email/{other.email}", headers=user.headers), 403)
    # the same answer whether or not the address has an account: no probing for emails
    nobody = await client.get("/users/by-email/nobody@example.com", headers=user.headers)
    assert_problem(nobody, 403)
    assert_problem(await client.get(f"/users/by-email/{other.email}"), 401)
