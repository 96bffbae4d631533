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

router = APIRouter(route_class=PageRoute, include_in_schema=False)
for pages in (auth, needs, placements, talent, audit, admin, inbox, interests, invitations, plans):
    router.include_router(pages.router)

static = StaticFiles(directory=STATIC_DIR)
