"""Who learns of each step of a placement, and what they read (消息, e-mail, SMS).

Called by ``service`` inside the transaction of the step: the notice commits with it or not at
all. The person hears of a proposal; the county of the answers; both sides of the steps after.
"""

from __future__ import annotations

from sqlmodel import Session

from app.auth.models import Account
from app.counties.models import County
from app.needs.models import Need
from app.notifications import service as notifications
from app.notifications.service import Message
from app.placements.models import Placement
from app.placements.schemas import DECLINE_REASONS
from app.profiles.models import Profile


def _county_name(session: Session, code: str) -> str:
    county = session.get(County, code)
    return county.name if county else code


def _talent(session: Session, placement: Placement) -> list[Account]:
    owner = notifications.owner_of(session, placement.profile_id)
    return [owner] if owner is not None else []


def _county(session: Session, placement: Placement) -> list[Account]:
    return notifications.county_officers(session, placement.county_code)


def placement_step(
    session: Session, placement: Placement, need: Need, profile: Profile, action: str
) -> None:
    """The notices of ``action`` (propose or one of rules.TRANSITIONS) on ``placement``."""
    county = _county_name(session, need.county_code)
    link = f"/placements/{placement.id}"
    who = profile.name
    what = f"{county}「{need.title}」"
    if action == "propose":
        notifications.notify(
            session,
            accounts=_talent(session, placement),
            message=Message(
                "placement.proposed",
                f"{county}推荐您对接「{need.title}」",
                f"{county}希望您参与「{need.title}」。请在乡才通中查看需求并答复接受或婉拒。",
                link,
            ),
        )
    elif action == "accept":
        notifications.notify(
            session,
            accounts=_county(session, placement),
            message=Message(
                "placement.accepted",
                f"{who}已接受{what}的推荐",
                f"{who}已接受推荐，联系方式已对本县开放。请与其商定并确认开始服务。",
                link,
            ),
        )
    elif action == "decline":
        reason = DECLINE_REASONS.get(placement.decline_code or "", "未说明")
        note = f"：{placement.decline_note}" if placement.decline_note else ""
        notifications.notify(
            session,
            accounts=_county(session, placement),
            message=Message(
                "placement.declined",
                f"{who}婉拒了{what}的推荐",
                f"婉拒理由：{reason}{note}。可在匹配名单中另选人选。",
                f"/needs/{need.id}/matches",
            ),
        )
    else:
        kind, title, body = {
            "start": ("placement.started", f"{what}已开始服务", f"{who}的服务已开始。"),
            "complete": ("placement.completed", f"{what}服务已完成", f"{who}的服务已完成。"),
            "cancel": (
                "placement.cancelled",
                f"{what}的对接已取消",
                f"{who}与{what}的对接已取消。理由：{placement.cancel_reason or '未说明'}",
            ),
        }[action]
        notifications.notify(
            session,
            accounts=[*_talent(session, placement), *_county(session, placement)],
            message=Message(kind, title, body, link),
        )
