"""Which row of an array holds each id, answered for many ids at once.

The lexical index and the profile table keep their rows in arrays and found a candidate list's
rows with one dict lookup per id in a Python loop: a tenth of a province plan's candidate time at
100k profiles (10,000 needs, a few hundred candidates each, both structures). ``IdRows`` keeps
the dict for one id at a time and, for ids below ``LOOKUP_MAX`` (database ids are), an array
from id to row that answers a whole list with one gather (4 bytes per id up to the largest).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


class IdRows:
    """A mapping from int ids to rows (ints >= 0) with a vectorised ``rows``."""

    LOOKUP_MAX = 1 << 26

    def __init__(self, ids: IntArray | None = None) -> None:
        """Empty, or ``ids[r]`` at row ``r`` (an id given twice: its last row)."""
        self._rows: dict[int, int] = {}
        self._lookup = np.full(0, -1, dtype=np.int32)
        if ids is not None and len(ids):
            arr = np.asarray(ids, dtype=np.int64)
            self._rows = {int(d): r for r, d in enumerate(arr.tolist())}  # a repeated id: last
            rows = np.arange(len(arr), dtype=np.int64)
            if len(self._rows) != len(arr):
                arr = np.fromiter(self._rows.keys(), np.int64, len(self._rows))
                rows = np.fromiter(self._rows.values(), np.int64, len(self._rows))
            small = (arr >= 0) & (arr < self.LOOKUP_MAX)
            if small.any():
                self._grow(int(arr[small].max()))
                self._lookup[arr[small]] = rows[small].astype(np.int32)

    def _grow(self, top: int) -> None:
        if top < len(self._lookup):
            return
        size = min(self.LOOKUP_MAX, max(top + 1, 2 * len(self._lookup)))
        grown = np.full(size, -1, dtype=np.int32)
        grown[: len(self._lookup)] = self._lookup
        self._lookup = grown

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._rows

    def get(self, doc_id: int, default: int | None = None) -> int | None:
        return self._rows.get(doc_id, default)

    def __setitem__(self, doc_id: int, row: int) -> None:
        doc_id = int(doc_id)
        self._rows[doc_id] = int(row)
        if 0 <= doc_id < self.LOOKUP_MAX:
            self._grow(doc_id)
            self._lookup[doc_id] = row

    def pop(self, doc_id: int, default: int | None = None) -> int | None:
        doc_id = int(doc_id)
        row = self._rows.pop(doc_id, None)
        if row is None:
            return default
        if 0 <= doc_id < len(self._lookup):
            self._lookup[doc_id] = -1
        return row

    def rows(self, ids: IntArray | list[int] | tuple[int, ...]) -> IntArray:
        """Each id's row, -1 for an id not held: ``(len(ids),)`` int64."""
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        out = np.full(len(arr), -1, dtype=np.int64)
        small = (arr >= 0) & (arr < len(self._lookup))
        out[small] = self._lookup[arr[small]]
        # ids below LOOKUP_MAX but past the array were never held; the rest live in the dict
        other = np.flatnonzero((arr < 0) | (arr >= self.LOOKUP_MAX))
        for i in other.tolist():
            out[i] = self._rows.get(int(arr[i]), -1)
        return out
