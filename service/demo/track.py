"""Demo competitions, events, athletes, calendars and follows (Track Tracker)."""

from __future__ import annotations

import random

from service.demo.progress import Progress
from service.demo.users import DemoUser


async def load_track(
    *, rng: random.Random, size: str, users: list[DemoUser], progress: Progress
) -> dict[str, int]:
    return {}
