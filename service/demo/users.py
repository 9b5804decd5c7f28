"""Demo users: 400 runners with deterministic names, emails and home cities."""

from __future__ import annotations

import random
from dataclasses import dataclass

from beanie import PydanticObjectId

from documents import User
from documents.clock import utcnow
from service.demo.progress import Progress
from service.security import hash_password
from service.settings import Settings

FIRST = [
    "Ada",
    "Bea",
    "Carl",
    "Dina",
    "Emil",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jana",
    "Kai",
    "Lena",
    "Milo",
    "Nora",
    "Omar",
    "Pia",
    "Quin",
    "Rosa",
    "Sami",
    "Tess",
    "Udo",
    "Vera",
    "Wim",
    "Xena",
    "Yuri",
    "Zoe",
    "Ana",
    "Luis",
    "Mei",
    "Ravi",
    "Sofia",
    "Tomas",
    "Amara",
    "Kenji",
]
LAST = [
    "Smith",
    "Garcia",
    "Müller",
    "Rossi",
    "Dubois",
    "Silva",
    "Kowalski",
    "Nakamura",
    "Okafor",
    "Jensen",
    "Novak",
    "Larsen",
    "Costa",
    "Fischer",
    "Moreau",
    "Haddad",
    "Ivanova",
    "Byrne",
    "Santos",
    "Tanaka",
    "Andersen",
    "Kaya",
    "Mensah",
    "Nguyen",
    "Popescu",
    "Weber",
]

USER_COUNT = 400


@dataclass(frozen=True)
class DemoUser:
    id: PydanticObjectId
    name: str
    email: str


def demo_user_specs(rng: random.Random, count: int = USER_COUNT) -> list[DemoUser]:
    specs: list[DemoUser] = []
    seen: set[str] = set()
    while len(specs) < count:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if name.casefold() in seen:
            name = f"{name} {len(specs)}"
        seen.add(name.casefold())
        email = f"runner{len(specs) + 1:03d}@demo.challenge.run"
        specs.append(DemoUser(PydanticObjectId(rng.randbytes(12)), name, email))
    return specs


async def load_users(
    *, settings: Settings, rng: random.Random, size: str, progress: Progress
) -> list[DemoUser]:
    """Insert the demo users that are missing; returns every demo user as stored.

    Demo users are keyed by email. Existing ones are kept as they are (id and name), so a
    re-run with any seed creates no duplicates and never renames anyone; a generated name
    already taken by another account gets a number.
    """
    from service.demo import DEMO_PASSWORD

    specs = demo_user_specs(rng)
    progress.start("users", len(specs))
    collection = User.get_motor_collection()
    stored = {
        doc["email"]: DemoUser(doc["_id"], doc["name"], doc["email"])
        async for doc in collection.find(
            {"email": {"$in": [s.email for s in specs]}}, {"name": 1, "email": 1}
        )
    }
    missing = [spec for spec in specs if spec.email not in stored]
    if missing:
        taken = {
            doc["name_key"]
            async for doc in collection.find(
                {"name_key": {"$in": [s.name.casefold() for s in missing]}}, {"name_key": 1}
            )
        }
        # One hash for every demo user: they share the documented demo password.
        password_hash = await hash_password(settings, DEMO_PASSWORD)
        now = utcnow()
        docs = []
        for number, spec in enumerate(missing, start=1):
            name = spec.name if spec.name.casefold() not in taken else f"{spec.name} {number}"
            docs.append(
                User(
                    id=spec.id,
                    name=name,
                    name_key=name.casefold(),
                    email=spec.email,
                    password_hash=password_hash,
                    created_at=now,
                ).model_dump(by_alias=True, exclude={"revision_id"})
            )
            stored[spec.email] = DemoUser(spec.id, name, spec.email)
        await collection.insert_many(docs, ordered=False)
    progress.advance(len(specs))
    return [stored[spec.email] for spec in specs]
