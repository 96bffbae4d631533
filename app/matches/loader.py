"""Reading the whole corpus from the stored vectors and terms (no encoding), in bulk."""

import ctypes
import gc
from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.counties.models import County
from app.matches.models import ProfileEmbedding
from app.profiles.models import Profile
from matching.corpus import ProfileCorpus
from matching.encoders import Encoder
from matching.index import DenseIndex
from matching.lexical import LexicalIndex
from matching.table import ProfileTable
from matching.tokenizer import split_tokens
from matching.types import CountyInfo, ProfileDoc

CHUNK = 2000


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def load_counties(session: Session) -> dict[str, CountyInfo]:
    return {
        c.code: CountyInfo(c.code, c.name, c.prefecture, c.region)  # type: ignore[arg-type]
        for c in session.exec(select(County)).all()
    }


class _StoredTokens(Sequence[list[str]]):
    """Token lists split from their stored strings only when the lexical index reads them:
    a million profiles' terms as Python lists would take gigabytes."""

    def __init__(self, stored: list[str]) -> None:
        self._stored = stored

    def __len__(self) -> int:
        return len(self._stored)

    def __getitem__(self, i: int) -> list[str]:  # type: ignore[override]
        return split_tokens(self._stored[i])


def build_corpus(session: Session, encoder: Encoder, tokenizer_version: str) -> ProfileCorpus:
    """The corpus from the stored vectors and terms of every profile (no encoding).

    Reads plain columns (no ORM objects) in one pass into preallocated arrays; only the active
    profiles go into the dense and lexical indexes, every profile into the attribute table.
    The rows are trusted as they are: ``ensure_embeddings`` has just made every row current.
    """
    dim = encoder.version.dim
    expected = int(session.exec(select(func.count()).select_from(ProfileEmbedding)).one())
    # Only the active profiles' vectors and terms are kept (the indexes hold nothing else), in
    # one preallocated array handed to FAISS without a copy: at 1M x 512 every copy is 2 GB.
    vectors = np.empty((expected, dim), dtype=np.float32)
    active_ids: list[int] = []
    docs: list[ProfileDoc] = []
    tokens: list[str] = []
    query = (
        sa_select(
            col(Profile.id),
            col(Profile.kind),
            col(Profile.hometown_county_code),
            col(Profile.availability),
            col(Profile.capacity),
            col(Profile.preferred_regions),
            col(Profile.active),
            col(ProfileEmbedding.vector),
            col(ProfileEmbedding.tokens),
        )
        .join(ProfileEmbedding, col(ProfileEmbedding.profile_id) == Profile.id)
        .order_by(col(Profile.id))
        .execution_options(yield_per=CHUNK)
    )
    for pid, kind, home, availability, capacity, regions, active, vector, terms in session.execute(
        query
    ):
        # The table keeps only these attributes; texts are read per request for the shown page.
        docs.append(
            ProfileDoc(
                id=pid,
                kind=kind,
                name="",
                affiliation="",
                title="",
                fields=(),
                expertise="",
                hometown_county_code=home,
                availability=availability,
                capacity=capacity,
                preferred_regions=tuple(regions or ()),
                active=active,
            )
        )
        if active:
            row = len(active_ids)
            if row == len(vectors):  # rows added since the count: grow
                vectors = np.resize(vectors, (max(16, 2 * len(vectors)), dim))
            vectors[row] = np.frombuffer(vector, dtype="<f4", count=dim)
            active_ids.append(pid)
            tokens.append(terms)
    session.expunge_all()
    ids_arr = np.asarray(active_ids, dtype=np.int64)
    del active_ids
    dense = DenseIndex.build(ids_arr, vectors[: len(ids_arr)], encoder.version)
    del vectors
    lexical = LexicalIndex.build(
        ids_arr, _StoredTokens(tokens), tokenizer_version=tokenizer_version
    )
    del tokens
    corpus = ProfileCorpus(dense, lexical, ProfileTable.build(docs))
    del docs
    release_freed_memory()
    return corpus


def release_freed_memory() -> None:
    """Hand memory freed after a big build back to the system (glibc keeps it otherwise)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
