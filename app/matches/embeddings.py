"""Encoding profiles and needs when they are saved, and the database rows that keep the result.

The vectors and index terms are written in the same transaction as the profile or need, so the
database stays the source of truth: the in-memory indexes of every service process are rebuilt
or brought up to date from these rows without running the model again.

This module takes the library's documents (``ProfileDoc``, ``NeedDoc``), never profile or need
rows: ``app.profiles.docs`` and ``app.needs.docs`` make them.
"""

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select

from app.config import get_settings
from app.db import utcnow
from app.matches.models import (
    NeedEmbedding,
    ProfileEmbedding,
    ProfileQualityVector,
    StoredEncoding,
)
from matching.encoders import Encoder, FloatArray, load_encoder
from matching.index import vectors_from_bytes, vectors_to_bytes
from matching.text import (
    TEXT_RECIPE_VERSION,
    encode_needs,
    encode_profiles,
    need_dense_text,
    need_lexical_text,
    need_tokens,
    profile_dense_parts,
    profile_dense_text,
    profile_lexical_text,
    profile_tokens,
)
from matching.tokenizer import ChineseTokenizer, join_tokens, split_tokens
from matching.types import NeedDoc, ProfileDoc

# Never reach for a model hub; models come from packages or a local directory.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_PREPARED = "prepared_embeddings"
_CARRIED = "carried_vectors"


@lru_cache(maxsize=4)
def encoder_for(spec: str) -> Encoder:
    """One encoder per spec per process (they are large and load lazily)."""
    return load_encoder(spec, threads=1)


_SPEC: list[str] = []  # the encoder chosen by the running service (Matcher.start)


def use_encoder(spec: str) -> None:
    """Make ``spec`` the encoder of every write in this process, the same one the matcher uses
    (otherwise an app started with other settings than the environment's would store rows made
    by one model and rank with another)."""
    _SPEC[:] = [spec]


def current_encoder() -> Encoder:
    return encoder_for(_SPEC[0] if _SPEC else get_settings().encoder)


@lru_cache(maxsize=1)
def tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer()


# ---------------------------------------------------------------------- the one currency rule


@dataclass(frozen=True)
class Stamp:
    """What a vector and its terms were made with. Stored rows and index snapshots carry one;
    anything made with another stamp than the running process's is not current."""

    model_tag: str
    recipe: str
    tokenizer_version: str

    @classmethod
    def of(cls, row: StoredEncoding) -> "Stamp":
        return cls(row.model_tag, row.recipe, row.tokenizer_version)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def stamp_for(encoder: Encoder) -> Stamp:
    """The stamp of what this process makes with ``encoder``."""
    return Stamp(encoder.version.tag, TEXT_RECIPE_VERSION, tokenizer().version)


def is_current(row: StoredEncoding | None, stamp: Stamp, digest: str) -> bool:
    """A stored row is current when it was made with this stamp from these very texts."""
    return row is not None and Stamp.of(row) == stamp and row.text_digest == digest


def other_stamp(table: type[StoredEncoding], stamp: Stamp) -> ColumnElement[bool]:
    """``is_current``'s stamp half in SQL, to scan every stored row at once. The digest half
    needs the texts: ``store`` checks it for the rows it is given."""
    return or_(*(col(getattr(table, name)) != v for name, v in stamp.as_dict().items()))


# ---------------------------------------------------------------------- the two kinds

DocT = TypeVar("DocT", ProfileDoc, NeedDoc)


def _digest(*texts: str) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def profile_digest(doc: ProfileDoc) -> str:
    return _digest(profile_dense_text(doc), profile_lexical_text(doc), " ".join(doc.fields))


def profile_vector_digest(doc: ProfileDoc) -> str:
    """What a profile's vectors, in both channels, are made from: the fields and the expertise
    (``profile_dense_text`` for encoders that read one passage, ``profile_dense_parts`` for
    those that pool sentences). Name, title, affiliation and achievements are only indexed."""
    return _digest(profile_dense_text(doc), *profile_dense_parts(doc))


def need_digest(doc: NeedDoc) -> str:
    return _digest(need_dense_text(doc), need_lexical_text(doc))


@dataclass(frozen=True)
class Kind(Generic[DocT]):
    """Everything that differs between encoding a profile and encoding a need."""

    table: type[ProfileEmbedding] | type[NeedEmbedding]
    key: str  # the table's id column, named after the owner
    digest: Callable[[DocT], str]
    encode: Callable[[Encoder, Sequence[DocT]], FloatArray]
    terms: Callable[[DocT, ChineseTokenizer], list[str]]


PROFILES: Kind[ProfileDoc] = Kind(
    ProfileEmbedding, "profile_id", profile_digest, encode_profiles, profile_tokens
)
NEEDS: Kind[NeedDoc] = Kind(NeedEmbedding, "need_id", need_digest, encode_needs, need_tokens)


@dataclass(frozen=True)
class Prepared:
    vector: bytes
    tokens: str


def prepare(kind: Kind[DocT], docs: Sequence[DocT], encoder: Encoder) -> dict[str, Prepared]:
    """Vectors and terms by text digest, each distinct text encoded once (bulk imports)."""
    unique: dict[str, DocT] = {}
    for d in docs:
        unique.setdefault(kind.digest(d), d)
    if not unique:
        return {}
    digests = list(unique)
    vectors = vectors_to_bytes(kind.encode(encoder, [unique[k] for k in digests]))
    return {
        k: Prepared(v, join_tokens(kind.terms(unique[k], tokenizer())))
        for k, v in zip(digests, vectors, strict=True)
    }


def stored_or_encoded(
    kind: Kind[DocT], doc: DocT, row: StoredEncoding | None, encoder: Encoder, stamp: Stamp
) -> tuple[FloatArray, list[str]]:
    """The row's vector ``(dim,)`` and terms when it is current, else encoded in memory (a row
    written by a process with another model); nothing is stored."""
    if row is not None and is_current(row, stamp, kind.digest(doc)):
        vector, tokens = row.vector, row.tokens
    else:
        ready = next(iter(prepare(kind, [doc], encoder).values()))
        vector, tokens = ready.vector, ready.tokens
    return vectors_from_bytes([vector], encoder.version.dim)[0], split_tokens(tokens)


def remember_prepared(session: Session, prepared: dict[str, Prepared]) -> None:
    """Hand work done before the transaction (bulk import) to the store step below."""
    session.info.setdefault(_PREPARED, {}).update(prepared)


def prepare_ahead(session: Session, kind: Kind[DocT], docs: Sequence[DocT]) -> None:
    """Encode documents about to be saved before the write transaction opens, so that no lock
    is held while the model runs; ``store`` then finds them ready (same text digest)."""
    remember_prepared(session, prepare(kind, docs, current_encoder()))


def kept_vector(session: Session, before: ProfileDoc, after: ProfileDoc) -> bytes | None:
    """The stored vector of a profile when an edit from ``before`` to ``after`` leaves what the
    vectors are made from as it was (a new title, affiliation or achievements, or only the
    capacity or availability: the common edits) and the row was made from ``before`` by the
    running model; else None. Reads the row in the caller's transaction."""
    if profile_vector_digest(before) != profile_vector_digest(after):
        return None
    row = session.exec(
        select(ProfileEmbedding).where(col(ProfileEmbedding.profile_id) == after.id)
    ).first()
    if not is_current(row, stamp_for(current_encoder()), PROFILES.digest(before)):
        return None
    assert row is not None
    return bytes(row.vector)


def prepare_profile_edit(
    session: Session, before: ProfileDoc, after: ProfileDoc, kept: bytes | None
) -> None:
    """``prepare_ahead`` for an edit of one profile. With a ``kept_vector`` only the terms are
    made again, and ``store`` carries the second channel's vector over to the new text digest,
    so that the fill does not encode the profile again with the slow encoder; otherwise the
    edited text is encoded as for any save."""
    if kept is None:
        prepare_ahead(session, PROFILES, [after])
        return
    old, new = PROFILES.digest(before), PROFILES.digest(after)
    if old == new:  # capacity, availability, hometown...: the stored row stays current
        return
    tokens = join_tokens(PROFILES.terms(after, tokenizer()))
    remember_prepared(session, {new: Prepared(kept, tokens)})
    session.info.setdefault(_CARRIED, {})[after.id] = (old, new)


def _carry_quality(session: Session, carried: dict[int, tuple[str, str]]) -> None:
    """Point second-channel vectors made from an unchanged text at the edit's new digest. The
    row must carry the digest the edit started from: a vector the fill wrote meanwhile from
    another text stays stale and is encoded again."""
    for profile_id, (old, new) in carried.items():
        session.execute(
            update(ProfileQualityVector)
            .where(
                col(ProfileQualityVector.profile_id) == profile_id,
                col(ProfileQualityVector.text_digest) == old,
            )
            .values(text_digest=new, updated_at=utcnow())
        )


def store(
    session: Session, kind: Kind[DocT], docs: Sequence[DocT], encoder: Encoder | None = None
) -> int:
    """Write current rows for these documents of flushed profiles or needs; returns how many
    were encoded (the others were current already or prepared before the transaction)."""
    encoder = encoder or current_encoder()
    stamp = stamp_for(encoder)
    ids = [d.id for d in docs]
    column = getattr(kind.table, kind.key)
    existing: dict[int, Any] = {
        getattr(e, kind.key): e
        for start in range(0, len(ids), 500)
        for e in session.exec(
            select(kind.table).where(col(column).in_(ids[start : start + 500]))
        ).all()
    }
    digests = {d.id: kind.digest(d) for d in docs}
    stale = [d for d in docs if not is_current(existing.get(d.id), stamp, digests[d.id])]
    if not stale:
        return 0
    cache: dict[str, Prepared] = session.info.get(_PREPARED, {})
    missing = [d for d in stale if digests[d.id] not in cache]
    fresh = prepare(kind, missing, encoder) if missing else {}
    for d in stale:
        ready = cache.get(digests[d.id]) or fresh[digests[d.id]]
        row = existing.get(d.id) or kind.table(**{kind.key: d.id})  # type: ignore[arg-type]
        row.model_tag, row.recipe = stamp.model_tag, stamp.recipe
        row.tokenizer_version = stamp.tokenizer_version
        row.text_digest, row.vector, row.tokens = digests[d.id], ready.vector, ready.tokens
        session.add(row)
    session.flush()
    session.info.pop(_PREPARED, None)
    carried = session.info.pop(_CARRIED, {})
    if kind is PROFILES:
        _carry_quality(
            session,
            {d.id: carried[d.id] for d in stale if carried.get(d.id, ("", ""))[1] == digests[d.id]},
        )
    return len(missing)
