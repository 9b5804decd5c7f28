"""Who sees what (issue 10 §2, README § Who sees what): every kind of thing x every visibility x
every viewer, in details and in lists, through the HTTP API.

The expectations come from the README's table (`SEES` below), written out here independently of
`service.social.access`. Adding a kind (posts, comments...) is one `Kind`: how to make one of a
given visibility, and the probes (details and lists) that should show it or not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import User
from documents.social import Block, Friendship, block_id, pair_key
from tests.conftest import assert_problem
from tests.factories import Account, Api

VISIBILITIES = ("public", "friends", "private")
# the README table: which visibilities each viewer sees (anonymous: every endpoint needs a token)
SEES: dict[str, set[str]] = {
    "owner": {"public", "friends", "private"},
    "admin": {"public", "friends", "private"},
    "friend": {"public", "friends"},
    "stranger": {"public"},
    "blocked": {"public"},  # the owner blocked them
    "blocking": {"public"},  # they blocked the owner
    "anonymous": set(),
}
VIEWERS = tuple(SEES)
ROUTE = {
    "type": "LineString",
    "coordinates": [[2.3522, 48.8566], [2.3530, 48.8570], [2.3541, 48.8577]],
}


async def befriend(a: Account, b: Account) -> None:
    ids = [PydanticObjectId(a.id), PydanticObjectId(b.id)]
    await Friendship(id=pair_key(*ids), users=ids).insert()


async def block(blocker: Account, blocked: Account) -> None:
    x, y = PydanticObjectId(blocker.id), PydanticObjectId(blocked.id)
    await Block(id=block_id(x, y), blocker_id=x, blocked_id=y).insert()


async def set_default_visibility(account: Account, visibility: str) -> None:
    await User.get_motor_collection().update_one(
        {"_id": PydanticObjectId(account.id)}, {"$set": {"default_visibility": visibility}}
    )


@dataclass
class World:
    client: httpx.AsyncClient
    api: Api
    owner: Account
    viewers: dict[str, Account | None]
    counter: int = 0

    def started_at(self) -> str:
        """A distinct start per activity (a runner's runs never overlap)."""
        self.counter += 1
        moment = datetime.now(UTC) - timedelta(days=2, hours=2 * self.counter)
        return moment.replace(microsecond=0).isoformat()


async def make_world(client: httpx.AsyncClient, api: Api) -> World:
    owner = await api.user(city="Paris")
    friend = await api.user(city="Paris")
    stranger = await api.user(city="Paris")
    blocked = await api.user(city="Paris")
    blocking = await api.user(city="Paris")
    admin = await api.admin()
    await befriend(owner, friend)
    await block(owner, blocked)
    await block(blocking, owner)
    viewers: dict[str, Account | None] = {
        "owner": owner,
        "admin": admin,
        "friend": friend,
        "stranger": stranger,
        "blocked": blocked,
        "blocking": blocking,
        "anonymous": None,
    }
    return World(client, api, owner, viewers)


# --- probes: one request each, answering "did the viewer see it?" ------------------------------


@dataclass(frozen=True)
class Probe:
    name: str
    path: str
    kind: str  # detail (200 seen / 404 not), list (the id among the items), route, gpx
    item_id: str = ""
    params: tuple[tuple[str, Any], ...] = ()
    # posts, comments and likes are read without a token too (anonymous: public only)
    token_needed: bool = True


async def seen(client: httpx.AsyncClient, viewer: Account | None, probe: Probe) -> bool:
    headers = viewer.headers if viewer else {}
    r = await client.get(probe.path, params=dict(probe.params), headers=headers)
    if viewer is None and probe.token_needed:
        assert_problem(r, 401)
        return False
    if probe.kind == "list":
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["next"] is None, "a small world fits one page"
        assert all("route" not in item for item in body["items"]), "lists never carry routes"
        return probe.item_id in {item["id"] for item in body["items"]}
    if r.status_code == 404:
        assert_problem(r, 404)
        return False
    assert r.status_code == 200, r.text
    if probe.kind == "route":  # the run is visible: is its route?
        body = r.json()
        assert body["route_hidden"] is (body["route"] is None)
        return body["route"] is not None
    if probe.kind == "gpx":
        assert r.headers["content-type"].startswith("application/gpx+xml")
    return True


# --- the kinds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    # make one thing of the owner with this visibility; returns its id
    make: Callable[[World, str], Awaitable[str]]
    probes: Callable[[World, str], list[Probe]]
    # an extra rule on top of SEES (hide_route: only the owner), by viewer
    only_owner: bool = False
    # readable without a token (posts, comments, likes): anonymous sees public ones
    anonymous_public: bool = False


async def make_run(world: World, visibility: str, **fields: Any) -> str:
    run = await world.api.run(
        world.owner, started_at=world.started_at(), visibility=visibility, **fields
    )
    assert run["visibility"] == visibility
    return str(run["id"])


def run_probes(world: World, run_id: str) -> list[Probe]:
    owner = world.owner.id
    return [
        Probe("GET /runs/{id}", f"/runs/{run_id}", "detail"),
        Probe("GET /runs", "/runs", "list", run_id, (("limit", 100),)),
        Probe("GET /runs?user_id", "/runs", "list", run_id, (("user_id", owner), ("limit", 100))),
        Probe("GET /users/{id}/runs", f"/users/{owner}/runs", "list", run_id, (("limit", 100),)),
    ]


async def make_routed_run(world: World, visibility: str, *, hide_route: bool = False) -> str:
    return await make_run(world, visibility, route=ROUTE, hide_route=hide_route)


def route_probes(world: World, run_id: str) -> list[Probe]:
    return [
        Probe("GET /runs/{id} route", f"/runs/{run_id}", "route"),
        Probe("GET /runs/{id}/route.gpx", f"/runs/{run_id}/route.gpx", "gpx"),
    ]


async def make_hidden_route(world: World, visibility: str) -> str:
    return await make_routed_run(world, visibility, hide_route=True)


async def make_workout(world: World, visibility: str) -> str:
    r = await world.client.get("/exercises", params={"search": "Push-up", "limit": 100})
    exercise = next(e for e in r.json()["items"] if e["name"] == "Push-up")
    payload = {
        "started_at": world.started_at(),
        "duration_s": 600,
        "sets": [{"exercise_id": exercise["id"], "reps": 20}],
        "visibility": visibility,
    }
    r = await world.client.post("/workouts", json=payload, headers=world.owner.headers)
    assert r.status_code == 201, r.text
    assert r.json()["visibility"] == visibility
    return str(r.json()["id"])


def workout_probes(world: World, workout_id: str) -> list[Probe]:
    owner = world.owner.id
    return [
        Probe("GET /workouts/{id}", f"/workouts/{workout_id}", "detail"),
        Probe("GET /workouts", "/workouts", "list", workout_id, (("limit", 100),)),
        Probe(
            "GET /workouts?user_id",
            "/workouts",
            "list",
            workout_id,
            (("user_id", owner), ("limit", 100)),
        ),
        Probe(
            "GET /users/{id}/workouts",
            f"/users/{owner}/workouts",
            "list",
            workout_id,
            (("limit", 100),),
        ),
    ]


async def make_summary(world: World, visibility: str) -> str:
    """Stats and records follow the owner's default_visibility (README § Who sees what)."""
    if world.counter == 0:
        await make_run(world, "public")
    await set_default_visibility(world.owner, visibility)
    return world.owner.id


def stats_probes(world: World, user_id: str) -> list[Probe]:
    return [
        Probe("GET /users/{id}/stats", f"/users/{user_id}/stats", "detail"),
        Probe("GET /users/{id}/stats/series", f"/users/{user_id}/stats/series", "detail"),
    ]


def records_probes(world: World, user_id: str) -> list[Probe]:
    return [Probe("GET /users/{id}/records", f"/users/{user_id}/records", "detail")]


async def make_post(world: World, visibility: str) -> str:
    r = await world.client.post(
        "/posts", json={"text": "hello", "visibility": visibility}, headers=world.owner.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["visibility"] == visibility
    return str(r.json()["id"])


def post_probes(world: World, post_id: str) -> list[Probe]:
    owner = world.owner.id
    return [
        Probe("GET /posts/{id}", f"/posts/{post_id}", "detail", token_needed=False),
        Probe(
            "GET /users/{id}/posts",
            f"/users/{owner}/posts",
            "list",
            post_id,
            (("limit", 100),),
            token_needed=False,
        ),
    ]


async def _commented(world: World, path: str) -> None:
    """The owner comments on and likes their own thing (a comment/like to see, or not)."""
    r = await world.client.post(
        f"{path}/comments", json={"text": "mine"}, headers=world.owner.headers
    )
    assert r.status_code == 201, r.text
    r = await world.client.put(f"{path}/likes", headers=world.owner.headers)
    assert r.status_code == 204, r.text


async def make_commented_post(world: World, visibility: str) -> str:
    post_id = await make_post(world, visibility)
    await _commented(world, f"/posts/{post_id}")
    return f"/posts/{post_id}"


async def make_commented_run(world: World, visibility: str) -> str:
    run_id = await make_run(world, visibility)
    await _commented(world, f"/runs/{run_id}")
    return f"/runs/{run_id}"


async def make_commented_workout(world: World, visibility: str) -> str:
    workout_id = await make_workout(world, visibility)
    await _commented(world, f"/workouts/{workout_id}")
    return f"/workouts/{workout_id}"


def comment_probes(world: World, subject_path: str) -> list[Probe]:
    """A comment is seen exactly when its subject is: the subject's comment list answers."""
    return [
        Probe(
            f"GET {subject_path.split('/')[1]}/{{id}}/comments",
            f"{subject_path}/comments",
            "detail",
            token_needed=False,
        ),
    ]


def like_probes(world: World, subject_path: str) -> list[Probe]:
    return [
        Probe(
            f"GET {subject_path.split('/')[1]}/{{id}}/likes",
            f"{subject_path}/likes",
            "detail",
            token_needed=False,
        ),
    ]


KINDS = [
    Kind("run", make_run, run_probes),
    Kind("route", make_routed_run, route_probes),
    Kind("hidden route", make_hidden_route, route_probes, only_owner=True),
    Kind("workout", make_workout, workout_probes),
    Kind("stats", make_summary, stats_probes),
    Kind("records", make_summary, records_probes),
    Kind("post", make_post, post_probes, anonymous_public=True),
    Kind("comment on a post", make_commented_post, comment_probes, anonymous_public=True),
    Kind("comment on a run", make_commented_run, comment_probes, anonymous_public=True),
    Kind("comment on a workout", make_commented_workout, comment_probes, anonymous_public=True),
    Kind("likes of a post", make_commented_post, like_probes, anonymous_public=True),
    Kind("likes of a run", make_commented_run, like_probes, anonymous_public=True),
]


def expected(kind: Kind, viewer: str, visibility: str) -> bool:
    if kind.only_owner:
        return viewer == "owner"
    if viewer == "anonymous" and kind.anonymous_public:
        return visibility == "public"
    return visibility in SEES[viewer]


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
async def test_who_sees_what(client: httpx.AsyncClient, api: Api, kind: Kind) -> None:
    world = await make_world(client, api)
    wrong = []
    for visibility in VISIBILITIES:
        item_id = await kind.make(world, visibility)
        for viewer_name, viewer in world.viewers.items():
            want = expected(kind, viewer_name, visibility)
            for probe in kind.probes(world, item_id):
                got = await seen(client, viewer, probe)
                if got != want:
                    wrong.append(f"{probe.name} {visibility} by {viewer_name}: {got}, want {want}")
    assert not wrong, "\n".join(wrong)


# --- what the matrix relies on -------------------------------------------------------------------


async def test_new_runs_and_workouts_take_the_owners_default_visibility(
    client: httpx.AsyncClient, api: Api
) -> None:
    world = await make_world(client, api)
    await set_default_visibility(world.owner, "friends")
    run = await api.run(world.owner, started_at=world.started_at())
    assert run["visibility"] == "friends"
    assert run["hide_route"] is False
    workout_id = await make_workout(world, "private")
    r = await client.get(f"/workouts/{workout_id}", headers=world.owner.headers)
    assert r.json()["visibility"] == "private"
    explicit = await api.run(world.owner, started_at=world.started_at(), visibility="public")
    assert explicit["visibility"] == "public"


async def test_changing_visibility_hides_a_run_at_once_and_is_announced(
    client: httpx.AsyncClient, api: Api
) -> None:
    from service import events

    world = await make_world(client, api)
    run_id = await make_run(world, "public")
    stranger = world.viewers["stranger"]
    assert stranger is not None
    changes: list[tuple[str, str]] = []

    async def listener(*, before: Any, after: Any) -> None:
        changes.append((before.visibility, after.visibility))

    events.run_changed.connect(listener)
    try:
        r = await client.patch(
            f"/runs/{run_id}", json={"visibility": "private"}, headers=world.owner.headers
        )
    finally:
        events.run_changed.handlers.remove(listener)
    assert r.status_code == 200, r.text
    assert r.json()["visibility"] == "private"
    assert changes == [("public", "private")]
    assert_problem(await client.get(f"/runs/{run_id}", headers=stranger.headers), 404)
    # not the owner's: 404 when they may not see it (never a 403 that confirms it exists)
    r = await client.patch(f"/runs/{run_id}", json={"notes": "x"}, headers=stranger.headers)
    assert_problem(r, 404)
    assert_problem(await client.delete(f"/runs/{run_id}", headers=stranger.headers), 404)


async def test_a_workouts_visibility_is_edited_by_its_owner_only(
    client: httpx.AsyncClient, api: Api
) -> None:
    world = await make_world(client, api)
    workout_id = await make_workout(world, "friends")
    friend, stranger = world.viewers["friend"], world.viewers["stranger"]
    assert friend is not None
    assert stranger is not None
    r = await client.patch(
        f"/workouts/{workout_id}", json={"visibility": "public"}, headers=friend.headers
    )
    assert_problem(r, 403)  # they see it, it is not theirs
    r = await client.patch(
        f"/workouts/{workout_id}", json={"visibility": "public"}, headers=world.owner.headers
    )
    assert r.status_code == 200, r.text
    assert (
        await client.get(f"/workouts/{workout_id}", headers=stranger.headers)
    ).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/runs", {"visibility": "everyone"}),
        ("/runs", {"hide_route": "maybe"}),
        ("/workouts", {"visibility": "secret"}),
    ],
)
async def test_a_bad_visibility_is_a_422_and_stores_nothing(
    client: httpx.AsyncClient, api: Api, path: str, body: dict[str, Any]
) -> None:
    world = await make_world(client, api)
    if path == "/runs":
        payload = {"started_at": world.started_at(), "distance_km": 5, "duration_s": 1800, **body}
    else:
        r = await client.get("/exercises", params={"search": "Push-up", "limit": 100})
        exercise = next(e for e in r.json()["items"] if e["name"] == "Push-up")
        payload = {
            "started_at": world.started_at(),
            "duration_s": 600,
            "sets": [{"exercise_id": exercise["id"], "reps": 20}],
            **body,
        }
    assert_problem(await client.post(path, json=payload, headers=world.owner.headers), 422)
    listed = await client.get(path, params={"user_id": world.owner.id}, headers=world.owner.headers)
    assert listed.json()["total"] == 0


@pytest.mark.parametrize(
    "body", [{"visibility": "everyone"}, {"visibility": None}, {"hide_route": None}]
)
async def test_a_bad_visibility_edit_is_a_422_and_changes_nothing(
    client: httpx.AsyncClient, api: Api, body: dict[str, Any]
) -> None:
    world = await make_world(client, api)
    run_id = await make_run(world, "friends")
    r = await client.patch(f"/runs/{run_id}", json=body, headers=world.owner.headers)
    assert_problem(r, 422)
    got = (await client.get(f"/runs/{run_id}", headers=world.owner.headers)).json()
    assert (got["visibility"], got["hide_route"]) == ("friends", False)


async def test_a_strangers_page_of_runs_walks_only_what_they_may_see(
    client: httpx.AsyncClient, api: Api
) -> None:
    """Pages of another runner's runs hold only visible ones, totals count only those, and the
    cursor moves through them without repeats or gaps."""
    world = await make_world(client, api)
    stranger = world.viewers["stranger"]
    assert stranger is not None
    visible = []
    for i in range(9):
        visibility = ("public", "private", "friends")[i % 3]
        run_id = await make_run(world, visibility)
        if visibility == "public":
            visible.append(run_id)
    seen_ids: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if after:
            params["after"] = after
        r = await client.get(
            f"/users/{world.owner.id}/runs", params=params, headers=stranger.headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(visible)
        seen_ids += [item["id"] for item in r.json()["items"]]
        after = r.json()["next"]
        if after is None:
            break
    assert seen_ids == visible  # newest first: each run made starts earlier


async def test_rows_stored_before_visibility_existed_read_as_public(
    client: httpx.AsyncClient, api: Api
) -> None:
    """A bulk load or an older database has runs and workouts without the field: they are
    public (the documents' default) in lists as in details."""
    from documents import Run, Workout

    world = await make_world(client, api)
    run_id = await make_run(world, "public")
    workout_id = await make_workout(world, "public")
    await Run.get_motor_collection().update_one(
        {"_id": PydanticObjectId(run_id)}, {"$unset": {"visibility": ""}}
    )
    await Workout.get_motor_collection().update_one(
        {"_id": PydanticObjectId(workout_id)}, {"$unset": {"visibility": ""}}
    )
    for name in ("stranger", "friend", "owner"):
        viewer = world.viewers[name]
        for kind, probes, item in (
            ("run", run_probes, run_id),
            ("workout", workout_probes, workout_id),
        ):
            for probe in probes(world, item):
                assert await seen(client, viewer, probe), (kind, probe.name, name)


async def test_one_owners_list_reads_through_the_visibility_index(
    client: httpx.AsyncClient, api: Api
) -> None:
    """A stranger's or a friend's page of one runner's runs/workouts is a range of
    `user_visibility_started` (only the visible levels are walked); everyone's list is the
    `$or` shape whose branches each have an index."""
    from service import queries
    from service.social import access
    from service.workouts import service as workouts

    world = await make_world(client, api)
    owner_id = PydanticObjectId(world.owner.id)
    for name in ("stranger", "friend", "blocked"):
        account = world.viewers[name]
        assert account is not None
        viewer = await User.get(PydanticObjectId(account.id))
        criteria = await access.list_criteria(viewer, owner_id)
        assert queries.RUNS.pick({"user_id": owner_id, **criteria}) is queries.RUNS_OF_USER_VISIBLE
        assert workouts.WORKOUTS.pick({"user_id": owner_id, **criteria}) is (
            workouts.WORKOUTS_OF_USER_VISIBLE
        )
        everyone = await access.list_criteria(viewer, None)
        assert queries.RUNS_VISIBLE.fits(everyone)
        assert workouts.WORKOUTS_VISIBLE.fits(everyone)
    owner = await User.get(owner_id)
    assert await access.list_criteria(owner, owner_id) == {}  # the user_started index
