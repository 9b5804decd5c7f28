"""Lists page by offset (up to MAX_OFFSET) or by keyset cursor (`after` = the previous `next`)."""

from __future__ import annotations

import ast
import base64
import importlib
import json
import pathlib
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

import documents
from documents import Competition, Team
from service import queries
from service.pagination import MAX_OFFSET, encode_cursor
from tests.conftest import assert_problem
from tests.factories import Api

SERVICE = pathlib.Path(__file__).resolve().parents[1] / "service"
DAY = datetime(2030, 5, 1)


async def walk(
    client: httpx.AsyncClient, path: str, *, limit: int, between: Any = None, **params: Any
) -> list[str]:
    """Every id of a list, page after page through `next`; `between(page_no)` runs between."""
    seen: list[str] = []
    r = await client.get(path, params={"limit": limit, **params})
    page_no = 0
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["limit"] == limit
        assert len(body["items"]) <= limit
        seen += [item["user"]["id"] if "user" in item else item["id"] for item in body["items"]]
        if body["next"] is None:
            return seen
        page_no += 1
        if between is not None:
            await between(page_no)
        r = await client.get(path, params={"limit": limit, "after": body["next"], **params})


async def insert_competitions(days: list[int]) -> list[Competition]:
    rows = [
        Competition(
            name=f"Meet {i}",
            name_key=f"meet {i}",
            sport="athletics",
            city="Zurich",
            city_key="zurich",
            country="CH",
            starts_on=DAY + timedelta(days=d),
            ends_on=DAY + timedelta(days=d + 1),
        )
        for i, d in enumerate(days)
    ]
    for row in rows:
        await row.insert()
    return rows


def in_list_order(rows: list[Competition]) -> list[str]:
    return [str(c.id) for c in sorted(rows, key=lambda c: (c.starts_on, str(c.id)))]


async def test_walking_competitions_with_after_returns_each_once_in_order(
    client: httpx.AsyncClient,
) -> None:
    # many ties on the sort key (starts_on): _id orders them
    rows = await insert_competitions([d % 4 for d in range(23)])
    ids = await walk(client, "/competitions", limit=5)
    assert ids == in_list_order(rows)
    r = await client.get("/competitions", params={"limit": 5})
    assert r.json()["total"] == 23
    # offset pages and cursor pages agree, and the envelope keeps its fields
    body = (await client.get("/competitions", params={"limit": 5, "offset": 5})).json()
    assert [c["id"] for c in body["items"]] == ids[5:10]
    assert body["offset"] == 5
    assert body["total"] == 23
    assert body["next"] is not None


async def test_rows_inserted_or_deleted_between_pages_never_repeat_or_skip_a_row(
    client: httpx.AsyncClient,
) -> None:
    rows = await insert_competitions([d % 3 for d in range(15)])
    order = in_list_order(rows)
    by_id = {str(c.id): c for c in rows}
    added: list[Competition] = []
    # after the first page (order[:4]): one seen row and one unseen row go, two rows come,
    # one that sorts before the cursor (never shown) and one after it (shown in its place)
    gone_seen, gone_unseen = order[1], order[9]

    async def churn(page_no: int) -> None:
        if page_no != 1:
            return
        await by_id[gone_seen].delete()
        await by_id[gone_unseen].delete()
        added.extend(await insert_competitions([-1, 5]))

    ids = await walk(client, "/competitions", limit=4, between=churn)
    assert len(ids) == len(set(ids))
    before, after = (str(c.id) for c in added)
    expected = order[:4] + [i for i in order[4:] if i != gone_unseen] + [after]
    assert ids == expected
    assert before not in ids


async def test_walking_teams_and_members_with_after(client: httpx.AsyncClient, api: Api) -> None:
    owner = await api.user()
    # same name (ties), and names around it; name_key differs as the unique index demands
    names = ["Owls", "Bats", "Owls", "Cats", "Owls", "Ants", "Owls"] * 2
    teams = [
        Team(name=n, name_key=f"{n.lower()}-{i}", owner_id=PydanticObjectId())
        for i, n in enumerate(names)
    ]
    for team in teams:
        await team.insert()
    ids = await walk(client, "/teams", limit=3)
    assert ids == [str(t.id) for t in sorted(teams, key=lambda t: (t.name, str(t.id)))]
    # a filtered list pages the same way
    owls = await walk(client, "/teams", limit=2, search="owl")
    assert owls == [i for i in ids if i in {str(t.id) for t in teams if t.name == "Owls"}]

    team = await api.team(owner)
    members = [await api.user() for _ in range(4)]
    for member in members:
        await api.join(member, team["id"])
    walked = await walk(client, f"/teams/{team['id']}/members", limit=2)
    assert walked == [owner.id] + [m.id for m in members]


async def test_offset_beyond_the_maximum_is_422_pointing_to_after(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/competitions", "/teams", "/cities", "/athletes", "/users"):
        ok = await client.get(path, params={"offset": MAX_OFFSET})
        assert ok.status_code == 200, (path, ok.text)
        assert ok.json()["items"] == []
        problem = assert_problem(await client.get(path, params={"offset": MAX_OFFSET + 1}), 422)
        assert "after" in str(problem["detail"])
        assert problem["errors"][0]["loc"] == ["query", "offset"]  # type: ignore[index]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        _b64(b"\xff\xfe"),
        _b64(b"[1, 2]"),
        _b64(b'{"k": ["starts_on", "_id"], "v": [1]}'),
        _b64(b'{"k": ["starts_on", "_id"], "v": [{"d": "yesterday"}, {"o": "x"}]}'),
        _b64(b'{"k": ["starts_on", "_id"], "v": [{"d": "2030-01-01"}, "abc"]}'),
        _b64(b'{"k": ["starts_on", "_id"], "v": [{"$where": "1"}, {"o": "0"}]}'),
        _b64(json.dumps({"k": ["starts_on", "_id"], "v": [[1] * 3, {"o": "a" * 24}]}).encode()),
        _b64(b"[" * 5000 + b"]" * 5000),
        # a cursor of another list (teams sort by name)
        encode_cursor(["name", "_id"], ["Owls", PydanticObjectId("6b0d742c378ec3475faa9859")]),
        "A" * 2000,
    ],
)
async def test_a_malformed_or_foreign_cursor_is_422(client: httpx.AsyncClient, cursor: str) -> None:
    await insert_competitions([1, 2])
    problem = assert_problem(await client.get("/competitions", params={"after": cursor}), 422)
    assert problem["errors"][0]["loc"] == ["query", "after"]  # type: ignore[index]


async def test_after_and_offset_together_are_422(client: httpx.AsyncClient) -> None:
    await insert_competitions([1, 2, 3])
    first = (await client.get("/competitions", params={"limit": 1})).json()
    r = await client.get("/competitions", params={"limit": 1, "offset": 1, "after": first["next"]})
    assert_problem(r, 422)


async def test_the_last_page_has_no_next(client: httpx.AsyncClient) -> None:
    await insert_competitions([1, 2])
    assert (await client.get("/competitions", params={"limit": 2})).json()["next"] is None
    assert (await client.get("/competitions", params={"limit": 1})).json()["next"] is not None
    empty = (await client.get("/competitions")).json()
    assert empty["total"] == 2


# --- every list's sort is an index --------------------------------------------------------


def _fetch_page_calls() -> list[tuple[str, str, list[tuple[str, int]]]]:
    """(module, document, sort) of every fetch_page call in service/.

    A call through a registered query shape (`fetch_page(queries.X, criteria, page)`) is
    listed with the shape's document and sort (tests/test_query_shapes.py checks the shape
    against its index in full); an older call names the document and a literal sort."""
    consts = {"ASC": 1, "DESC": -1, "ASCENDING": 1, "DESCENDING": -1}
    calls = []
    for path in sorted(SERVICE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "fetch_page"
            ):
                continue
            dotted = path.relative_to(SERVICE.parent).with_suffix("").as_posix()
            module = importlib.import_module(dotted.replace("/", "."))
            first = node.args[0]
            if isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name):
                source = getattr(getattr(module, first.value.id), first.attr)
            else:
                assert isinstance(first, ast.Name)
                source = getattr(module, first.id)
            if isinstance(source, queries.QueryShape | queries.Shapes):
                chosen = source.shapes if isinstance(source, queries.Shapes) else (source,)
                name = path.relative_to(SERVICE).as_posix()
                calls += [(name, s.document.__name__, list(s.sort)) for s in chosen]
                continue
            document, _criteria, sort_node = node.args[:3]
            assert isinstance(document, ast.Name)
            sort = []
            if isinstance(sort_node, ast.Name):  # a module constant: read its value
                value = getattr(module, sort_node.id)
                sort_node = ast.parse(repr(value), mode="eval").body
            assert isinstance(sort_node, ast.List), f"{path}: sort must be a literal list"
            for element in sort_node.elts:
                assert isinstance(element, ast.Tuple)
                name, direction = element.elts
                assert isinstance(name, ast.Constant)
                if isinstance(direction, ast.Name):
                    value = consts[direction.id]
                else:
                    value = ast.literal_eval(direction)
                sort.append((name.value, int(value)))
            calls.append((path.relative_to(SERVICE).as_posix(), document.id, sort))
    return calls


def test_every_list_sort_is_served_by_an_index_ending_in_id() -> None:
    calls = _fetch_page_calls()
    assert len(calls) >= 12  # teams, members, user teams, invitations, cities, users, ...
    for module, name, sort in calls:
        document = getattr(documents, name)
        wanted = [*sort, ("_id", sort[-1][1])] if sort[-1][0] != "_id" else sort
        # an index walked backwards serves the reversed sort as well
        backwards = [(name, -direction) for name, direction in wanted]
        found = False
        for index in document.Settings.indexes:
            keys = list(index.document["key"].items())
            # the sort keys, then _id, right after the index's equality fields
            for start in range(len(keys) - len(wanted) + 1):
                if keys[start : start + len(wanted)] in (wanted, backwards):
                    found = True
        assert found, f"{module}: no index of {name} has {wanted} (after equality fields)"


# --- team search: an index-served prefix, a time-bounded substring --------------------------


async def test_team_prefix_search_reads_the_name_key_and_finds_city_teams_by_slug(
    client: httpx.AsyncClient, api: Api
) -> None:
    from service.cities import service as cities

    owner = await api.user()
    for name in ("Night Owls", "night Hawks", "Owls of the Night", "Nightingales"):
        await api.team(owner, name)
    await cities.city_for("Lisbon")

    async def names(**params: str) -> list[str]:
        r = await client.get("/teams", params=params)
        assert r.status_code == 200, r.text
        return [t["name"] for t in r.json()["items"]]

    assert await names(prefix="NIGHT  o") == ["Night Owls"]
    assert await names(prefix="night") == ["Night Owls", "Nightingales", "night Hawks"]
    assert await names(prefix="lis") == ["Lisbon"]
    assert await names(prefix="owls") == ["Owls of the Night"]
    # the substring search still finds a name anywhere in it
    assert await names(search="owls") == ["Night Owls", "Owls of the Night"]
    # both together: each applies
    assert await names(prefix="owls", search="night") == ["Owls of the Night"]
    assert await names(prefix=".*") == []


async def test_a_substring_search_past_its_time_limit_is_503_not_500(
    client: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymongo.errors import ExecutionTimeout

    from service import pagination

    limits: list[int | None] = []
    original = pagination.count

    async def slow_count(document: Any, criteria: Any, *, max_time_ms: int | None = None) -> int:
        limits.append(max_time_ms)
        if max_time_ms is not None:
            raise ExecutionTimeout("operation exceeded time limit", 50)
        return await original(document, criteria)

    monkeypatch.setattr(pagination, "count", slow_count)
    assert (await client.get("/teams", params={"prefix": "ow"})).status_code == 200
    problem = assert_problem(await client.get("/teams", params={"search": "ow"}), 503)
    assert "prefix" in str(problem["detail"])
    assert limits[0] is None
    assert limits[1] is not None


async def test_the_upcoming_feed_pages_with_after_too(client: httpx.AsyncClient, api: Api) -> None:
    from datetime import date

    admin = await api.admin()
    star = await api.athlete()
    fan = await api.user()
    await api.follow(fan, star)
    start = date.today() + timedelta(days=10)
    made = []
    for i in range(5):
        # two by two on the same start day: ties fall back to the competition id
        starts_on = (start + timedelta(days=i // 2)).isoformat()
        meet = await api.competition(admin, starts_on=starts_on, ends_on=starts_on)
        await api.enter(star, await api.event(admin, meet))
        made.append((starts_on, meet["id"]))
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        r = await client.get("/users/me/following/upcoming", headers=fan.headers, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 5
        seen += [item["competition"]["id"] for item in body["items"]]
        if body["next"] is None:
            break
        params = {"limit": 2, "after": body["next"]}
    assert seen == [cid for _, cid in sorted(made)]
    foreign = encode_cursor(["name", "_id"], ["x", PydanticObjectId()])
    r = await client.get(
        "/users/me/following/upcoming", headers=fan.headers, params={"after": foreign}
    )
    assert_problem(r, 422)
