"""The open needs with their query vectors and terms, for a person's match list."""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlmodel import Session, col, select

from app.matches.models import NeedEmbedding
from app.needs.docs import need_doc
from app.needs.models import Need
from matching.types import NeedDoc

FloatArray = npt.NDArray[np.float32]


@dataclass
class OpenNeeds:
    docs: dict[int, NeedDoc] = field(default_factory=dict)
    vectors: dict[int, FloatArray] = field(default_factory=dict)
    tokens: dict[int, list[str]] = field(default_factory=dict)

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
        self.docs[doc.id] = doc
        self.vectors[doc.id] = vector
        self.tokens[doc.id] = tokens

    def drop(self, need_id: int) -> None:
        self.docs.pop(need_id, None)
        self.vectors.pop(need_id, None)
        self.tokens.pop(need_id, None)

    def held(self, doc: NeedDoc) -> tuple[FloatArray, list[str]] | None:
        """The vector and terms held for exactly this need, or None.

        Everything held passed ``Matcher.need_vector`` (current for the matcher's stamp and the
        document held beside it), so an equal document needs no digest: same texts, same vector.
        """
        if self.docs.get(doc.id) != doc:
            return None
        return self.vectors[doc.id], self.tokens[doc.id]

    def arrays(self) -> tuple[list[NeedDoc], FloatArray, list[list[str]]]:
        ids = sorted(self.docs)
        dim = next(iter(self.vectors.values())).shape[0] if self.vectors else 1
        matrix = np.stack([self.vectors[i] for i in ids]) if ids else np.zeros((0, dim), np.float32)
        return [self.docs[i] for i in ids], matrix, [self.tokens[i] for i in ids]
