"""Every table of the read model on one `MetaData`: import this, not one table module, for all."""

from __future__ import annotations

from typing import Final

from sqlalchemy import MetaData

from store import access_log, assessments, console, idempotency, identity, models, notifications
from store.base import Base

# Imported for the tables they register on Base.metadata; named so no linter drops them as unused.
TABLE_MODULES: Final = (
    access_log,
    assessments,
    console,
    idempotency,
    identity,
    models,
    notifications,
)

metadata: Final[MetaData] = Base.metadata
