"""Who is asking: the current user as every domain sees it (loaded by accounts, per request)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    display_name: str
    role: str  # admin, manager, member, liaison, viewer
    department_id: int | None
    language: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_manager(self) -> bool:
        return self.role in ("admin", "manager")
