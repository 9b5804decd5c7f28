"""scripts/explain_queries.py on the suite's server: every registered shape is index-served.

Needs a server (TEST_MONGODB_URI: the wire pass, or a real MongoDB); skipped on the embedded
store, which has no query planner (the verdicts are unit-tested on MongoDB-style plans below).
The script loads its own scratch database (a small data set: 300 runs) and drops it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.explain_queries import summarize
from service import queries
from service.queries import registry
from tests.conftest import TEST_MONGODB_URI

ROOT = Path(__file__).resolve().parent.parent

CORE_COLLECTIONS = (
    "users",
    "cities",
    "teams",
    "memberships",
    "invitations",
    "runs",
    "competitions",
    "events",
    "athletes",
    "calendar_entries",
    "follows",
    "score_buckets",
)

needs_server = pytest.mark.skipif(
    not TEST_MONGODB_URI, reason="needs a server with explain: set TEST_MONGODB_URI"
)


@needs_server
def test_every_shape_is_explained_without_a_scan_a_blocking_sort_or_over_reading() -> None:
    assert TEST_MONGODB_URI is not None
    env = {**os.environ, "MONGODB_URI": TEST_MONGODB_URI}
    done = subprocess.run(
        [sys.executable, "-m", "scripts.explain_queries", "--runs", "300"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-3000:]
    header, *shapes, summary = lines
    assert header["loaded"]["runs"] == 300
    by_name = {line["shape"]: line for line in shapes}
    assert set(by_name) == set(registry())
    failed = {name: line["problems"] for name, line in by_name.items() if line["verdict"] == "fail"}
    assert not failed
    assert summary == {"shapes": len(registry()), "failed": []}
    assert done.returncode == 0, done.stderr[-3000:]
    # every collection the generated data set fills has its shapes explained; shapes of
    # collections it leaves empty (routes' best efforts, workouts...) are listed as such
    explained = {line["collection"] for line in shapes if line["verdict"] != "no sample"}
    assert set(CORE_COLLECTIONS) <= explained
    for name, line in by_name.items():
        assert line["verdict"] in ("ok", "exempt", "no sample"), (name, line)
        if line["collection"] in CORE_COLLECTIONS:
            assert line["verdict"] != "no sample", name
        if line["verdict"] == "ok":
            assert "COLLSCAN" not in line["stages"], name
            assert line["docs_examined"] <= line["returned"] + 5, name


# --- the verdict on MongoDB-style explain output (runs on every store) -----------------------


def _explained(plan: dict, *, keys: int, docs: int, returned: int) -> dict:
    return {
        "queryPlanner": {"winningPlan": plan},
        "executionStats": {
            "nReturned": returned,
            "totalKeysExamined": keys,
            "totalDocsExamined": docs,
        },
    }


IXSCAN = {"stage": "IXSCAN", "indexName": "user_started"}
PAGE = {"stage": "LIMIT", "inputStage": {"stage": "FETCH", "inputStage": IXSCAN}}


def test_an_index_walk_that_reads_what_it_returns_is_ok() -> None:
    line = summarize(
        queries.RUNS_OF_USER, _explained(PAGE, keys=21, docs=21, returned=21), sort_judged=True
    )
    assert line["verdict"] == "ok"
    assert line["stages"] == ["LIMIT", "FETCH", "IXSCAN"]
    assert line["index_used"] == ["user_started"]
    assert (line["keys_examined"], line["docs_examined"], line["returned"]) == (21, 21, 21)


def test_a_collection_scan_fails() -> None:
    plan = {"stage": "LIMIT", "inputStage": {"stage": "COLLSCAN"}}
    line = summarize(
        queries.RUNS_OF_USER, _explained(plan, keys=0, docs=21, returned=21), sort_judged=True
    )
    assert line["verdict"] == "fail"
    assert line["problems"] == ["COLLSCAN"]


def test_a_blocking_sort_fails_where_the_server_reports_sorts_faithfully() -> None:
    plan = {"stage": "SORT", "inputStage": {"stage": "FETCH", "inputStage": IXSCAN}}
    explained = _explained(plan, keys=500, docs=500, returned=21)
    judged = summarize(queries.RUNS_OF_USER, explained, sort_judged=True)
    assert judged["verdict"] == "fail"
    assert judged["problems"] == ["blocking SORT", "examined 500 documents for 21 returned"]
    unjudged = summarize(
        queries.RUNS_OF_USER, _explained(plan, keys=21, docs=21, returned=21), sort_judged=False
    )
    assert unjudged["verdict"] == "ok"


def test_over_reading_fails_and_exempt_shapes_are_reported_not_failed() -> None:
    explained = _explained(PAGE, keys=900, docs=900, returned=4)
    line = summarize(queries.RUNS_OF_USER, explained, sort_judged=True)
    assert line["verdict"] == "fail"
    assert line["problems"] == ["examined 900 documents for 4 returned"]
    exempt = summarize(queries.TEAMS_BY_PREFIX, explained, sort_judged=True)
    assert exempt["verdict"] == "exempt"
    assert exempt["why"] == queries.TEAMS_BY_PREFIX.why
