"""Who is calling: a person with a role, acting for one agency (or for the centre)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from store.access_log import Accessor
from workflows.commands import Actor, ActorRole


class Role(StrEnum):
    OFFICER = "officer"
    COORDINATOR = "coordinator"
    ANALYST = "analyst"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as looked up on this request (never cached across requests)."""

    user_id: str
    name: str
    role: Role
    agency: str

    def actor(self) -> Actor:
        role = ActorRole.COORDINATOR if self.role is Role.COORDINATOR else ActorRole.OFFICER
        return Actor(agency=self.agency, officer=self.user_id, role=role)

    def accessor(self) -> Accessor:
        """The caller as the access log names them."""
        return Accessor(
            user_id=self.user_id, name=self.name, agency=self.agency, role=self.role.value
        )
