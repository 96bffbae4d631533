"""Encoding, in batches, every profile and need whose stored row another model or recipe made.

Runs at start-up (usually finding nothing) and as ``python -m app index reencode`` after the
model is changed.
"""

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, select

from app.matches import embeddings
from app.matches.loader import chunks
from app.needs.docs import need_doc
from app.needs.models import Need
from app.profiles.docs import profile_doc
from app.profiles.models import Profile
from matching.encoders import Encoder

BATCH = 256


def ensure_embeddings(
    session: Session, encoder: Encoder, progress: Callable[[int, int], None] | None = None
) -> int:
    """Encode profiles and needs whose stored row is missing or has another stamp.

    Commits after every batch, so that a long re-encoding (another model) keeps what it did if
    it is interrupted and never holds one write transaction for hours; ``progress(done, total)``
    is called after each batch. The rows' text digests are not checked here (that would read
    every text): rows are written in the same transaction as their texts.
    """
    stamp = embeddings.stamp_for(encoder)
    encoded = 0
    encoded += _ensure(session, Profile, profile_doc, embeddings.PROFILES, stamp, encoder, progress)
    encoded += _ensure(session, Need, need_doc, embeddings.NEEDS, stamp, encoder, progress)
    return encoded


def _ensure(
    session: Session,
    owner: type[Profile] | type[Need],
    to_doc: Callable[[Any], embeddings.DocT],
    kind: embeddings.Kind[embeddings.DocT],
    stamp: embeddings.Stamp,
    encoder: Encoder,
    progress: Callable[[int, int], None] | None,
) -> int:
    key = getattr(kind.table, kind.key)
    stale_ids = session.exec(
        select(owner.id)
        .outerjoin(kind.table, key == owner.id)
        .where(col(key).is_(None) | embeddings.other_stamp(kind.table, stamp))
        .order_by(col(owner.id))
    ).all()
    todo = [int(i) for i in stale_ids if i is not None]
    encoded = 0
    for done, chunk in enumerate(chunks(todo, BATCH), start=1):
        items = session.exec(select(owner).where(col(owner.id).in_(chunk))).all()
        encoded += embeddings.store(session, kind, [to_doc(i) for i in items], encoder)
        session.commit()
        if progress is not None:
            progress(min(done * BATCH, len(todo)), len(todo))
    return encoded
