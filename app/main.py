"""The application factory: ``uvicorn --factory app.main:create_app``."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.engine import Engine

import app.models  # noqa: F401  (every table on the metadata, so that foreign keys resolve)
from app import openapi
from app.admission import Lanes
from app.audit.router import router as audit_router
from app.auth.actor import Actor
from app.auth.policy import GuardedRoute, public
from app.auth.router import router as auth_router
from app.config import Settings, get_settings
from app.counties.router import router as counties_router
from app.db import make_engine
from app.errors import install_error_handlers
from app.idempotency import service as idempotency
from app.imports.router import router as imports_router
from app.interests.router import router as interests_router
from app.invitations.router import router as invitations_router
from app.matches.matcher import Matcher
from app.matches.quality import FillProcess
from app.matches.router import router as matches_router
from app.needs.router import router as needs_router
from app.notifications import reminders
from app.notifications.router import router as notifications_router
from app.outbox.worker import OutboxWorker
from app.placements.router import router as placements_router
from app.plans.router import router as plans_router
from app.plans.runner import PlanRunner
from app.profiles.router import router as profiles_router
from app.stats.router import router as stats_router
from app.web.router import router as web_router
from app.web.router import static as web_static

log = logging.getLogger("xiangcai")

health_router = APIRouter(prefix="/api/v1", tags=["系统"], route_class=GuardedRoute)


class Health(BaseModel):
    status: str
    database: str


@health_router.get("/health", response_model=Health)
def health(request: Request, _actor: Annotated[Actor | None, public()]) -> Health:
    """服务健康检查。"""
    engine: Engine = request.app.state.engine
    return Health(status="ok", database=engine.dialect.name)


def _log_to_stderr() -> None:
    """The service's own messages (``xiangcai.*``: index replayed or rebuilt, outbox, …) at INFO
    beside uvicorn's, unless the host application has configured logging itself."""
    if log.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     [%(name)s] %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def _start_outbox(settings: Settings, engine: Engine) -> OutboxWorker | None:
    """The delivery and reminder loop of this process (each worker process runs one; leases and
    dedupe keys keep them from doing anything twice)."""
    if not settings.outbox_in_process:
        return None
    worker = OutboxWorker(settings, engine)
    log.info("outbox: %s", worker.describe_channels())
    worker.start(tick=reminders.Sweeper(engine, settings).tick)
    return worker


def _start_fill(settings: Settings, matcher: Matcher) -> FillProcess | None:
    """The background fill of the second dense channel, as a low-priority child process (one
    per worker; one fills at a time: ``quality.FillLock``)."""
    if not settings.quality_fill_in_service or matcher.quality is None:
        return None
    fill = FillProcess(settings)
    fill.start()
    return fill


def limit_blas(threads: int) -> None:
    """Give the BLAS libraries loaded in this process ``threads`` threads: numpy's OpenBLAS
    keeps a process-wide count (FAISS's, built on OpenMP, counts per thread and is set in each
    request thread by ``Matcher.sync``); the encoders set their own around each call."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped, unused-ignore]

    threadpool_limits(limits=threads, user_api="blas")


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    matcher: Matcher | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    _log_to_stderr()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_blas(settings.blas_threads)
        # Loading the model and the indexes is CPU and disk work: keep it off the event loop.
        if getattr(app.state, "matcher", None) is None:
            app.state.matcher = await run_in_threadpool(Matcher.start, settings, engine)
        await run_in_threadpool(app.state.plans.sweep)
        outbox = _start_outbox(settings, engine)
        filler = _start_fill(settings, app.state.matcher)
        yield
        if outbox is not None:
            await run_in_threadpool(outbox.stop)
        if filler is not None:
            await run_in_threadpool(filler.stop)
        await run_in_threadpool(app.state.matcher.stop_polling)
        await run_in_threadpool(app.state.matcher.save)

    app = FastAPI(
        title="乡才通 Xiangcai",
        summary="吉林省县域科技特派员与“三乡工程”人才对接服务",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.matcher = matcher
    app.state.plans = PlanRunner(engine, lambda: getattr(app.state, "matcher", None))
    install_error_handlers(app)
    app.add_middleware(Lanes, width=settings.worker_requests)
    idempotency.install(app)
    api_routers = (
        health_router,
        auth_router,
        counties_router,
        profiles_router,
        needs_router,
        placements_router,
        audit_router,
        stats_router,
        matches_router,
        notifications_router,
        interests_router,
        invitations_router,
        imports_router,
        plans_router,
    )
    for router in (*api_routers, web_router):
        app.include_router(router)
    openapi.install(app, api_routers)
    app.mount("/static", web_static, name="static")
    return app
