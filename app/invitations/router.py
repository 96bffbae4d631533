from typing import Annotated

from fastapi import APIRouter, Request

from app.auth import service as accounts
from app.auth.actor import Actor
from app.auth.clients import client_address
from app.auth.policy import CountyActor, GuardedRoute, public
from app.auth.security import create_access_token
from app.common import IdPath
from app.db import SessionDep
from app.invitations import service
from app.invitations.schemas import ClaimIn, ClaimResult, InvitationIssued

router = APIRouter(prefix="/api/v1", tags=["邀请注册"], route_class=GuardedRoute)
PublicActor = Annotated[Actor | None, public()]


@router.post("/profiles/{profile_id}/invitations", response_model=InvitationIssued, status_code=201)
def invite(
    request: Request, session: SessionDep, actor: CountyActor, profile_id: IdPath
) -> InvitationIssued:
    """邀请尚无账号的人才注册（县局、管理员）：返回一次性邀请码，并经短信、邮件发送给本人。"""
    issued = service.invite(
        session,
        profile_id=profile_id,
        actor=actor,
        # XIANGCAI_PUBLIC_URL comes with the outbox's delivery settings; until then the message
        # names the page by its path.
        public_url=request.app.state.settings.public_url,
    )
    session.commit()
    assert issued.invitation.id is not None
    return InvitationIssued(
        id=issued.invitation.id,
        profile_id=profile_id,
        code=issued.code,
        expires_at=issued.invitation.expires_at,
        sent_to=issued.sent_to,
    )


@router.post("/auth/claim", response_model=ClaimResult, status_code=201)
def claim(request: Request, session: SessionDep, _actor: PublicActor, data: ClaimIn) -> ClaimResult:
    """凭邀请码认领人才档案：建立人才账号并登录（邀请码一次有效，7 天内有效）。"""
    account = service.claim(session, data=data, client=client_address(request))
    session.commit()
    assert account.id is not None
    public = accounts.to_public(session, account)
    assert public.profile_id is not None
    token = create_access_token(
        account_id=account.id,
        role=account.role,
        settings=request.app.state.settings,
        token_version=account.token_version,
    )
    return ClaimResult(access_token=token, account=public, profile_id=public.profile_id)
