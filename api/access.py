"""What every route that touches operational data shares: need-to-know and the access log.

`record_access` appends one entry and commits it before the answer leaves. `visible_for(action)`
is the dependency resolving the path's operation for a caller who may see it; anyone else has the
refused attempt logged and is told the operation does not exist. `consulted(action)` is that and
the justification the read is made under, so a route names its action once for the refusal and
the entry of what it read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, status
from fastapi import Path as PathParam

from api.database import ReadModel
from api.deps import CurrentPrincipal, ReadModelDep
from api.justification import Justification
from api.principal import Principal
from api.visibility import visible_operation
from store.access_log import AccessCategory, append_access
from store.models import OperationRow

NOT_FOUND: Final = "No operation with this id is visible to you"
OperationId = Annotated[str, PathParam(min_length=1, max_length=64, description="Operation id")]


async def record_access(
    read_model: ReadModel,
    *,
    principal: Principal | None,
    action: str,
    category: AccessCategory,
    operation_id: str | None,
    justification: str | None = None,
    recipients: list[str] | None = None,
    outcome: str = "allowed",
    reason_code: str | None = None,
    rule: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await read_model.write(
        partial(
            append_access,
            accessor=principal.accessor() if principal else None,
            action=action,
            category=category,
            operation_id=operation_id,
            justification=justification,
            recipients=recipients,
            outcome=outcome,
            reason_code=reason_code,
            rule=rule,
            detail=detail,
        )
    )


def visible_for(
    action: str, *, category: AccessCategory = AccessCategory.CONSULTATION
) -> Callable[..., Awaitable[OperationRow]]:
    """Dependency: the path's operation, if the caller may see it now; else logged and 404."""

    async def resolve(
        operation_id: OperationId, principal: CurrentPrincipal, read_model: ReadModelDep
    ) -> OperationRow:
        return await visible_or_not_found(
            read_model,
            principal=principal,
            operation_id=operation_id,
            action=action,
            category=category,
        )

    return resolve


async def visible_or_not_found(
    read_model: ReadModel,
    *,
    principal: Principal,
    operation_id: str,
    action: str,
    category: AccessCategory = AccessCategory.CONSULTATION,
) -> OperationRow:
    """The operation, if the principal may see it now; else the refusal is logged and 404."""
    row = await read_model.read(
        partial(visible_operation, principal=principal, operation_id=operation_id)
    )
    if row is None:
        await record_access(
            read_model,
            principal=principal,
            action=action,
            category=category,
            operation_id=operation_id,
            outcome="refused",
            reason_code="not_visible",
        )
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return row


@dataclass(frozen=True)
class Consulted:
    """An operation the caller may see, read under a justification, by a route naming its action."""

    row: OperationRow
    principal: Principal
    read_model: ReadModel
    justification: str
    action: str

    async def record(self, *, detail: dict[str, Any] | None = None) -> None:
        """The access-log entry of what the route read of the operation."""
        await record_access(
            self.read_model,
            principal=self.principal,
            action=self.action,
            category=AccessCategory.CONSULTATION,
            operation_id=self.row.id,
            justification=self.justification,
            detail=detail,
        )


def consulted(action: str) -> Callable[..., Awaitable[Consulted]]:
    """Dependency: the path's operation as `visible_for(action)` resolves it, and why it is read.

    A caller who may not see the operation is told it does not exist, justification or none."""
    visible = visible_for(action)

    async def resolve(
        *,
        # A default, not an annotation: annotations are strings here, read without this scope.
        # First, so that visibility is decided before the justification is asked for.
        row: OperationRow = Depends(visible),  # noqa: B008
        principal: CurrentPrincipal,
        read_model: ReadModelDep,
        justification: Justification,
    ) -> Consulted:
        return Consulted(row, principal, read_model, justification, action)

    return resolve
