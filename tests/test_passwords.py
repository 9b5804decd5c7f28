"""Password hashing: argon2id with the configured cost, rehash on login, off the event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import argon2.low_level
import httpx
import pytest
from fastapi import FastAPI
from passlib.context import CryptContext

from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Api


async def stored_hash(app: FastAPI, email: str) -> str:
    doc = await app.state.database["users"].find_one({"email": email})
    assert doc is not None
    password_hash: str = doc["password_hash"]
    return password_hash


async def test_stored_hash_is_argon2id_with_the_configured_cost(app: FastAPI, api: Api) -> None:
    user = await api.user()
    hashed = await stored_hash(app, user.email)
    # make_settings: time_cost=1, memory_cost=1024, parallelism=1
    assert hashed.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert user.password not in hashed


async def test_login_rehashes_a_hash_made_with_older_parameters(
    app: FastAPI, api: Api, client: httpx.AsyncClient
) -> None:
    user = await api.user(password="correct-horse")
    older = CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__time_cost=2,
        argon2__memory_cost=2048,
        argon2__parallelism=1,
    ).hash("correct-horse")
    users = app.state.database["users"]
    await users.update_one({"email": user.email}, {"$set": {"password_hash": older}})

    # a wrong password never rewrites the hash
    wrong = await client.post("/auth/login", json={"email": user.email, "password": "nope-nope"})
    assert_problem(wrong, 401)
    assert await stored_hash(app, user.email) == older

    assert (await api.login(user.email, "correct-horse")) != ""
    upgraded = await stored_hash(app, user.email)
    assert upgraded != older
    assert upgraded.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    # and the password still works against the new hash
    assert (await api.login(user.email, "correct-horse")) != ""
    assert await stored_hash(app, user.email) == upgraded


class Argon2Recorder:
    """Counts real argon2 computations and the threads they ran in."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, int]] = []
        for name in ("hash_secret", "verify_secret"):
            monkeypatch.setattr(argon2.low_level, name, self._wrap(name))

    def _wrap(self, name: str) -> Callable[..., Any]:
        original = getattr(argon2.low_level, name)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, threading.get_ident()))
            return original(*args, **kwargs)

        return recorded

    def counts(self) -> Counter[str]:
        return Counter(name for name, _ in self.calls)


async def test_hashing_and_verifying_run_off_the_event_loop(
    api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Argon2Recorder(monkeypatch)
    loop_thread = threading.get_ident()  # the test and the app share this event loop thread

    user = await api.user(password="first-password")  # register (hash) + login (verify)
    await client.post("/auth/login", json={"email": user.email, "password": "wrong-password"})
    await client.post("/auth/login", json={"email": "ghost@example.com", "password": "whatever1"})
    r = await client.patch(
        "/users/me",
        json={"password": "second-password", "current_password": "first-password"},
        headers=user.headers,
    )
    assert r.status_code == 200

    counts = recorder.counts()
    assert counts["hash_secret"] >= 2
    assert counts["verify_secret"] >= 4
    assert all(thread != loop_thread for _, thread in recorder.calls)


async def test_unknown_account_costs_the_same_argon2_work_as_a_wrong_password(
    api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Otherwise response times tell an attacker which emails have an account."""
    user = await api.user()
    # the first unknown login may prepare the dummy hash once per process
    await client.post("/auth/login", json={"email": "warm@example.com", "password": "whatever1"})

    recorder = Argon2Recorder(monkeypatch)
    await client.post("/auth/login", json={"email": user.email, "password": "wrong-password"})
    wrong_password = recorder.counts()
    recorder.calls.clear()
    await client.post("/auth/login", json={"email": "ghost@example.com", "password": "whatever1"})
    unknown_account = recorder.counts()

    assert wrong_password == Counter({"verify_secret": 1})
    assert unknown_account == wrong_password


async def test_no_hash_or_password_in_responses_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # LOG_LEVEL=DEBUG, and through the real driver in the wire-server pass: pymongo logs whole
    # command payloads at DEBUG, so the service must keep the driver's loggers quiet.
    caplog.set_level(logging.DEBUG)
    async with serve(make_settings(log_level="DEBUG")) as client:
        assert logging.getLogger("service").isEnabledFor(logging.DEBUG)
        api = Api(client)
        user = await api.user(password="secret-password-1")
        responses = [
            await client.get("/users/me", headers=user.headers),
            await client.get(f"/users/{user.id}"),
            await client.get("/users"),
            await client.get(f"/users/by-email/{user.email}", headers=user.headers),
            await client.post(
                "/auth/login", json={"email": user.email, "password": "secret-password-2"}
            ),
            await client.patch(
                "/users/me",
                json={"password": "secret-password-3", "current_password": "secret-password-1"},
                headers=user.headers,
            ),
        ]
    assert not logging.getLogger("pymongo.command").isEnabledFor(logging.DEBUG)
    for r in responses:
        assert "argon2" not in r.text
        assert "secret-password" not in r.text
    assert "argon2id$" not in caplog.text
    assert "secret-password" not in caplog.text


# --- bounded hashing: HASH_CONCURRENCY and HASH_QUEUE ---------------------------------------


class SlowArgon2:
    """Makes each argon2 verify wait for `release` (or a while) and records how many overlap."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, hold_s: float = 0.0) -> None:
        self.release = threading.Event()
        self.hold_s = hold_s
        self.running = 0
        self.peak = 0
        self.started = 0
        self._lock = threading.Lock()
        original = argon2.low_level.verify_secret

        def verify(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.running += 1
                self.started += 1
                self.peak = max(self.peak, self.running)
            try:
                if self.hold_s:
                    time.sleep(self.hold_s)
                else:
                    assert self.release.wait(timeout=10)
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1

        monkeypatch.setattr(argon2.low_level, "verify_secret", verify)


def wrong_login(client: httpx.AsyncClient, email: str) -> Coroutine[Any, Any, httpx.Response]:
    return client.post("/auth/login", json={"email": email, "password": "wrong-password"})


async def test_argon2_runs_at_most_hash_concurrency_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst of logins queues for argon2 instead of each holding 64 MiB and a core at once."""
    async with serve(make_settings(hash_concurrency=2, hash_queue=30)) as client:
        users = [await Api(client).user() for _ in range(4)]
        slow = SlowArgon2(monkeypatch, hold_s=0.05)
        answers = await asyncio.gather(
            *(wrong_login(client, users[i % 4].email) for i in range(12))
        )
        assert [r.status_code for r in answers] == [401] * 12
        assert slow.started == 12
        assert slow.peak == 2


async def test_logins_beyond_the_queue_get_503_and_cost_no_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serve(make_settings(hash_concurrency=1, hash_queue=1)) as client:
        user = await Api(client).user()
        slow = SlowArgon2(monkeypatch)
        burst = [asyncio.create_task(wrong_login(client, user.email)) for _ in range(4)]
        # one argon2 runs (held), one waits for it: the other two are refused at once
        done, pending = await asyncio.wait(burst, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        while len(done) < 2:
            more, pending = await asyncio.wait(pending, timeout=5)
            done |= more
        refused = [task.result() for task in done]
        for r in refused:
            assert_problem(r, 503)
            assert int(r.headers["Retry-After"]) >= 1
        slow.release.set()
        assert [r.status_code for r in await asyncio.gather(*pending)] == [401, 401]
        assert slow.started == 2

        # the refused attempts checked nothing, so they do not count towards the lockout:
        # after the two real failures, three more wrong guesses are still answered
        for _ in range(3):
            assert_problem(await wrong_login(client, user.email), 401)
        assert_problem(await wrong_login(client, user.email), 429)
