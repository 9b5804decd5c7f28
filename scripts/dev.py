#!/usr/bin/env python3
"""Quick start helper (standard library only, so it runs on a fresh machine with just Python).

    python3 scripts/dev.py serve   # the API on http://localhost:8000, embedded store + demo data
    python3 scripts/dev.py test    # ruff, mypy, the whole pytest suite, then the `clock`
                                   # tests again at a few awkward moments (Monday 00:30 UTC, ...)

The suite runs twice: on the embedded store, then through the real driver against a
throwaway `secantusd-py` wire server (`--store embedded` or `--store wire` runs one only;
other arguments go to pytest), each on every CPU (pytest-xdist, one wire server per worker;
TEST_WORKERS=N sets how many workers).

Both create `.venv` when missing and (re)install requirements whenever they change.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".requirements.sha256"


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "requirements-dev.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may be run by an older python3)
        sys.exit("Python 3.11 or newer is required")
    if not PY.exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    wanted = _requirements_digest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("Installing requirements into .venv ...", flush=True)
        subprocess.run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run(
            [str(PY), "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements-dev.txt")],
            check=True,
        )
        STAMP.write_text(wanted)


MONGOSH_VERSION = "2.12.0"  # the mongosh the recipes are tested with (npm; runs on Node.js 20)
MONGOSH_DIR = ROOT / ".tools" / "mongosh"


def ensure_mongosh() -> str | None:
    """mongosh for tests/test_mongosh_recipes.py: installed from npm into .tools/mongosh.

    Sets MONGOSH to its path for pytest, or MONGOSH_SKIPPED to why there is none (no Node.js,
    install failed); a MONGOSH already set is used as it is.
    """
    if os.environ.get("MONGOSH"):
        return os.environ["MONGOSH"]
    binary = (
        MONGOSH_DIR / "node_modules" / ".bin" / ("mongosh.cmd" if os.name == "nt" else "mongosh")
    )
    package = MONGOSH_DIR / "node_modules" / "mongosh" / "package.json"
    installed = package.exists() and f'"version": "{MONGOSH_VERSION}"' in package.read_text()
    reason = None
    npm = shutil.which("npm")
    if not shutil.which("node") or not npm:
        reason = "Node.js not found"  # mongosh is a Node.js program, even when installed
    elif not installed:
        print(f"Installing mongosh {MONGOSH_VERSION} into .tools/mongosh (npm) ...", flush=True)
        command = [npm, "install", "--prefix", str(MONGOSH_DIR), "--no-audit", "--no-fund"]
        done = subprocess.run(
            [*command, "--loglevel=error", f"mongosh@{MONGOSH_VERSION}"], cwd=ROOT
        )
        if done.returncode or not binary.exists():
            reason = f"npm install mongosh@{MONGOSH_VERSION} failed"
    if reason:
        print(f"mongosh step skipped: {reason}", flush=True)
        os.environ["MONGOSH_SKIPPED"] = reason
        return None
    os.environ["MONGOSH"] = str(binary)
    return str(binary)


def run(*args: str) -> int:
    return subprocess.run([str(PY), *args], cwd=ROOT).returncode


def serve(extra: list[str]) -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    print(f"Challenge Run on http://localhost:{port} (docs: /docs)", flush=True)
    return run(
        "-m",
        "uvicorn",
        "service.main:app",
        "--host",
        host,
        "--port",
        port,
        # the app reads X-Forwarded-For itself, from TRUSTED_PROXIES only (service/ratelimit.py)
        "--no-proxy-headers",
        *extra,
    )


# Moments when date logic that is only nearly right breaks. The `clock` tests run at each
# (CHALLENGE_RUN_NOW, see tests/conftest.py) after the whole suite has run at the real time.
AWKWARD_MOMENTS = (
    "2027-03-01T00:30:00Z",  # Monday 00:30 UTC, also the 1st: this week and month are empty
    "2026-12-31T23:59:30Z",  # 30 s before a new year
    "2028-02-29T12:00:00Z",  # a leap day
)


def test_awkward_moments(extra: list[str]) -> int:
    """Run the `clock`-marked tests at each awkward moment (only with no pytest arguments)."""
    if extra:
        return 0
    parallel = xdist_args(workers(extra))
    for moment in AWKWARD_MOMENTS:
        print(f"clock tests at {moment} ...", flush=True)
        env = {**os.environ, "CHALLENGE_RUN_NOW": moment}
        code = subprocess.run(
            [str(PY), "-m", "pytest", "-q", "-m", "clock", "-p", "no:cacheprovider", *parallel],
            cwd=ROOT,
            env=env,
        ).returncode
        if code:
            print(f"clock tests failed at CHALLENGE_RUN_NOW={moment}", flush=True)
            return code
    return 0


STORES = ("embedded", "wire")


def split_stores(extra: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """`--store embedded|wire` (repeatable) picks the stores; the other arguments go to pytest."""
    stores: list[str] = []
    rest: list[str] = []
    args = iter(extra)
    for arg in args:
        if arg == "--store" or arg.startswith("--store="):
            value = arg.partition("=")[2] or next(args, "")
            if value not in STORES:
                sys.exit(f"--store takes one of {', '.join(STORES)}, not {value!r}")
            stores.append(value)
        else:
            rest.append(arg)
    return tuple(stores) or STORES, rest


def _summary(report: Path) -> tuple[str, list[str]]:
    """'N passed, M xfailed, ...' and the xfailed test ids, from pytest's JUnit XML report."""
    import xml.etree.ElementTree as ElementTree
    from collections import Counter

    counts: Counter[str] = Counter()
    xfailed: list[str] = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        node_id = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        outcome = next((child for child in case if child.tag != "properties"), None)
        if outcome is None or outcome.tag in {"system-out", "system-err"}:
            counts["passed"] += 1
        elif outcome.tag == "skipped" and outcome.get("type") == "pytest.xfail":
            counts["xfailed"] += 1
            xfailed.append(node_id)
        elif outcome.tag == "skipped":
            counts["skipped"] += 1
        else:  # failure, error (an XPASS(strict) is a failure)
            counts["failed" if outcome.tag == "failure" else "errors"] += 1
    order = ("passed", "failed", "errors", "skipped", "xfailed")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts[k]) or "no tests ran", xfailed


def xdist_args(count: int) -> list[str]:
    """pytest's arguments for `count` workers; idle workers take tests queued on busy ones."""
    return ["-n", str(count), "--dist", "worksteal"] if count > 1 else []


def workers(extra: list[str]) -> int:
    """How many pytest-xdist workers: TEST_WORKERS, else one per CPU (at most 4); 1 when the
    arguments choose their own (-n, -p no:xdist) or a debugger (--pdb, -x stops one worker only)."""
    if any(
        arg in {"-n", "--numprocesses", "--pdb", "-x", "--exitfirst"}
        or arg.startswith(("-n", "--numprocesses="))
        or arg == "no:xdist"
        for arg in extra
    ):
        return 1
    wanted = os.environ.get("TEST_WORKERS", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return max(1, min(os.cpu_count() or 1, 4))


def test_stores(stores: tuple[str, ...], extra: list[str]) -> int:
    """pytest on each store: the embedded one, then through the real driver (pymongo/Motor)
    against a throwaway secantusd-py wire server (scripts/wire_server.py); a line per store."""
    import tempfile

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from scripts.wire_server import WireServerError, exit_on_sigterm, pinned_version, wire_server

    exit_on_sigterm()  # CI stopping us still stops the wire server
    results: list[tuple[str, int, str, list[str]]] = []
    count = workers(extra)
    parallel = xdist_args(count)
    with tempfile.TemporaryDirectory(prefix="challenge-run-tests-") as reports:
        for store in stores:
            report = Path(reports) / f"{store}.xml"
            command = [str(PY), "-m", "pytest", f"--junitxml={report}", *parallel, *extra]
            if store == "embedded":
                label = "embedded"
                print(f"pytest on the embedded store ({count} worker(s)) ...", flush=True)
                env = {
                    k: v
                    for k, v in os.environ.items()
                    if k not in {"TEST_MONGODB_URI", "TEST_MONGODB_URIS"}
                }
                code = subprocess.run(command, cwd=ROOT, env=env).returncode
            else:
                label = f"wire server (secantusdb {pinned_version()})"
                print(
                    f"pytest through the real driver on a {label} ({count} worker(s)) ...",
                    flush=True,
                )
                try:
                    # one server per worker: secantusd-py answers one request at a time
                    with contextlib.ExitStack() as servers:
                        uris = [servers.enter_context(wire_server()) for _ in range(count)]
                        env = {
                            **os.environ,
                            "TEST_MONGODB_URI": uris[0],
                            "TEST_MONGODB_URIS": " ".join(uris),
                        }
                        code = subprocess.run(command, cwd=ROOT, env=env).returncode
                except WireServerError as error:
                    print(error, flush=True)
                    code = 1
            counts, xfailed = _summary(report) if report.exists() else ("no report", [])
            results.append((label, code, counts, xfailed))
    print(flush=True)
    for label, code, counts, xfailed in results:
        print(f"{label}: {counts}{'' if code == 0 else f' (exit code {code})'}", flush=True)
        for node_id in xfailed:
            print(f"    expected failure (tests/wire_server_bugs.py): {node_id}", flush=True)
    return next((code for _, code, _, _ in results if code), 0)


def test(extra: list[str]) -> int:
    stores, extra = split_stores(extra)
    ensure_mongosh()  # MONGOSH for tests/test_mongosh_recipes.py (the wire-server pass)
    checks = (
        ["-m", "ruff", "check", "."],
        ["-m", "ruff", "format", "--check", "."],
        ["-m", "mypy", "service", "documents"],
    )
    for step in checks:
        code = run(*step)
        if code:
            print(
                f"{step[1]} found problems (ruff fixes most: .venv/bin/ruff check --fix . && "
                ".venv/bin/ruff format .)",
                flush=True,
            )
            return code
    return test_stores(stores, extra) or test_awkward_moments(extra)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    command, extra = sys.argv[1], sys.argv[2:]
    return serve(extra) if command == "serve" else test(extra)


if __name__ == "__main__":
    sys.exit(main())
