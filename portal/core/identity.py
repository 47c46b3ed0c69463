"""Who is asking: the current user as every domain sees it (loaded by accounts, per request)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CurrentUser:
    id: int | None  # None: the portal itself (intake, triage, imports run by the worker)
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


# The portal acting on its own (a signed intake post, the worker's triage): it may write on
# any board like an administrator, and events record no person as the actor.
SYSTEM = CurrentUser(
    id=None, username="system", display_name="系统", role="admin", department_id=None, language="zh_Hans"
)
