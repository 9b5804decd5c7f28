"""create_app() and its lifespan: the only place that opens the database."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from service import db, ratelimit
from service.accounts import service as accounts
from service.accounts.router import auth_router, users_router
from service.athletes.router import router as athletes_router
from service.badges import jobs as badge_jobs
from service.badges import service as badges
from service.badges.router import router as badges_router
from service.challenges import recurrence as challenge_recurrence
from service.challenges.router import router as challenges_router
from service.cities import gazetteer
from service.cities.router import router as cities_router
from service.comments.router import router as comments_router
from service.competitions.router import router as competitions_router
from service.demo import load_demo
from service.docs import install_docs
from service.errors import install_error_handlers, install_problem_openapi
from service.exercises import service as exercises
from service.exercises.router import router as exercises_router
from service.export.router import router as export_router
from service.feed.router import router as feed_router
from service.friends.router import router as friends_router
from service.goals.router import router as goals_router
from service.health.router import router as health_router
from service.imports import service as imports
from service.imports.router import router as imports_router
from service.leaderboards.router import router as leaderboards_router
from service.likes.router import router as likes_router
from service.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from service.notifications.router import router as notifications_router
from service.posts.router import router as posts_router
from service.privacy.router import router as privacy_router
from service.records.router import router as records_router
from service.reports.router import router as reports_router
from service.runs.router import router as runs_router
from service.settings import Settings, get_settings
from service.stats.router import router as stats_router
from service.teams.router import router as teams_router
from service.workouts.router import router as workouts_router
from service.xp.router import router as xp_router

log = logging.getLogger("service")

ROUTERS = [
    health_router,
    auth_router,
    users_router,
    friends_router,
    cities_router,
    teams_router,
    runs_router,
    imports_router,
    export_router,
    exercises_router,
    workouts_router,
    stats_router,
    leaderboards_router,
    competitions_router,
    athletes_router,
    records_router,
    privacy_router,
    xp_router,
    badges_router,
    goals_router,
    challenges_router,
    posts_router,
    comments_router,
    likes_router,
    feed_router,
    notifications_router,
    reports_router,
]

DESCRIPTION = """
Challenge Run: log runs, earn scores, and let teams and whole cities compete.
The same service serves a track fan calendar (athletes, competitions, follows).
Errors are RFC 9457 `application/problem+json`.
"""


DRIVER_LOGGERS = (
    "pymongo",
    "pymongo.command",
    "pymongo.connection",
    "pymongo.serverSelection",
    "pymongo.topology",
)


def quiet_driver_logs() -> None:
    """pymongo logs whole command payloads and replies at DEBUG (password hashes, emails,
    tokens): its loggers stay at WARNING whatever LOG_LEVEL says."""
    for name in DRIVER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    quiet_driver_logs()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, database = await db.connect(settings)
        app.state.client = client
        app.state.database = database
        app.state.rate_limiter = ratelimit.create_limiter(settings)
        # ~2 s of CPU once per process, in a worker thread: the first city lookup or
        # registration should not pay it
        warm_gazetteer = asyncio.create_task(gazetteer.load())
        try:
            await accounts.ensure_admin(settings)
            await exercises.seed_catalogue()
            await badges.seed_catalogue()
            if settings.load_demo:
                await load_demo(settings=settings, seed=settings.demo_seed, size="embedded")
                gc.collect()  # the demo load's leftovers go first (the freeze would keep them)
            # What startup built lives as long as the process (the modules, the app, and on
            # the embedded store every document startup loaded): exempt it from the garbage
            # collector's full scans, which otherwise walk all of it again and again (a
            # 20,000-point import triggers one: ~130 ms over the app's ~160,000 objects).
            # Without a demo load, startup leaves next to no garbage: no collection of ~0.1 s
            # first (an app per test would pay it ~2,000 times in the test suite).
            gc.freeze()
            async with challenge_recurrence.running(settings.challenge_recurrence_interval_s):
                yield
        finally:
            # back under the collector: what this app leaves behind (in tests, apps come and
            # go in one process) can be collected again
            gc.unfreeze()
            warm_gazetteer.cancel()  # the thread finishes on its own; nobody waits for it
            await badge_jobs.wait_idle()  # award jobs of badges just created finish first
            await app.state.rate_limiter.close()
            db.close(client)

    app = FastAPI(
        title="Challenge Run API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # served by install_docs from bundled assets, so the docs work offline
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # activity files are the one body allowed past MAX_BODY_BYTES (up to MAX_UPLOAD_BYTES)
    upload_bytes = settings.max_upload_bytes + imports.MULTIPART_OVERHEAD_BYTES
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        routes={("POST", imports.IMPORT_PATH): max(upload_bytes, settings.max_body_bytes)},
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ratelimit.RateLimitHeadersMiddleware)
    origins = settings.cors_origin_list
    if origins:
        # Added last so it wraps everything: 413s and other early answers get CORS headers too.
        # An explicit origin list only: a wildcard never goes with credentials.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials="*" not in origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After", *ratelimit.HEADER_NAMES],
        )
    for router in ROUTERS:
        app.include_router(router)
    install_problem_openapi(app)
    install_docs(app)
    return app


# `uvicorn service.main:app`: settings come from the environment.
app = create_app()
