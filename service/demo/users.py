"""Demo users: 400 runners with deterministic names, emails and home cities."""

from __future__ import annotations

import random
from dataclasses import dataclass

from beanie import PydanticObjectId
from pymongo import UpdateOne

from documents import User
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
    from service.demo import DEMO_PASSWORD

    specs = demo_user_specs(rng)
    progress.start("users", len(specs))
    # One hash for every demo user: they share the documented demo password.
    password_hash = await hash_password(settings, DEMO_PASSWORD)
    ops = []
    for spec in specs:
        ops.append(
            UpdateOne(
                {"email": spec.email},
                {
                    "$set": {"name": spec.name, "name_key": spec.name.casefold()},
                    "$setOnInsert": {
                        "_id": spec.id,
                        "email": spec.email,
                        "password_hash": password_hash,
                        "role": "user",
                        "city_id": None,
                        "bio": None,
                        "xp": 0,
                        "level": 1,
                        "token_version": 0,
                        "created_at": User.model_fields["created_at"].default_factory(),  # type: ignore[misc]
                    },
                },
                upsert=True,
            )
        )
    await User.get_motor_collection().bulk_write(ops, ordered=False)
    progress.advance(len(specs))
    return specs
