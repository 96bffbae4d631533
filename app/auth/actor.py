"""Who is acting: the signed-in account as services see it, or the system itself (CLI)."""

from dataclasses import dataclass

from app.common import Role


@dataclass(frozen=True)
class Actor:
    id: int | None
    username: str
    role: str
    county_code: str | None = None
    client: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(id=None, username=name, role="system")

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.admin, "system")

    def is_role(self, *roles: str) -> bool:
        return self.role in roles or self.role == "system"
