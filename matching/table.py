"""The id <-> row seam: a columnar table of the profile attributes that filters and signals need.

Ranking touches a few hundred candidates, but a filter such as "teams only" must be known before
the search, over every profile. Keeping kind, availability, active flag, hometown county and
preferred regions as numpy columns (about 20 bytes a profile: 20 MB at 1M) turns a filter into one
vectorised comparison (a few ms at 1M) and the signals of a candidate list into array lookups.
Texts are not kept here: the caller fetches the few profiles it shows (``ProfileDoc``) for reasons.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.idrows import IdRows
from matching.persist import read_checked, write_checked
from matching.types import (
    AVAILABILITIES,
    PROFILE_KINDS,
    REGIONS,
    CountyInfo,
    MatchFilters,
    ProfileDoc,
)

IntArray = npt.NDArray[np.int64]

_KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(PROFILE_KINDS)}
_AVAIL_CODE: dict[str, int] = {a: i for i, a in enumerate(AVAILABILITIES)}
_REGION_BIT: dict[str, int] = {r: 1 << i for i, r in enumerate(REGIONS)}


def county_int(code: str | None) -> int:
    """County code ``"220102"`` -> 220102; 0 for none or a malformed code."""
    if not code:
        return 0
    try:
        return int(code)
    except ValueError:
        return 0


def region_mask(regions: Iterable[str]) -> int:
    m = 0
    for r in regions:
        m |= _REGION_BIT.get(r, 0)
    return m


@dataclass(frozen=True, slots=True)
class CandidateAttributes:
    """Attributes of a candidate list, aligned with its ids (``-1``/0 where unknown)."""

    ids: IntArray
    known: npt.NDArray[np.bool_]
    active: npt.NDArray[np.bool_]
    kind: npt.NDArray[np.int8]
    availability: npt.NDArray[np.int8]
    hometown: IntArray
    region_mask: npt.NDArray[np.uint8]


class ProfileTable:
    """Columnar attributes of every profile, with add/replace/remove by id."""

    def __init__(self) -> None:
        self._n = 0
        cap = 64
        self._ids = np.zeros(cap, np.int64)
        self._kind = np.zeros(cap, np.int8)
        self._avail = np.zeros(cap, np.int8)
        self._active = np.zeros(cap, bool)
        self._live = np.zeros(cap, bool)
        self._home = np.zeros(cap, np.int64)
        self._regions = np.zeros(cap, np.uint8)
        self._row = IdRows()

    @classmethod
    def build(cls, profiles: Iterable[ProfileDoc]) -> ProfileTable:
        t = cls()
        for p in profiles:
            t.upsert(p)
        return t

    def _grow(self) -> None:
        cap = len(self._ids) * 2
        for name in ("_ids", "_kind", "_avail", "_active", "_live", "_home", "_regions"):
            old = getattr(self, name)
            new = np.zeros(cap, old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def upsert(self, p: ProfileDoc) -> None:
        """Insert or update one profile's attributes."""
        row = self._row.get(p.id)
        if row is None:
            if self._n == len(self._ids):
                self._grow()
            row = self._n
            self._n += 1
            self._row[p.id] = row
        self._ids[row] = p.id
        self._kind[row] = _KIND_CODE.get(p.kind, -1)
        self._avail[row] = _AVAIL_CODE.get(p.availability, -1)
        self._active[row] = p.active
        self._live[row] = True
        self._home[row] = county_int(p.hometown_county_code)
        self._regions[row] = region_mask(p.preferred_regions)

    def remove(self, profile_id: int) -> bool:
        row = self._row.pop(int(profile_id), None)
        if row is None:
            return False
        self._live[row] = False
        self._active[row] = False
        if self._n - len(self._row) > max(1024, self._n // 4):
            self._compact()
        return True

    def _compact(self) -> None:
        keep = np.flatnonzero(self._live[: self._n])
        for name in ("_ids", "_kind", "_avail", "_active", "_live", "_home", "_regions"):
            col = getattr(self, name)
            new = np.zeros(max(64, len(keep) * 2), col.dtype)
            new[: len(keep)] = col[keep]
            setattr(self, name, new)
        self._n = len(keep)
        self._row = IdRows(self._ids[: self._n])

    def __len__(self) -> int:
        return len(self._row)

    FORMAT = "xiangcai-profile-table-v1"
    _COLUMNS = ("_ids", "_kind", "_avail", "_active", "_home", "_regions")

    def save(self, path: str | os.PathLike[str]) -> None:
        keep = np.flatnonzero(self._live[: self._n])
        buf = io.BytesIO()
        np.savez(buf, **{name.lstrip("_"): getattr(self, name)[keep] for name in self._COLUMNS})
        write_checked(path, {"format": self.FORMAT, "n": len(keep)}, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ProfileTable:
        """Read a saved table; raises ``IndexFileError`` if corrupt or foreign."""
        _, payload = read_checked(path, {"format": cls.FORMAT})
        t = cls()
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            cols = {name: z[name.lstrip("_")] for name in cls._COLUMNS}
        n = len(cols["_ids"])
        for name, values in cols.items():
            arr = np.zeros(max(64, n), values.dtype)
            arr[:n] = values
            setattr(t, name, arr)
        t._live = np.zeros(max(64, n), bool)
        t._live[:n] = True
        t._n = n
        t._row = IdRows(t._ids[:n])
        return t

    def __contains__(self, profile_id: object) -> bool:
        return profile_id in self._row

    def is_active(self, profile_id: int) -> bool:
        row = self._row.get(int(profile_id))
        return bool(row is not None and self._active[row])

    def filter_ids(self, filters: MatchFilters) -> tuple[IntArray | None, IntArray]:
        """``(allowed, excluded)`` for a search.

        ``allowed`` is None when only exclusions apply (no kind/availability filter); otherwise the
        ids of active profiles passing the filters, minus ``exclude_ids``. ``excluded`` is
        ``exclude_ids``. Inactive profiles are not listed: the corpus never puts them in the
        dense or lexical index (and ``passes`` drops any candidate that is inactive), so naming
        them here only pushed every search onto FAISS's slower filtered path (5 ms a request
        at 1M just to gather them).
        """
        n = self._n
        live = self._live[:n]
        excluded = np.unique(np.fromiter(filters.exclude_ids, np.int64))
        if filters.kinds is None and filters.availabilities is None:
            return None, excluded
        mask = live & self._active[:n]
        if filters.kinds is not None:
            mask &= np.isin(self._kind[:n], kind_codes(filters.kinds))
        if filters.availabilities is not None:
            codes = [_AVAIL_CODE[a] for a in filters.availabilities if a in _AVAIL_CODE]
            mask &= np.isin(self._avail[:n], codes)
        allowed = self._ids[:n][mask]
        if filters.exclude_ids:
            allowed = np.setdiff1d(allowed, excluded)
        return allowed, excluded

    def ids_with_hometown(self, county_code: str) -> IntArray:
        """Active profiles whose 籍贯 is this county (a vectorised scan, ~1 ms at 1M)."""
        code = county_int(county_code)
        n = self._n
        if not code:
            return np.zeros(0, np.int64)
        mask = self._live[:n] & self._active[:n] & (self._home[:n] == code)
        out: IntArray = self._ids[:n][mask]
        return out

    def attributes(self, ids: Sequence[int] | IntArray) -> CandidateAttributes:
        """Columns for a candidate list."""
        ids_arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        rows = self._row.rows(ids_arr)
        known = rows >= 0
        r = np.where(known, rows, 0)

        def col(a: npt.NDArray[np.generic], fill: int) -> npt.NDArray[np.generic]:
            out = a[r].copy() if len(a) else np.zeros(len(r), a.dtype)
            out[~known] = fill
            return out

        return CandidateAttributes(
            ids=ids_arr,
            known=known,
            active=col(self._active, 0).astype(bool),
            kind=col(self._kind, -1).astype(np.int8),
            availability=col(self._avail, -1).astype(np.int8),
            hometown=col(self._home, 0).astype(np.int64),
            region_mask=col(self._regions, 0).astype(np.uint8),
        )

    def passes(self, attrs: CandidateAttributes, filters: MatchFilters) -> npt.NDArray[np.bool_]:
        """Which candidates satisfy the hard filters (known, active, kinds, availability, ids)."""
        ok = attrs.known & attrs.active
        if filters.kinds is not None:
            ok &= np.isin(attrs.kind, kind_codes(filters.kinds))
        if filters.availabilities is not None:
            ok &= np.isin(
                attrs.availability,
                [_AVAIL_CODE[a] for a in filters.availabilities if a in _AVAIL_CODE],
            )
        if filters.exclude_ids:
            ok &= ~np.isin(attrs.ids, np.fromiter(filters.exclude_ids, np.int64))
        out: npt.NDArray[np.bool_] = ok
        return out


def availability_code(name: str) -> int:
    return _AVAIL_CODE.get(name, -1)


def kind_codes(kinds: Iterable[str]) -> list[int]:
    """The codes ``CandidateAttributes.kind`` holds for these kinds."""
    return [_KIND_CODE[k] for k in kinds if k in _KIND_CODE]


def county_lookup(
    counties: Mapping[str, CountyInfo],
) -> tuple[dict[int, str], dict[int, str]]:
    """``(county int -> prefecture, county int -> region)`` for vectorised signal computation."""
    pref = {county_int(c): info.prefecture for c, info in counties.items()}
    reg: dict[int, str] = {county_int(c): info.region for c, info in counties.items()}
    return pref, reg
