"""Encoding profiles and needs when they are saved, and the database rows that keep the result.

The vectors and index terms are written in the same transaction as the profile or need, so the
database stays the source of truth: the in-memory indexes of every service process are rebuilt
or brought up to date from these rows without running the model again.
"""

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, select

from app.config import get_settings
from app.matches.models import NeedEmbedding, ProfileEmbedding
from app.needs.models import Need
from app.profiles.models import Profile
from matching.encoders import Encoder, load_encoder
from matching.index import vectors_to_bytes
from matching.text import (
    TEXT_RECIPE_VERSION,
    encode_needs,
    encode_profiles,
    need_dense_text,
    need_lexical_text,
    need_tokens,
    profile_dense_text,
    profile_lexical_text,
    profile_tokens,
)
from matching.tokenizer import ChineseTokenizer, join_tokens
from matching.types import NeedDoc, ProfileDoc

# Never reach for a model hub; models come from packages or a local directory.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_PREPARED = "prepared_embeddings"


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


def profile_doc(p: Profile) -> ProfileDoc:
    """The library's view of a profile (id 0 for one not saved yet)."""
    return ProfileDoc(
        id=p.id or 0,
        kind=p.kind,  # type: ignore[arg-type]
        name=p.name,
        affiliation=p.affiliation,
        title=p.title,
        fields=tuple(p.fields),
        expertise=p.expertise,
        achievements=p.achievements,
        hometown_county_code=p.hometown_county_code,
        availability=p.availability,  # type: ignore[arg-type]
        capacity=p.capacity,
        preferred_regions=tuple(p.preferred_regions),  # type: ignore[arg-type]
        active=p.active,
    )


def need_doc(n: Need) -> NeedDoc:
    """The library's view of a need (id 0 for one not saved yet)."""
    return NeedDoc(
        id=n.id or 0,
        county_code=n.county_code,
        program=n.program,  # type: ignore[arg-type]
        title=n.title,
        description=n.description,
        industry=n.industry,
        headcount=n.headcount,
    )


def _digest(*texts: str) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def profile_digest(doc: ProfileDoc) -> str:
    return _digest(profile_dense_text(doc), profile_lexical_text(doc), " ".join(doc.fields))


def need_digest(doc: NeedDoc) -> str:
    return _digest(need_dense_text(doc), need_lexical_text(doc))


@dataclass(frozen=True)
class Prepared:
    vector: bytes
    tokens: str


def prepare_profiles(docs: Sequence[ProfileDoc], encoder: Encoder) -> dict[str, Prepared]:
    """Vectors and terms by text digest, each distinct text encoded once (bulk imports)."""
    unique: dict[str, ProfileDoc] = {}
    for d in docs:
        unique.setdefault(profile_digest(d), d)
    if not unique:
        return {}
    digests = list(unique)
    vectors = vectors_to_bytes(encode_profiles(encoder, [unique[k] for k in digests]))
    tk = tokenizer()
    return {
        k: Prepared(v, join_tokens(profile_tokens(unique[k], tk)))
        for k, v in zip(digests, vectors, strict=True)
    }


def prepare_needs(docs: Sequence[NeedDoc], encoder: Encoder) -> dict[str, Prepared]:
    unique: dict[str, NeedDoc] = {}
    for d in docs:
        unique.setdefault(need_digest(d), d)
    if not unique:
        return {}
    digests = list(unique)
    vectors = vectors_to_bytes(encode_needs(encoder, [unique[k] for k in digests]))
    tk = tokenizer()
    return {
        k: Prepared(v, join_tokens(need_tokens(unique[k], tk)))
        for k, v in zip(digests, vectors, strict=True)
    }


def remember_prepared(session: Session, prepared: dict[str, Prepared]) -> None:
    """Hand work done before the transaction (bulk import) to the store step below."""
    session.info.setdefault(_PREPARED, {}).update(prepared)


def _current(row: ProfileEmbedding | NeedEmbedding | None, tag: str, digest: str) -> bool:
    return (
        row is not None
        and row.model_tag == tag
        and row.recipe == TEXT_RECIPE_VERSION
        and row.tokenizer_version == tokenizer().version
        and row.text_digest == digest
    )


def _store(
    session: Session,
    docs: Sequence[ProfileDoc] | Sequence[NeedDoc],
    *,
    model: type[ProfileEmbedding] | type[NeedEmbedding],
    key: str,
    digest: Callable[[Any], str],
    prepare: Callable[[Sequence[Any], Encoder], dict[str, Prepared]],
    encoder: Encoder,
) -> int:
    tag = encoder.version.tag
    ids = [d.id for d in docs]
    column = getattr(model, key)
    existing: dict[int, Any] = {
        getattr(e, key): e
        for start in range(0, len(ids), 500)
        for e in session.exec(select(model).where(col(column).in_(ids[start : start + 500]))).all()
    }
    digests = {d.id: digest(d) for d in docs}
    stale = [d for d in docs if not _current(existing.get(d.id), tag, digests[d.id])]
    if not stale:
        return 0
    cache: dict[str, Prepared] = session.info.get(_PREPARED, {})
    missing = [d for d in stale if digests[d.id] not in cache]
    fresh = prepare(missing, encoder) if missing else {}
    tk_version = tokenizer().version
    for d in stale:
        ready = cache.get(digests[d.id]) or fresh[digests[d.id]]
        row = existing.get(d.id) or model(**{key: d.id})  # type: ignore[arg-type]
        row.model_tag, row.recipe, row.tokenizer_version = tag, TEXT_RECIPE_VERSION, tk_version
        row.text_digest, row.vector, row.tokens = digests[d.id], ready.vector, ready.tokens
        session.add(row)
    session.flush()
    session.info.pop(_PREPARED, None)
    return len(missing)


def store_profiles(
    session: Session, profiles: Sequence[Profile], encoder: Encoder | None = None
) -> int:
    """Write current embeddings for these (flushed) profiles; returns how many were encoded."""
    return _store(
        session,
        [profile_doc(p) for p in profiles],
        model=ProfileEmbedding,
        key="profile_id",
        digest=profile_digest,
        prepare=prepare_profiles,
        encoder=encoder or current_encoder(),
    )


def store_needs(session: Session, needs: Sequence[Need], encoder: Encoder | None = None) -> int:
    """Write current embeddings for these (flushed) needs; returns how many were encoded."""
    return _store(
        session,
        [need_doc(n) for n in needs],
        model=NeedEmbedding,
        key="need_id",
        digest=need_digest,
        prepare=prepare_needs,
        encoder=encoder or current_encoder(),
    )
