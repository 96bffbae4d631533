from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventPublic(BaseModel):
    seq: int
    created_at: datetime
    actor_id: int | None
    actor_username: str
    actor_role: str
    action: str
    action_label: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    context: dict[str, Any] | None
    hash: str
    prev_hash: str


class VerifyPublic(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None
    message: str
