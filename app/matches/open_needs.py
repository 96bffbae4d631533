"""The open needs with their query vectors and terms, for a person's match list and for the
match list of an open need."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from sqlmodel import Session, col, select

from app.matches.models import NeedEmbedding
from app.needs.docs import need_doc
from app.needs.models import Need
from matching.encoders import FloatArray
from matching.types import NeedDoc


@dataclass(frozen=True)
class HeldNeed:
    doc: NeedDoc
    vector: FloatArray  # (dim,)
    tokens: list[str]
    vector2: FloatArray | None = None  # (dim2,) in the second dense channel, once filled


class HeldArrays(NamedTuple):
    """The open needs by id, as arrays aligned with ``docs``."""

    docs: list[NeedDoc]
    vectors: FloatArray  # (n, dim)
    tokens: list[list[str]]
    vectors2: FloatArray | None  # (n, dim2): zero rows where ``present2`` is False
    present2: npt.NDArray[np.bool_]


class OpenNeeds:
    """Written by ``Matcher.sync`` under its lock, read by requests without it: each need is one
    entry replaced whole, so a reader never pairs one version's text with another's vector."""

    def __init__(self) -> None:
        self._held: dict[int, HeldNeed] = {}

    @classmethod
    def load(
        cls,
        session: Session,
        vector_of: Callable[[NeedDoc, NeedEmbedding], tuple[FloatArray, list[str]]],
    ) -> "OpenNeeds":
        """Every open need with its vector and terms from ``vector_of`` (``Matcher.need_vector``:
        the stored ones when current)."""
        open_needs = cls()
        rows = session.exec(
            select(Need, NeedEmbedding)
            .join(NeedEmbedding, col(NeedEmbedding.need_id) == Need.id)
            .where(Need.status == "open")
        ).all()
        for need, stored in rows:
            doc = need_doc(need)
            open_needs.put(doc, *vector_of(doc, stored))
        return open_needs

    def put(self, doc: NeedDoc, vector: FloatArray, tokens: list[str]) -> None:
        self._held[doc.id] = HeldNeed(doc, vector, tokens)

    def put_second(self, need_id: int, vector2: FloatArray) -> None:
        """The need's vector in the second channel (current for the held document: the caller
        checked its digest against the first channel's row)."""
        entry = self._held.get(need_id)
        if entry is not None:
            self._held[need_id] = replace(entry, vector2=vector2)

    def second(self, doc: NeedDoc) -> FloatArray | None:
        """The second-channel vector held for exactly this need, or None."""
        entry = self._held.get(doc.id)
        if entry is None or entry.doc != doc:
            return None
        return entry.vector2

    def drop(self, need_id: int) -> None:
        self._held.pop(need_id, None)

    def held(self, doc: NeedDoc) -> tuple[FloatArray, list[str]] | None:
        """The vector and terms held for exactly this need, or None.

        Everything held passed ``Matcher.need_vector`` (current for the matcher's stamp and the
        document held beside it), so an equal document needs no digest: same texts, same vector.
        """
        entry = self._held.get(doc.id)
        if entry is None or entry.doc != doc:
            return None
        return entry.vector, entry.tokens

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, need_id: object) -> bool:
        return need_id in self._held

    @property
    def docs(self) -> Mapping[int, NeedDoc]:
        return _Column(self._held, "doc")

    @property
    def vectors(self) -> Mapping[int, FloatArray]:
        return _Column(self._held, "vector")

    @property
    def tokens(self) -> Mapping[int, list[str]]:
        return _Column(self._held, "tokens")

    def held_arrays(self, second_dim: int | None) -> HeldArrays:
        """The open needs by id: documents, vectors ``(n, dim)``, terms, and the second
        channel's vectors (``second_dim``: None, none wanted)."""
        entries = [e for _, e in sorted(self._held.copy().items())]
        present = np.array([e.vector2 is not None for e in entries], dtype=bool)
        if not entries:
            return HeldArrays([], np.zeros((0, 1), np.float32), [], None, present)
        matrix = np.stack([e.vector for e in entries])
        second: FloatArray | None = None
        if second_dim is not None and present.any():
            second = np.zeros((len(entries), second_dim), dtype=np.float32)
            for i, e in enumerate(entries):
                if e.vector2 is not None:
                    second[i] = e.vector2
        return HeldArrays(
            [e.doc for e in entries], matrix, [e.tokens for e in entries], second, present
        )


class _Column(Mapping[int, Any]):
    """One attribute of every held need, by need id (a view, not a copy)."""

    def __init__(self, held: dict[int, HeldNeed], attribute: str) -> None:
        self._held, self._attribute = held, attribute

    def __getitem__(self, need_id: int) -> Any:
        return getattr(self._held[need_id], self._attribute)

    def __iter__(self) -> Iterator[int]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)
