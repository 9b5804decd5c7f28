"""Demo cities, teams, memberships and runs (Challenge Run)."""

from __future__ import annotations

import random

from service.demo.progress import Progress
from service.demo.users import DemoUser


async def load_challenge(
    *, rng: random.Random, size: str, users: list[DemoUser], progress: Progress
) -> dict[str, int]:
    return {}
