"""Statistics across operations, over exactly the operations the caller may see.

An agency's officer gets its own operations' figures, a coordinator those of the operations the
centre coordinates, an analyst those whose handling code allows analysis. Each read is logged as a
consultation naming the operations it drew on.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import partial
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.report.render import render_statistics_html, render_statistics_pdf
from activities.statistics import OperationFacts, Statistics, compile_statistics
from api.access import record_access
from api.database import ReadModel
from api.deps import CurrentPrincipal, DocumentsDep, ReadModelDep
from api.documents import RenderedDocuments
from api.justification import Justification
from api.principal import Principal
from api.visibility import visible_to
from i18n import Language
from store.access_log import AccessCategory
from store.assessments import latest_assessments
from store.models import OperationRow
from workflows.assessment import OutcomeAssessment

router = APIRouter(prefix="/statistics", tags=["statistics"])

RESPONSES: dict[int | str, dict[str, str]] = {
    428: {"description": "The X-Justification header is missing"},
}


def _figures(session: Session, *, principal: Principal) -> tuple[Statistics, list[str]]:
    rows = session.scalars(
        select(OperationRow).where(visible_to(principal)).order_by(OperationRow.id)
    ).all()
    operations = [
        OperationFacts(
            operation_id=row.id,
            phase=row.phase,
            outcome=row.outcome,
            created_at=row.created_at,
            countries=list(row.countries),
        )
        for row in rows
    ]
    assessments = [
        OutcomeAssessment.model_validate(row.body)
        for row in latest_assessments(session, operation_ids=[row.id for row in rows])
    ]
    figures = compile_statistics(operations=operations, assessments=assessments)
    return figures, [row.id for row in rows]


async def statistics_for(
    read_model: ReadModel, *, principal: Principal, justification: str, action: str
) -> Statistics:
    figures, drawn_on = await read_model.read(partial(_figures, principal=principal))
    await record_access(
        read_model,
        principal=principal,
        action=action,
        category=AccessCategory.CONSULTATION,
        operation_id=None,
        justification=justification,
        detail={"operation_ids": drawn_on},
    )
    return figures


async def summary_document(
    documents: RenderedDocuments, statistics: Statistics, *, lang: Language, format: str
) -> bytes:
    """The one-page summary of these figures, rendered once per day and language."""
    # The summary is dated by the day: the same figures asked for again that day are not rendered
    # again (rendering takes seconds of CPU).
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    figures = statistics.model_dump_json()
    body = await documents.get(
        ("statistics", hashlib.sha256(figures.encode()).hexdigest(), lang, format, now),
        partial(_summary, figures, lang, format, now),
    )
    return body


def _summary(figures: str, lang: Language, format: str, computed_at: datetime) -> bytes:
    statistics = Statistics.model_validate_json(figures)
    if format == "pdf":
        return render_statistics_pdf(statistics, lang=lang, computed_at=computed_at)
    return render_statistics_html(statistics, lang=lang, computed_at=computed_at).encode()


@router.get(
    "",
    response_model=Statistics,
    summary="Statistics over the operations visible to you",
    responses=RESPONSES,
)
async def get_statistics(
    principal: CurrentPrincipal, read_model: ReadModelDep, justification: Justification
) -> Statistics:
    return await statistics_for(
        read_model, principal=principal, justification=justification, action="statistics.read"
    )


@router.get(
    "/summary",
    summary="A one-page statistics summary with charts, as PDF or HTML",
    response_class=Response,
    responses={
        200: {"description": "The summary", "content": {"application/pdf": {}, "text/html": {}}},
        **RESPONSES,
    },
)
async def get_statistics_summary(
    principal: CurrentPrincipal,
    read_model: ReadModelDep,
    documents: DocumentsDep,
    justification: Justification,
    lang: Language = Language.ENGLISH,
    format: Literal["pdf", "html"] = "pdf",
) -> Response:
    statistics = await statistics_for(
        read_model, principal=principal, justification=justification, action="statistics.summary"
    )
    body = await summary_document(documents, statistics, lang=lang, format=format)
    media_type = "application/pdf" if format == "pdf" else "text/html; charset=utf-8"
    return Response(
        content=body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="statistics-{lang.value}.{format}"',
            "Cache-Control": "no-store",
        },
    )
