"""Inviting a person without an account (from the match list or a placement): the code is shown
once, on the page that answers the form, and never again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from app.common import IdPath, Role
from app.db import SessionDep
from app.invitations import service as invitations
from app.profiles import service as profiles
from app.web.deps import PageRoute, Viewer, page
from app.web.forms import read_form
from app.web.pages.auth import safe_next
from app.web.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormDep = Annotated[FormData, Depends(read_form)]
Inviter = Annotated[Viewer, page(Role.county, Role.admin)]
CHANNELS = {"sms": "短信", "email": "电子邮件"}


@router.post("/profiles/{profile_id}/invite")
def invite(
    request: Request, session: SessionDep, viewer: Inviter, profile_id: IdPath, data: FormDep
) -> Response:
    """邀请尚无账号的人才注册：显示一次邀请码及有效期，并经短信、邮件发给本人。"""
    back = data.get("next")
    public_url = request.app.state.settings.public_url
    issued = invitations.invite(
        session,
        profile_id=profile_id,
        actor=viewer.actor,
        public_url=public_url,
    )
    session.commit()
    profile = profiles.get(session, profile_id)
    return render(
        request,
        "invitations/issued.html",
        {
            "title": f"邀请注册 · {profile.name}",
            "profile": profile,
            "code": issued.code,
            "expires_at": issued.invitation.expires_at,
            "sent_to": [CHANNELS[c] for c in issued.sent_to],
            "claim_url": public_url.rstrip("/") + invitations.CLAIM_PAGE,
            "back": safe_next(back if isinstance(back, str) else None) or "/needs",
        },
    )
