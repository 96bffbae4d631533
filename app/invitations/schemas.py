from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from app.auth.schemas import AccountPublic, RegisterIn, Token


class TalentState(StrEnum):
    """How a person on a match list or in a proposal can be reached."""

    registered = "registered"  # has an account: answers online
    invited = "invited"  # no account yet, an invitation is open
    offline = "offline"  # no account: the county reaches them itself


TALENT_STATE_LABELS = {
    TalentState.registered: "已注册",
    TalentState.invited: "已邀请，待注册",
    TalentState.offline: "需线下联系",
}


def _typed_code(value: object) -> str:
    # What a person types from an SMS: any case, with spaces or dashes; the letters O, I and L
    # read as the digits they resemble (Crockford's base 32). The messages are written out
    # here: the generic label of a field named "code" is the county code's.
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError("邀请码必须是文本")
    kept = "".join(ch for ch in value.upper() if ch not in " -\t")
    if not kept:
        raise ValueError("请输入邀请码")
    if len(kept) > 32:
        raise ValueError("邀请码不正确，请核对短信或邮件中的邀请码")
    return kept.translate(str.maketrans("OIL", "011"))


InvitationCode = Annotated[
    str,
    BeforeValidator(_typed_code),
    Field(description="邀请码（不区分大小写，可含空格或连字符）"),
]


class InvitationIssued(BaseModel):
    """A new invitation: the code is shown this once and never stored."""

    id: int
    profile_id: int
    code: str
    expires_at: datetime
    sent_to: list[str] = Field(description="已排队发送的渠道（sms、email）；为空时请线下转交")


class ClaimIn(RegisterIn):
    """Claim a profile with an invitation code: the rules of talent registration, plus the code."""

    code: InvitationCode = Field(default="", validate_default=True)


class ClaimResult(Token):
    account: AccountPublic
    profile_id: int
