"""``Idempotency-Key``: a retried request returns the first answer and changes nothing.

The first successful answer is stored in the same transaction as the change. A retry with the
same key (from the same account) and the same request gets that answer back with the header
``Idempotent-Replayed: true``; the same key on a different request is refused. A request that
fails stores nothing (its transaction rolls back), so it can simply be sent again.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.auth.actor import Actor
from app.db import utcnow
from app.errors import AppError
from app.idempotency.models import IdempotencyRecord

HEADER = "Idempotency-Key"


class Replayed(Exception):  # noqa: N818 - not an error: the stored answer to send back
    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record

    def response(self) -> JSONResponse:
        return JSONResponse(
            status_code=self.record.status_code,
            content=json.loads(self.record.body),
            headers={"Idempotent-Replayed": "true"},
        )


@dataclass
class Idempotency:
    key: str | None
    fingerprint: str

    def _stored(self, session: Session, actor: Actor) -> IdempotencyRecord | None:
        if self.key is None or actor.id is None:
            return None
        return session.exec(
            select(IdempotencyRecord)
            .where(IdempotencyRecord.actor_id == actor.id, IdempotencyRecord.key == self.key)
            .execution_options(populate_existing=True)
        ).first()

    def begin(self, session: Session, actor: Actor) -> None:
        """Claim the key for this request, or raise ``Replayed`` with the stored answer.

        The claim is a row inserted in the request's own transaction. A concurrent copy of the
        request blocks on that row until the first one commits (then it replays the stored
        answer) or rolls back (then it goes ahead itself). SQLite serialises writers anyway.
        """
        if self.key is None or actor.id is None:
            return
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        claimed = (
            session.execute(
                insert(IdempotencyRecord)
                .values(
                    actor_id=actor.id,
                    key=self.key,
                    fingerprint=self.fingerprint,
                    status_code=0,
                    body="",
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing()
                .returning(col(IdempotencyRecord.key))
            ).first()
            is not None
        )
        if claimed:
            return
        record = self._stored(session, actor)
        assert record is not None
        if record.fingerprint != self.fingerprint:
            raise AppError(
                422,
                "idempotency_key_reused",
                "该 Idempotency-Key 已用于另一个不同的请求",
                field="Idempotency-Key",
            )
        raise Replayed(record)

    def commit(self, session: Session, actor: Actor, status_code: int, result: BaseModel) -> None:
        """Store the answer under the claimed key and commit the request's transaction."""
        record = self._stored(session, actor)
        if record is not None:
            record.status_code = status_code
            record.body = json.dumps(jsonable_encoder(result), ensure_ascii=False)
            session.add(record)
        session.commit()


async def _idempotency(
    request: Request,
    key: Annotated[str | None, Header(alias=HEADER, min_length=1, max_length=100)] = None,
) -> Idempotency:
    body = await request.body()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), body):
        digest.update(part)
        digest.update(b"\x00")
    return Idempotency(key=key, fingerprint=digest.hexdigest())


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]


async def replayed_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Replayed)
    return exc.response()


def install(app: Any) -> None:
    app.add_exception_handler(Replayed, replayed_handler)
