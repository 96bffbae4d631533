"""The web pages, in Chinese, served at ``/`` by the same app as the API."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from app.web.deps import PageRoute
from app.web.pages import (
    admin,
    audit,
    auth,
    inbox,
    interests,
    invitations,
    needs,
    placements,
    plans,
    talent,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Every module of pages, in the order their routes are tried.
PAGE_MODULES = (auth, needs, placements, talent, audit, admin, inbox, interests, invitations, plans)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
for pages in PAGE_MODULES:
    router.include_router(pages.router)

static = StaticFiles(directory=STATIC_DIR)
