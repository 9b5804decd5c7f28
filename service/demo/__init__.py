"""Demo data, shared by the startup loader (embedded mode) and `scripts/seed_demo.py`.

Deterministic for a seed and safe to re-run: every document has a key derived from the seed
(email, slug, or an ObjectId drawn from the seeded generator) and is upserted.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Literal

from service.badges import rebuild as badges_rebuild
from service.challenges import rebuild as challenges_rebuild
from service.demo.challenge import load_challenge
from service.demo.challenges import load_challenges
from service.demo.friends import load_friends
from service.demo.goals import load_goals
from service.demo.notifications import load_notifications
from service.demo.progress import NullProgress, Progress
from service.demo.social import load_social
from service.demo.track import load_track
from service.demo.training import load_training
from service.demo.users import load_users
from service.feed import rebuild as feed_rebuild
from service.settings import Settings
from service.xp import rebuild as xp_rebuild

log = logging.getLogger("service.demo")

Size = Literal["full", "embedded"]

DEMO_PASSWORD = "demo-password"


async def load_demo(
    *, settings: Settings, seed: int = 42, size: Size = "full", progress: Progress | None = None
) -> dict[str, int]:
    """Load the demo data set; returns counts of what it upserted."""
    started = time.perf_counter()
    progress = progress or NullProgress()
    rng = random.Random(seed)
    summary: dict[str, int] = {}
    users = await load_users(settings=settings, rng=rng, size=size, progress=progress)
    summary["users"] = len(users)
    summary.update(await load_friends(seed=seed, users=users))
    summary.update(await load_challenge(rng=rng, size=size, users=users, progress=progress))
    summary.update(await load_track(rng=rng, size=size, users=users, progress=progress))
    summary.update(await load_training(seed=seed, size=size, users=users, progress=progress))
    # the demo inserts activities in bulk, without the hooks: derived state comes from rebuilds
    # weekly goals set weeks ago: week totals and goal XP (every week) from the goals' rebuild,
    # entries in bulk; users' xp from the XP rebuild next
    summary.update(await load_goals(seed=seed, users=users))
    summary["xp_entries_added"] = (await xp_rebuild.rebuild(repair=True)).missing
    # challenges (active, ended, recurring, city-vs-city, one per city): progress, completions
    # and their XP from the challenges' rebuild, ended ones included
    summary.update(await load_challenges(rng=rng, users=users))
    drift = await challenges_rebuild.rebuild(repair=True, include_ended=True)
    summary["challenge_participants"] = drift.participants
    # badges after XP (the level rule reads it): the same pass as the rebuild script's
    summary["badges_awarded"] = (await badges_rebuild.rebuild(repair=True, entries=False)).awards
    # posts, comments and likes among runner001's friends; then every feed row (runs, workouts,
    # posts, badges, challenges: the demo wrote them in bulk, without the hooks) from the rebuild
    summary.update(await load_social(seed=seed, users=users))
    # runner001's notifications of the last two weeks, derived from those rows (no hooks ran)
    summary.update(await load_notifications(users=users))
    summary["feed_items"] = (await feed_rebuild.rebuild(repair=True)).rows
    log.info(
        "Demo data loaded in %.1fs: %s (password for every demo user: %r)",
        time.perf_counter() - started,
        summary,
        DEMO_PASSWORD,
    )
    return summary
