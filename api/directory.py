"""What the directory's routes share: registering an entry, and an administrator's log entries.

Agencies, users and their notification targets are registered by administrators through the API
and the console alike; both answer a taken id the same way and log each change the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from fastapi import Response
from sqlalchemy.orm import Session

from api.database import ReadModel
from api.principal import Principal
from api.problems import ProblemError
from store.access_log import AccessCategory, append_access
from store.identity import AlreadyExistsError


class Entry(Protocol):
    """A directory entry as the API answers it: read from its row, named by its id."""

    @property
    def id(self) -> str: ...


EntryT = TypeVar("EntryT", bound=Entry)


def taken(duplicate: AlreadyExistsError) -> ProblemError:
    """409 for an id already registered ("Agency already registered", "User ...")."""
    return ProblemError(409, f"{duplicate.kind.capitalize()} already registered", str(duplicate))


async def register_entry(
    read_model: ReadModel,
    register: Callable[[Session], object],
    *,
    read_as: Callable[[object], EntryT],
    response: Response,
    location: Callable[[str], object],
) -> EntryT:
    """Register a new entry and answer it, its address (`location` of its id) in `Location`."""

    def work(session: Session) -> EntryT:
        entry = read_as(register(session))
        response.headers["Location"] = str(location(entry.id))
        return entry

    return await read_model.write(work)


def log_administration(
    session: Session,
    *,
    admin: Principal,
    action: str,
    category: AccessCategory,
    detail: dict[str, Any],
) -> None:
    """The access-log entry of an administrator's change to the directory (no operation)."""
    append_access(
        session,
        accessor=admin.accessor(),
        action=action,
        category=category,
        operation_id=None,
        justification=None,
        detail=detail,
    )
