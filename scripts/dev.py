#!/usr/bin/env python3
"""Quick start helper (standard library only, so it runs on a fresh machine with just Python).

    python3 scripts/dev.py serve   # the API on http://localhost:8000, embedded store + demo data
    python3 scripts/dev.py test    # ruff, mypy and the whole pytest suite

Both create `.venv` when missing and (re)install requirements whenever they change.
"""

from __future__ import annotations

import hashlib
import os
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
        "--proxy-headers",
        *extra,
    )


def test(extra: list[str]) -> int:
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
    return run("-m", "pytest", *extra)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    command, extra = sys.argv[1], sys.argv[2:]
    return serve(extra) if command == "serve" else test(extra)


if __name__ == "__main__":
    sys.exit(main())
