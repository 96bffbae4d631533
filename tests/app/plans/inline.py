"""The plan runner's interface, computing at once in the test's own session.

API tests keep their data in a transaction that is rolled back afterwards; a runner thread with
a connection of its own would not see it.
"""

from __future__ import annotations

from sqlmodel import Session

from app.auth.actor import Actor
from app.matches.matcher import Matcher
from app.plans import service


class InlineRunner:
    def __init__(self, db: Session, matcher: Matcher) -> None:
        self.db, self.matcher = db, matcher
        self.busy = False

    def reserve(self) -> bool:
        return True

    def release(self) -> None:
        pass

    def launch(self, plan_id: int, actor: Actor) -> None:
        service.run(self.db, self.matcher, plan_id=plan_id, actor=actor)
        self.db.commit()

    def sweep(self) -> list[int]:
        return []
