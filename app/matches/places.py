"""Who still has room: accepted and active placements per person, held by each process.

Every match list excludes the people whose capacity is used up and shows the places left of
those it lists; asking the database for both on every request was two of a match list's eight
queries. A process reads them once and keeps them until the audit events that ``Matcher.sync``
applies show a placement change, or an edit of someone who holds a place (their capacity may
have changed; a person without an open placement is never full, capacity being at least 1).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from app.placements.counts import full_profile_ids, open_counts_by_profile
from matching.types import ProfileDoc


@dataclass(frozen=True)
class Places:
    open: Mapping[int, int]  # profile id -> accepted + active placements (absent: none)
    full: frozenset[int]  # people whose open placements fill their capacity

    @classmethod
    def read(cls, session: Session) -> "Places":
        return cls(open_counts_by_profile(session), full_profile_ids(session))

    def left(self, docs: Mapping[int, ProfileDoc]) -> dict[int, int]:
        """Profile id -> places left, for the profiles read for a page."""
        return {pid: doc.capacity - self.open.get(pid, 0) for pid, doc in docs.items()}

    def touches(self, profile_ids: list[int]) -> bool:
        """Whether an edit of these people may change who is full."""
        return any(pid in self.open for pid in profile_ids)
