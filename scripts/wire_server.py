#!/usr/bin/env python3
"""A throwaway MongoDB wire-protocol server for tests: `secantusd-py` from the `secantusdb` package.

Standard library only, so `scripts/dev.py` can use it before anything else is imported. The
daemon is a separate process (secantusdb is GPL-2.0-only and is never imported by the service
or the tests), listens on a free loopback port, keeps its data in a temporary directory, and
is stopped and its directory removed whatever happens.

    with wire_server() as uri:            # mongodb://127.0.0.1:<port>/?directConnection=true
        ...

    python3 scripts/wire_server.py                 # start one and print its URI until Ctrl-C
    python3 scripts/wire_server.py -- CMD ARGS...  # run CMD with TEST_MONGODB_URI set to it
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / ("Scripts" if os.name == "nt" else "bin")
DAEMON = "secantusd-py"


def pinned_version(package: str = "secantusdb") -> str:
    """The version requirements-dev.txt pins (shown in the test command's summary)."""
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name.lower() == package:
            return version
    return "unpinned"


STARTUP_TIMEOUT_S = float(os.environ.get("WIRE_SERVER_STARTUP_TIMEOUT", "60"))
STOP_TIMEOUT_S = 15.0


class WireServerError(RuntimeError):
    """The daemon did not start (or is not installed); the message carries its log tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping_message() -> bytes:
    """OP_MSG {ping: 1, $db: "admin"}, written by hand to stay standard-library only."""
    db = b"admin\x00"
    elements = (
        b"\x10ping\x00" + struct.pack("<i", 1) + b"\x02$db\x00" + struct.pack("<i", len(db)) + db
    )
    document = struct.pack("<i", 4 + len(elements) + 1) + elements + b"\x00"
    body = struct.pack("<I", 0) + b"\x00" + document  # flagBits, section kind 0
    return struct.pack("<iiii", 16 + len(body), 1, 0, 2013) + body


def ping(port: int, timeout: float = 2.0) -> bool:
    """True when the server on this port answers `ping` with ok: 1."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(_ping_message())
            reply = b""
            while len(reply) < 4 or len(reply) < struct.unpack("<i", reply[:4])[0]:
                chunk = sock.recv(65536)
                if not chunk:
                    return False
                reply += chunk
    except OSError:
        return False
    ok_double = b"\x01ok\x00" + struct.pack("<d", 1.0)
    return struct.unpack("<i", reply[12:16])[0] == 2013 and ok_double in reply


def _log_tail(log: Path, lines: int = 30) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _daemon() -> str:
    path = BIN / DAEMON
    if path.exists():
        return str(path)
    found = shutil.which(DAEMON)
    if not found:
        raise WireServerError(
            f"{DAEMON} not found: install the test requirements "
            "(.venv/bin/pip install -r requirements-dev.txt)"
        )
    return found


@contextlib.contextmanager
def wire_server(timeout: float = STARTUP_TIMEOUT_S) -> Iterator[str]:
    """Start the daemon, wait until it answers a ping, yield its URI; always stop and clean up."""
    home = Path(tempfile.mkdtemp(prefix="secantusd-"))
    # An empty config file: no ./secantusd.toml or ~/.secantus one can change the test server.
    config = home / "secantusd.toml"
    config.write_text("")
    log = home / "secantusd.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *[_daemon(), "--config", str(config)],
                    *["--host", "127.0.0.1", "--port", str(port)],
                    *["--storage-path", str(home / "data"), "--log-level", "INFO"],
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C reaches us, and we stop the daemon after the tests
                # have cleaned up, instead of the daemon dying under them.
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not ping(port):
            if process.poll() is not None:
                raise WireServerError(
                    f"{DAEMON} exited with code {process.returncode} before answering a ping; "
                    f"its log:\n{_log_tail(log)}"
                )
            if time.monotonic() > deadline:
                raise WireServerError(
                    f"{DAEMON} did not answer a ping on 127.0.0.1:{port} within {timeout:.0f} s "
                    f"(WIRE_SERVER_STARTUP_TIMEOUT); its log:\n{_log_tail(log)}"
                )
            time.sleep(0.1)
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
        if process.poll() is not None:
            raise WireServerError(
                f"{DAEMON} stopped during the run (code {process.returncode}); "
                f"its log:\n{_log_tail(log)}"
            )
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(home, ignore_errors=True)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks (stopping the daemon) still run."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(argv: list[str]) -> int:
    exit_on_sigterm()
    command = argv[argv.index("--") + 1 :] if "--" in argv else []
    try:
        with wire_server() as uri:
            if command:
                env = {**os.environ, "TEST_MONGODB_URI": uri, "TEST_MONGODB_SERVER": "secantusdb"}
                return subprocess.run(command, env=env).returncode
            print(uri, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    except WireServerError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
