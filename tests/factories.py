"""Builds users (and, in later modules, teams, runs, ...) through the public API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import httpx

_counter = itertools.count(1)


@dataclass
class Account:
    id: str
    name: str
    email: str
    password: str
    token: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def user(
        self,
        name: str | None = None,
        *,
        city: str | None = None,
        password: str = "password123",
        email: str | None = None,
    ) -> Account:
        n = next(_counter)
        name = name or f"Runner {n}"
        email = email or f"runner{n}@example.com"
        payload: dict[str, Any] = {"name": name, "email": email, "password": password}
        if city is not None:
            payload["city"] = city
        r = await self.client.post("/auth/register", json=payload)
        assert r.status_code == 201, r.text
        token = await self.login(email, password)
        return Account(r.json()["id"], name, email.lower(), password, token, r.json())

    async def login(self, email: str, password: str) -> str:
        r = await self.client.post("/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    async def admin(self, name: str | None = None) -> Account:
        """A user promoted to admin directly in the database (as an operator would)."""
        from documents import User

        account = await self.user(name)
        user = await User.find_one(User.email == account.email)
        assert user is not None
        await user.set({User.role: "admin"})
        return account

    # --- cities / teams / invitations factories -------------------------------------------

    async def team(self, owner: Account, name: str | None = None, **fields: Any) -> dict[str, Any]:
        """A custom team created by `owner` (its first member)."""
        payload = {"name": name or f"Team {next(_counter)}", **fields}
        r = await self.client.post("/teams", json=payload, headers=owner.headers)
        assert r.status_code == 201, r.text
        return r.json()

    async def join(self, account: Account, team_id: str) -> None:
        r = await self.client.post(f"/teams/{team_id}/members", headers=account.headers)
        assert r.status_code in (200, 201), r.text

    # --- runs / leaderboards factories ----------------------------------------------------

    # --- competitions / athletes / follows factories --------------------------------------
