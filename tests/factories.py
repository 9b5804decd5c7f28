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

    async def members(self, team_id: str) -> list[str]:
        """Member ids in joined order; checks the team's `members` count equals the real list."""
        r = await self.client.get(f"/teams/{team_id}/members", params={"limit": 100})
        assert r.status_code == 200, r.text
        ids = [m["user"]["id"] for m in r.json()["items"]]
        team = await self.client.get(f"/teams/{team_id}")
        assert team.json()["members"] == r.json()["total"] == len(ids), (team.text, r.text)
        return ids

    async def invite(self, owner: Account, team_id: str, invitee: Account) -> dict[str, Any]:
        """A pending invitation from `owner` to `invitee`."""
        r = await self.client.post(
            f"/teams/{team_id}/invitations", json={"user_id": invitee.id}, headers=owner.headers
        )
        assert r.status_code == 201, r.text
        return r.json()

    # --- runs / leaderboards factories ----------------------------------------------------

    async def run(
        self, account: Account, *, idempotency_key: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A run recorded by `account` (201); default 5 km in 30 min, yesterday 07:00 UTC."""
        from datetime import UTC, datetime, timedelta

        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        payload = {
            "started_at": f"{yesterday.isoformat()}T07:00:00Z",
            "distance_km": 5.0,
            "duration_s": 1800,
            **fields,
        }
        headers = dict(account.headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        r = await self.client.post("/runs", json=payload, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()

    # --- competitions / athletes / follows factories --------------------------------------

    async def competition(self, admin: Account, **overrides: Any) -> dict[str, Any]:
        """A scheduled competition created by `admin`, by default a week from today for 3 days."""
        from datetime import UTC, datetime, timedelta

        n = next(_counter)
        start = datetime.now(UTC).date() + timedelta(days=7)
        payload: dict[str, Any] = {
            "name": f"Meeting {n}",
            "sport": "athletics",
            "city": "Zurich",
            "country": "CH",
            "starts_on": start.isoformat(),
            "ends_on": (start + timedelta(days=2)).isoformat(),
        }
        payload.update(overrides)
        r = await self.client.post("/competitions", json=payload, headers=admin.headers)
        assert r.status_code == 201, r.text
        return r.json()

    async def event(
        self, admin: Account, competition: dict[str, Any], **overrides: Any
    ) -> dict[str, Any]:
        """An event at 18:00 UTC on the competition's first day (unless overridden)."""
        n = next(_counter)
        payload: dict[str, Any] = {
            "name": f"100m heat {n}",
            "discipline": "100m",
            "starts_at": f"{competition['starts_on']}T18:00:00Z",
        }
        payload.update(overrides)
        r = await self.client.post(
            f"/competitions/{competition['id']}/events", json=payload, headers=admin.headers
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def athlete(self, account: Account | None = None, **overrides: Any) -> Account:
        """`account` (or a new user) made an athlete; the profile is in `.body["athlete"]`."""
        account = account or await self.user()
        payload: dict[str, Any] = {"disciplines": ["100m"]}
        payload.update(overrides)
        r = await self.client.post("/athletes/me", json=payload, headers=account.headers)
        assert r.status_code == 201, r.text
        account.body["athlete"] = r.json()
        return account

    async def enter(
        self, athlete: Account, event: dict[str, Any], status: str = "planned", **extra: Any
    ) -> dict[str, Any]:
        """Put `event` in `athlete`'s calendar."""
        payload = {"event_id": event["id"], "status": status, **extra}
        r = await self.client.post("/athletes/me/calendar", json=payload, headers=athlete.headers)
        assert r.status_code == 201, r.text
        return r.json()

    async def follow(self, fan: Account, athlete: Account) -> None:
        r = await self.client.put(f"/users/me/following/{athlete.id}", headers=fan.headers)
        assert r.status_code == 204, r.text
