"""What the reference workflow speaks, and the one row per Update it writes to the read model.

A module of its own so the workflow sandbox passes it through, as the product's workflow passes
its messages through: the reference pays what the operation pays for its payloads, not for
rebuilding pydantic models in every sandbox.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite
from temporalio import activity

# The bench's own, on the read-model database beside the product's tables; never migrated.
METADATA = MetaData()
REFERENCE_ROWS = Table(
    "bench_reference_rows",
    METADATA,
    Column("workflow_id", String(200), primary_key=True),
    Column("step", Integer, primary_key=True),
    Column("written_at", DateTime(timezone=True), nullable=False),
)
PADDING = "x"


class ReferenceStepPlan(BaseModel):
    """How long the padding of one Update's answer, row input and row result is."""

    answer: int = Field(ge=0)
    row_input: int = Field(ge=0)
    row_result: int = Field(ge=0)


class StartReferenceInput(BaseModel):
    """Each Update's paddings in the order they come, padded to an operation's start input."""

    steps: list[ReferenceStepPlan]
    padding: str = ""


class TakeReferenceStepInput(BaseModel):
    padding: str = ""


class TakeReferenceStepResult(BaseModel):
    step: int
    padding: str = ""


class WriteReferenceRowInput(BaseModel):
    workflow_id: str
    step: int
    result_padding: int = Field(ge=0)
    padding: str = ""


class WriteReferenceRowResult(BaseModel):
    padding: str = ""


class ReferenceRows:
    """Writes the reference's rows: one INSERT and its commit per Update."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_table(self) -> None:
        METADATA.create_all(self._engine, checkfirst=True)

    @activity.defn(name="bench_reference_write_row")
    def write_row(self, row: WriteReferenceRowInput) -> WriteReferenceRowResult:
        """Idempotent: a retried attempt finds its row written and writes nothing."""
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(REFERENCE_ROWS)
            .values(workflow_id=row.workflow_id, step=row.step, written_at=datetime.now(UTC))
            .on_conflict_do_nothing()
        )
        with self._engine.begin() as connection:
            connection.execute(statement)
        return WriteReferenceRowResult(padding=PADDING * row.result_padding)
