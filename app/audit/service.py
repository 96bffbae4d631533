"""Appending to and checking the audit chain.

``record`` queues an event on the session; the events are written by a ``before_commit`` hook,
inside the same transaction as the change they describe, so there is no change without its
event and no event without its change. Writing them last also means the chain lock is the last
lock a transaction takes: appends are serialised (a PostgreSQL advisory lock; SQLite already
serialises writers with BEGIN IMMEDIATE) without ever waiting on a row lock while holding it,
and the chain order is the commit order.
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from app.audit.chain import GENESIS_HASH, canonical_json, event_hash
from app.audit.models import AuditEvent, AuditHead
from app.audit.schemas import AuditEventPublic
from app.auth.actor import Actor
from app.common import mask_email, mask_phone, public_of
from app.db import page_of, utcnow

_ADVISORY_LOCK_KEY = 7_200_180_051  # any constant shared by every process of the service
_QUEUE = "audit_pending"
_MARKS = "audit_savepoint_marks"


@dataclass(frozen=True)
class PendingEvent:
    action: str
    entity: str
    entity_id: Any = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    context: dict[str, Any] | None = None


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> None:
    record_many(
        session,
        actor=actor,
        events=[PendingEvent(action, entity, entity_id, before, after, context)],
    )


def fields_of(row: Any, names: Sequence[str]) -> dict[str, Any]:
    """What the trail keeps of a row: the named attributes, dates as ISO text, lists as lists."""
    return {name: _plain(getattr(row, name)) for name in names}


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return list(value)
    return value


def record_saved(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    row: Any,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> None:
    """Save a new or edited row (a new one gets its id) with its event."""
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=row.id,
        before=before,
        after=after,
        context=context,
    )


def record_update(
    session: Session,
    *,
    actor: Actor,
    entity: str,
    row: Any,
    before: dict[str, Any],
    after: dict[str, Any],
    context: dict[str, Any] | None = None,
) -> bool:
    """Save an edited row with its ``<entity>.update`` event; False (nothing saved) when the
    audited fields did not change."""
    if after == before:
        return False
    row.updated_at = utcnow()
    record_saved(
        session,
        actor=actor,
        action=f"{entity}.update",
        entity=entity,
        row=row,
        before=before,
        after=after,
        context=context,
    )
    return True


def record_delete(
    session: Session, *, actor: Actor, entity: str, row: Any, before: dict[str, Any]
) -> None:
    """Delete a row with its ``<entity>.delete`` event."""
    row_id = row.id
    session.delete(row)
    session.flush()
    record(
        session,
        actor=actor,
        action=f"{entity}.delete",
        entity=entity,
        entity_id=row_id,
        before=before,
    )


def record_many(session: Session, *, actor: Actor, events: list[PendingEvent]) -> None:
    """Queue events; they are appended to the chain when the session commits."""
    session.info.setdefault(_QUEUE, []).extend((actor, e) for e in events)


def _lock_chain(session: OrmSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})


def _append(session: OrmSession, queued: list[tuple[Actor, PendingEvent]]) -> None:
    session.flush()  # the changes first: a change that fails never reaches the chain
    _lock_chain(session)
    head = session.get(AuditHead, 1, with_for_update=True, populate_existing=True)
    seq = head.seq if head else 0
    prev_hash = head.hash if head else GENESIS_HASH
    now = utcnow()
    rows = []
    for actor, pending in queued:
        seq += 1
        ctx = dict(pending.context or {})
        if actor.client and "client" not in ctx:
            ctx["client"] = actor.client
        fields: dict[str, Any] = {
            "seq": seq,
            "created_at": now,
            "actor_id": actor.id,
            "actor_username": actor.username,
            "actor_role": actor.role,
            "action": pending.action,
            "entity": pending.entity,
            "entity_id": None if pending.entity_id is None else str(pending.entity_id),
            "before": canonical_json(pending.before),
            "after": canonical_json(pending.after),
            "context": canonical_json(ctx) if ctx else None,
            "prev_hash": prev_hash,
        }
        prev_hash = event_hash(fields)
        rows.append(AuditEvent(**fields, hash=prev_hash))
    session.add_all(rows)
    if head is None:
        session.add(AuditHead(id=1, seq=seq, hash=prev_hash))
    else:
        head.seq = seq
        head.hash = prev_hash
    session.flush()


@event.listens_for(OrmSession, "before_commit")
def _write_pending(session: OrmSession) -> None:
    queued = session.info.pop(_QUEUE, None)
    if queued:
        _append(session, queued)


@event.listens_for(OrmSession, "after_transaction_create")
def _mark_savepoint(session: OrmSession, transaction: Any) -> None:
    """Remember how many events were queued when a savepoint began."""
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, {})
        marks[id(transaction)] = len(session.info.get(_QUEUE, []))


@event.listens_for(OrmSession, "after_soft_rollback")
def _drop_pending(session: OrmSession, previous: Any) -> None:
    """A rolled-back savepoint takes back only the events queued inside it; a rolled-back
    transaction takes back all."""
    marks = session.info.get(_MARKS, {})
    if previous.nested and id(previous) in marks:
        queue = session.info.get(_QUEUE)
        if queue is not None:
            del queue[marks.pop(id(previous)) :]
        return
    session.info.pop(_QUEUE, None)
    session.info.pop(_MARKS, None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None = None


def _iter_events(session: Session, batch: int = 2000) -> Iterator[Any]:
    """Plain rows in sequence order, fetched in batches so memory stays flat."""
    columns = [getattr(AuditEvent, c) for c in AuditEvent.model_fields]
    last = 0
    while True:
        rows = session.execute(
            select(*columns)
            .where(col(AuditEvent.seq) > last)
            .order_by(col(AuditEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(session: Session) -> VerifyResult:
    """Recompute every link; report the first sequence number that does not hold."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for ev in _iter_events(session):
        if ev.seq != expected_seq:
            # A missing event (deleted) or one inserted with a made-up number.
            return VerifyResult(False, checked, min(ev.seq, expected_seq), "sequence_gap")
        if ev.prev_hash != prev_hash:
            return VerifyResult(False, checked, ev.seq, "broken_link")
        if event_hash(ev._mapping) != ev.hash:
            return VerifyResult(False, checked, ev.seq, "hash_mismatch")
        checked += 1
        prev_hash = ev.hash
        expected_seq += 1
    head = session.exec(select(AuditHead).where(AuditHead.id == 1)).first()
    last_seq = expected_seq - 1
    if head is None:
        if last_seq:
            return VerifyResult(False, checked, last_seq, "head_missing")
    elif head.seq != last_seq or head.hash != prev_hash:
        # Events after the last one we saw were removed (or the head was edited).
        return VerifyResult(False, checked, min(head.seq, last_seq + 1), "truncated")
    return VerifyResult(True, checked, None)


# --- reading the trail ------------------------------------------------------------------------

ACTION_LABELS = {
    "auth.login": "登录成功",
    "auth.login_failed": "登录失败",
    "auth.login_throttled": "登录受限（失败次数过多）",
    "account.create": "创建账号",
    "account.update": "修改账号",
    "profile.create": "建立档案",
    "profile.update": "修改档案",
    "profile.delete": "删除档案",
    "need.create": "发布需求",
    "need.update": "修改需求",
    "need.delete": "删除需求",
    "placement.propose": "推荐人选",
    "placement.accept": "接受推荐",
    "placement.decline": "婉拒推荐",
    "placement.start": "开始服务",
    "placement.complete": "完成服务",
    "placement.cancel": "取消对接",
    "report.create": "提交服务记录",
    "account.channels": "修改消息接收方式",
    "interest.create": "表达意向",
    "interest.reactivate": "重新表达意向",
    "interest.withdraw": "撤回意向",
    "invitation.create": "邀请人才注册",
    "invitation.claim": "凭邀请码认领档案",
    "plan.create": "发起统筹规划",
    "plan.finish": "统筹规划完成",
    "plan.fail": "统筹规划失败",
}

SIGN_IN_ACTIONS = ("auth.login", "auth.login_failed", "auth.login_throttled")

VERIFY_MESSAGES = {
    None: "审计链完整，未发现篡改",
    "sequence_gap": "审计事件序号不连续：有事件被删除或被插入",
    "broken_link": "审计事件与前一事件的哈希链接断开",
    "hash_mismatch": "审计事件内容与其哈希不符：记录被修改",
    "truncated": "审计链末尾的事件缺失",
    "head_missing": "审计链头记录缺失",
}


def _json(text_value: str | None) -> Any:
    return json.loads(text_value) if text_value else None


# Contact details are masked for every reader but an administrator (keys such as
# ``contact_phone``, ``phone``, ``email``, at any depth). Only what is shown is masked: the stored
# payload, which the hash chain covers, is never touched.
_CONTACT_MASKS = (("phone", mask_phone), ("email", mask_email))


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _masked_item(str(key), item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _masked_item(key: str, value: Any) -> Any:
    for suffix, mask in _CONTACT_MASKS:
        if key.endswith(suffix) and isinstance(value, str):
            return mask(value)
    return _masked(value)


def to_public(ev: AuditEvent, *, reveal_contacts: bool = False) -> AuditEventPublic:
    """The event as shown; ``reveal_contacts`` only for administrators."""

    def payload(text_value: str | None) -> Any:
        data = _json(text_value)
        return data if reveal_contacts else _masked(data)

    return public_of(
        AuditEventPublic,
        ev,
        action_label=ACTION_LABELS.get(ev.action, ev.action),
        before=payload(ev.before),
        after=payload(ev.after),
        context=payload(ev.context),
    )


def list_events(
    session: Session,
    *,
    actor_username: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sign_ins: bool = True,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[AuditEvent], int]:
    """Events newest first; ``sign_ins=False`` leaves out the sign-in records (most of the
    trail by number), unless ``action`` asks for one of them."""
    conditions: list[Any] = []
    if not sign_ins and not action:
        conditions.append(col(AuditEvent.action).not_in(SIGN_IN_ACTIONS))
    if actor_username:
        conditions.append(AuditEvent.actor_username == actor_username)
    if entity:
        conditions.append(AuditEvent.entity == entity)
    if entity_id:
        conditions.append(AuditEvent.entity_id == entity_id)
    if action:
        conditions.append(AuditEvent.action == action)
    if since:
        conditions.append(col(AuditEvent.created_at) >= since)
    if until:
        conditions.append(col(AuditEvent.created_at) < until)
    return page_of(session, AuditEvent, conditions, [col(AuditEvent.seq).desc()], page, page_size)
