"""The operator's Mongo shell recipes (scripts/mongosh/*.js, docs/admin.md), run with mongosh.

Each recipe runs as an operator would run it, `mongosh <uri> --eval 'var ...' <recipe>.js`, on a
small database seeded through the API, and its output is checked against what the API (or the
Python rebuild) says. That needs a real server and mongosh: these run in the wire pass of
`python3 scripts/dev.py test`, which installs mongosh from npm when Node.js is present (MONGOSH).
What needs neither (the recipes' copies of Python constants, the pipelines CLI) runs everywhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from bson import ObjectId, json_util
from fastapi import FastAPI

from documents import User
from service.leaderboards import periods, pipelines, rebuild
from service.runs import limits
from service.settings import Settings
from tests.conftest import TEST_MONGODB_URI
from tests.factories import Account, Api

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "scripts" / "mongosh"
LOCAL_MONGOSH = ROOT / ".tools" / "mongosh" / "node_modules" / ".bin" / "mongosh"
EJSON = json_util.JSONOptions(tz_aware=True)
WEEK = "2025-03-05"  # a Wednesday: the ISO week 2025-03-03 .. 2025-03-09, long past

wire = pytest.mark.skipif(not TEST_MONGODB_URI, reason="needs a real server; runs in the wire pass")


def _ejson(text: str) -> Any:
    return json_util.loads(text, json_options=EJSON)


def _block(recipe: str, name: str) -> Any:
    """The JSON between `// BEGIN <name>` and `// END <name>` in a recipe, minus `const X =`."""
    text = (RECIPES / recipe).read_text()
    body = re.search(rf"// BEGIN {name}\n(.*?)// END {name}", text, re.S)
    assert body, f"{recipe} has no {name} block"
    return json.loads(body.group(1).split("=", 1)[1].strip().rstrip(";"))


def test_the_implausible_runs_recipe_has_the_limits_of_limits_py() -> None:
    assert _block("implausible_runs.js", "LIMITS") == {
        "EARLIEST_START": limits.EARLIEST_START.isoformat(),
        "FUTURE_SKEW_S": limits.FUTURE_SKEW.total_seconds(),
        "MAX_DISTANCE_KM": limits.MAX_DISTANCE_KM,
        "MIN_DURATION_S": limits.MIN_DURATION_S,
        "MAX_DURATION_S": limits.MAX_DURATION_S,
        "MAX_SPEED_KMH": limits.MAX_SPEED_KMH,
    }


def test_the_drift_recipe_runs_the_rebuild_pipeline() -> None:
    assert _block("bucket_drift.js", "REBUILD_PIPELINE") == pipelines.rebuild_buckets()


def _pipelines_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.pipelines", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_pipelines_cli_prints_the_api_pipeline_as_extended_json() -> None:
    team = ObjectId()
    done = _pipelines_cli("team", "--period", "week", "--at", WEEK, "--team-id", str(team))
    assert done.returncode == 0, done.stderr
    assert '{"$date": "2025-03-03T00:00:00Z"}' in done.stdout.replace("\n", "").replace("  ", "")
    period = periods.resolve("week", at=date.fromisoformat(WEEK))
    printed = _ejson(done.stdout)
    assert printed == [*pipelines.team_totals(period), {"$match": {"_id": team}}]

    done = _pipelines_cli(
        "city", "--period", "custom", "--from", "2025-01-01", "--to", "2025-03-15"
    )
    period = periods.Period(
        "custom", datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 3, 15, tzinfo=UTC)
    )
    assert _ejson(done.stdout) == pipelines.city_totals(period)


@pytest.mark.parametrize(
    "args",
    [
        ("team", "--period", "fortnight"),
        ("team", "--at", "yesterday"),
        ("team", "--team-id", "not-an-id"),
        ("member", "--period", "week"),
        ("custom",),
    ],
)
def test_the_pipelines_cli_refuses_bad_input(args: tuple[str, ...]) -> None:
    done = _pipelines_cli(*args)
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""


# --- the recipes through mongosh (wire pass) -------------------------------------------------


@dataclass
class Shell:
    code: int
    stdout: str
    stderr: str

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every output line, parsed as Extended JSON (ObjectIds and dates come back)."""
        return [_ejson(line) for line in self.stdout.splitlines() if line.strip()]


Mongosh = Callable[..., Awaitable[Shell]]


def _mongosh_binary() -> str:
    """MONGOSH (set by scripts/dev.py test), else the one it installed, unless it said why not."""
    skipped = os.environ.get("MONGOSH_SKIPPED")
    local = str(LOCAL_MONGOSH) if LOCAL_MONGOSH.exists() and not skipped else ""
    binary = os.environ.get("MONGOSH") or local
    if not binary:
        why = skipped or "MONGOSH is not set"
        pytest.skip(f"mongosh step skipped: {why} (python3 scripts/dev.py test installs it)")
    return binary


def _uri_with_database(uri: str, database: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def mongosh(settings: Settings) -> Mongosh:
    """Run a recipe on this test's database: `await mongosh("find_user.js", email="...")`."""
    binary = _mongosh_binary()
    assert TEST_MONGODB_URI

    async def run(recipe: str, **variables: Any) -> Shell:
        # read when the recipe runs: the `app` fixture may have lent the test another database
        uri = _uri_with_database(TEST_MONGODB_URI, settings.mongodb_db)
        command = [binary, uri, "--quiet", "--norc"]
        if variables:
            values = ", ".join(f"{name} = {json.dumps(value)}" for name, value in variables.items())
            command += ["--eval", f"var {values};"]
        command.append(str(RECIPES / recipe))
        done = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=120, cwd=ROOT
        )
        return Shell(done.returncode, done.stdout, done.stderr)

    return run


async def _me(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    r = await client.get("/users/me", headers=account.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@wire
async def test_find_user_by_email_or_name_never_shows_the_password_hash(
    api: Api, mongosh: Mongosh
) -> None:
    ann = await api.user("Ann Lee", email="ann@example.com", city="Lyon")
    team = await api.team(ann, "Harriers")

    for lookup in ({"email": "  ANN@Example.com"}, {"name": "ann LEE"}):
        shell = await mongosh("find_user.js", **lookup)
        assert shell.code == 0, shell.stderr
        [user] = shell.rows
        assert user["_id"] == ObjectId(ann.id)
        assert (user["name"], user["email"], user["role"]) == ("Ann Lee", "ann@example.com", "user")
        assert "password_hash" not in user
        assert {str(m["team_id"]) for m in user["memberships"]} >= {team["id"]}

    shell = await mongosh("find_user.js", email="nobody@example.com")
    assert (shell.code, shell.stdout) == (1, "")
    assert "no user" in shell.stderr
    assert (await mongosh("find_user.js")).code == 2


@wire
async def test_set_role_promotes_demotes_and_never_removes_the_last_admin(
    client: httpx.AsyncClient, api: Api, mongosh: Mongosh
) -> None:
    ann = await api.user("Ann", email="ann@example.com")
    bob = await api.user("Bob", email="bob@example.com")

    shell = await mongosh("set_role.js", email="Ann@Example.com", role="admin")
    assert shell.code == 0, shell.stderr
    assert shell.rows == [{"email": "ann@example.com", "was": "user", "role": "admin"}]
    assert (await _me(client, ann))["role"] == "admin"
    r = await client.get(f"/users/by-email/{bob.email}", headers=ann.headers)
    assert r.status_code == 200, r.text  # an admin-only lookup: the API treats her as one at once

    shell = await mongosh("set_role.js", email="ann@example.com", role="user")
    assert shell.code == 1
    assert "last admin" in shell.stderr
    assert (await _me(client, ann))["role"] == "admin"

    assert (await mongosh("set_role.js", email="bob@example.com", role="admin")).code == 0
    shell = await mongosh("set_role.js", email="ann@example.com", role="user")
    assert shell.code == 0, shell.stderr
    assert shell.rows == [{"email": "ann@example.com", "was": "admin", "role": "user"}]
    assert (await _me(client, ann))["role"] == "user"
    assert (await _me(client, bob))["role"] == "admin"
    assert await User.find(User.role == "admin").count() == 1

    assert (await mongosh("set_role.js", email="bob@example.com", role="Admin")).code == 2
    assert (await mongosh("set_role.js", email="zed@example.com", role="admin")).code == 1


async def _seed_week(api: Api) -> dict[str, Any]:
    """Two Lyon runners in one custom team, a Paris runner in her city team; runs in WEEK."""
    ann = await api.user("Ann", city="Lyon")
    bob = await api.user("Bob", city="Lyon")
    cat = await api.user("Cat", city="Paris")
    harriers = await api.team(ann, "Harriers")
    await api.join(bob, harriers["id"])
    runs = [
        (ann, "2025-03-03T07:00:00Z", 10.0, 3000),
        (ann, "2025-03-05T18:00:00Z", 5.123, 1500),
        (bob, "2025-03-04T06:30:00Z", 21.1, 7200),
        (cat, "2025-03-06T12:00:00Z", 8.0, 2400),
        (ann, "2025-02-20T07:00:00Z", 12.0, 3600),  # the week before: not counted
    ]
    for account, started_at, km, seconds in runs:
        team = {"team_id": harriers["id"]} if account is not cat else {}
        await api.run(account, started_at=started_at, distance_km=km, duration_s=seconds, **team)
    return {"harriers": harriers}


def _shell_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("score", "distance_km", "runs", "members")}


@wire
async def test_team_and_city_totals_are_the_api_board_rows(
    client: httpx.AsyncClient, api: Api, mongosh: Mongosh, tmp_path: Path
) -> None:
    world = await _seed_week(api)
    team_board = await client.get("/leaderboards/teams", params={"period": "week", "at": WEEK})
    city_board = await client.get("/leaderboards/cities", params={"period": "week", "at": WEEK})
    assert team_board.status_code == city_board.status_code == 200
    teams, cities = team_board.json()["items"], city_board.json()["items"]
    [harriers] = [row for row in teams if row["team"]["id"] == world["harriers"]["id"]]
    [lyon] = [row for row in cities if row["city"]["name"] == "Lyon"]
    assert harriers["runs"] == 3
    assert lyon["runs"] == 3

    async def shell_rows(*args: str) -> list[dict[str, Any]]:
        done = await asyncio.to_thread(_pipelines_cli, *args, "--period", "week", "--at", WEEK)
        assert done.returncode == 0, done.stderr
        pipeline_file = tmp_path / "board.json"
        pipeline_file.write_text(done.stdout)
        shell = await mongosh("totals.js", pipelineFile=str(pipeline_file))
        assert shell.code == 0, shell.stderr
        return shell.rows

    [row] = await shell_rows("team", "--team-id", world["harriers"]["id"])
    assert (str(row["id"]), row["name"]) == (world["harriers"]["id"], "Harriers")
    assert _shell_row(row) == {
        key: harriers[key] for key in ("score", "distance_km", "runs", "members")
    }

    [row] = await shell_rows("city", "--city-id", lyon["city"]["id"])
    assert (str(row["id"]), row["name"]) == (lyon["city"]["id"], "Lyon")
    assert _shell_row(row) == {
        key: lyon[key] for key in ("score", "distance_km", "runs", "members")
    }

    # the whole board: same rows, same order
    rows = await shell_rows("team")
    assert [(str(r["id"]), r["score"], r["runs"]) for r in rows] == [
        (t["team"]["id"], t["score"], t["runs"]) for t in teams
    ]

    # inline, as docs/admin.md shows it
    done = await asyncio.to_thread(_pipelines_cli, "city", "--period", "week", "--at", WEEK)
    shell = await mongosh("totals.js", pipeline=json.loads(done.stdout))
    assert [str(r["id"]) for r in shell.rows] == [c["city"]["id"] for c in cities]

    done = await asyncio.to_thread(_pipelines_cli, "team", "--period", "day", "--at", "2025-01-01")
    (tmp_path / "empty.json").write_text(done.stdout)
    shell = await mongosh("totals.js", pipelineFile=str(tmp_path / "empty.json"))
    assert (shell.code, shell.stdout) == (1, "")


@wire
async def test_implausible_runs_lists_the_runs_todays_rules_refuse(
    api: Api, app: FastAPI, mongosh: Mongosh
) -> None:
    ann = await api.user("Ann", city="Lyon")
    good = await api.run(ann, started_at="2025-03-03T07:00:00Z", distance_km=10.0, duration_s=3000)
    shell = await mongosh("implausible_runs.js")
    assert shell.code == 0, shell.stderr
    assert shell.rows == [{"implausible": 0, "shown": 0}]

    # written by hand (or before a rule was tightened): valid for the schema, not for the rules
    stored = await app.state.database["runs"].find_one({"_id": ObjectId(good["id"])})
    bad = {
        "too_far": {"distance_km": 400.0, "duration_s": 86_400},
        "too_fast": {"distance_km": 10.0, "duration_s": 600},
        "too_short": {"distance_km": 0.1, "duration_s": 30},
        "too_early": {"started_at": datetime(1999, 12, 31, 7, tzinfo=UTC)},
    }
    ids = {}
    for label, changes in bad.items():
        ids[label] = ObjectId()
        await app.state.database["runs"].insert_one({**stored, **changes, "_id": ids[label]})

    shell = await mongosh("implausible_runs.js")
    assert shell.code == 1, shell.stderr
    *runs, summary = shell.rows
    assert summary == {"implausible": 4, "shown": 4}
    breaks = {run["_id"]: run["breaks"] for run in runs}
    assert breaks == {
        ids["too_far"]: ["distance_out_of_range"],
        ids["too_fast"]: ["too_fast"],
        ids["too_short"]: ["duration_out_of_range"],
        ids["too_early"]: ["started_too_early"],
    }
    assert ObjectId(good["id"]) not in breaks

    shell = await mongosh("implausible_runs.js", limit=1)
    *runs, summary = shell.rows
    assert summary == {"implausible": 4, "shown": 1}


@wire
async def test_bucket_drift_counts_are_the_rebuild_verify_counts(
    api: Api, app: FastAPI, mongosh: Mongosh
) -> None:
    await _seed_week(api)
    shell = await mongosh("bucket_drift.js")
    assert shell.code == 0, shell.stderr
    clean = (await rebuild.verify()).counts()
    assert shell.rows == [clean]
    assert clean["expected"] > 0
    assert clean["missing"] == clean["stale"] == clean["changed"] == 0

    # what an operator must never do: edit buckets by hand
    buckets = app.state.database["score_buckets"]
    first = await buckets.find_one({"kind": "team"}, sort=[("_id", 1)])
    last = await buckets.find_one({"kind": "user"}, sort=[("_id", -1)])
    assert first
    assert last
    await buckets.update_one({"_id": first["_id"]}, {"$inc": {"score": 5}})
    await buckets.delete_one({"_id": last["_id"]})
    await buckets.insert_one({**first, "_id": ObjectId()})  # a copy under a foreign id

    shell = await mongosh("bucket_drift.js")
    assert shell.code == 1
    drift = (await rebuild.verify()).counts()
    assert shell.rows == [drift]
    assert (drift["changed"], drift["missing"], drift["stale"]) == (1, 1, 1)

    await rebuild.repair()
    shell = await mongosh("bucket_drift.js")
    assert (shell.code, shell.rows) == (0, [clean]), (await rebuild.verify()).counts()


async def test_repair_after_a_hand_copied_bucket_keeps_the_natural_one(
    api: Api, app: FastAPI
) -> None:
    """The hand edit docs/admin.md warns about: a copy of a bucket under a new _id, beside the
    original. The rebuild deletes the copy and keeps (and corrects) the original."""
    await _seed_week(api)
    buckets = app.state.database["score_buckets"]
    first = await buckets.find_one({"kind": "team"}, sort=[("_id", 1)])
    assert first
    await buckets.update_one({"_id": first["_id"]}, {"$inc": {"score": 5}})
    await buckets.insert_one({**first, "_id": ObjectId()})
    assert (await rebuild.verify()).counts()["stale"] == 1
    await rebuild.repair()
    assert (await rebuild.verify()).clean
    assert (await buckets.find_one({"_id": first["_id"]}))["score"] == first["score"]


@wire
async def test_indexes_recipe_lists_the_indexes_against_the_declared_ones(
    app: FastAPI, mongosh: Mongosh, tmp_path: Path
) -> None:
    done = await asyncio.to_thread(_pipelines_cli, "indexes")
    assert done.returncode == 0, done.stderr
    declared = _ejson(done.stdout)
    declared_file = tmp_path / "indexes.json"
    declared_file.write_text(done.stdout)

    shell = await mongosh("indexes.js", declaredFile=str(declared_file))
    assert shell.code == 0, shell.stdout + shell.stderr
    *lines, totals = shell.rows
    assert totals == {"ok": len(declared), "missing": 0, "different": 0, "extra": 0}
    assert {(line["collection"], line["name"]) for line in lines} == {
        (d["collection"], d["name"]) for d in declared
    }

    runs = app.state.database["runs"]
    await runs.drop_index("started")
    await runs.create_index([("score", -1)], name="by_score")
    shell = await mongosh("indexes.js", declaredFile=str(declared_file))
    assert shell.code == 1
    *lines, totals = shell.rows
    assert totals == {"ok": len(declared) - 1, "missing": 1, "different": 0, "extra": 1}
    status = {line["name"]: line["status"] for line in lines if line["collection"] == "runs"}
    assert (status["started"], status["by_score"], status["user_started"]) == (
        "missing",
        "extra",
        "ok",
    )

    assert (await mongosh("indexes.js")).code == 2
