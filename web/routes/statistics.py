"""The statistics page: the API's figures and the summary's charts, over exactly the operations
the viewer may see (`api.routes.statistics`), and the assessed operations to open from there."""

from __future__ import annotations

import base64
from functools import partial
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from activities.report import charts, labels
from activities.report.render import Formats
from activities.statistics import Statistics
from api.deps import DocumentsDep, ReadModelDep
from api.principal import Principal, Role
from api.routes.statistics import statistics_for, summary_document
from api.visibility import visible_to
from i18n import Language
from store.assessments import AssessmentRow
from store.models import OperationRow
from web.deps import SignedIn, console_role
from web.language import N_
from web.templating import render

router = APIRouter(include_in_schema=False)

StatisticsViewer = Annotated[SignedIn, Depends(console_role(Role.ANALYST, Role.COORDINATOR))]
# The page has one purpose, and the access log names it as the justification of every view.
JUSTIFICATION: Final = N_("Statistics across operations")


def _assessed(session: Session, *, principal: Principal) -> list[tuple[str, str, str]]:
    """(id, code name, phase) of the visible operations that have an outcome assessment."""
    assessed = select(AssessmentRow.operation_id).distinct()
    rows = session.execute(
        select(OperationRow.id, OperationRow.code_name, OperationRow.phase)
        .where(visible_to(principal), OperationRow.id.in_(assessed))
        .order_by(OperationRow.code_name)
    ).all()
    return [(row.id, row.code_name, row.phase) for row in rows]


def _chart(svg: str) -> str:
    """An SVG chart as an image address: drawn by matplotlib with its own styles, it is shown
    as an image (never inline), so the page's policy against inline styles holds."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _charts(figures: Statistics, fmt: Formats) -> dict[str, str]:
    drawn: dict[str, str] = {}
    if figures.seizures_by_substance:
        drawn["substances"] = _chart(
            charts.horizontal_totals(
                [
                    f"{q.substance} ({fmt.label(labels.UNITS, q.unit)})"
                    for q in figures.seizures_by_substance
                ],
                [q.quantity for q in figures.seizures_by_substance],
                axis_label=fmt.gettext("quantity seized"),
            )
        )
    if figures.by_phase:
        drawn["phases"] = _chart(
            charts.horizontal_totals(
                [fmt.label(labels.PHASES, c.key) for c in figures.by_phase],
                [c.count for c in figures.by_phase],
                axis_label=fmt.gettext("operations"),
            )
        )
    return drawn


@router.get("/statistics")
async def statistics_page(
    request: Request, viewer: StatisticsViewer, read_model: ReadModelDep
) -> Response:
    figures = await statistics_for(
        read_model,
        principal=viewer.principal,
        justification=JUSTIFICATION,
        action="console_statistics",
    )
    assessed = await read_model.read(partial(_assessed, principal=viewer.principal))
    fmt = Formats(viewer.view.language)
    context = {
        "s": figures,
        "fmt": fmt,
        "labels": labels,
        "charts": _charts(figures, fmt),
        "assessed": assessed,
    }
    return render(request, "statistics.html", view=viewer.view, context=context)


@router.get("/statistics/summary")
async def statistics_summary(
    viewer: StatisticsViewer,
    read_model: ReadModelDep,
    documents: DocumentsDep,
    lang: Language = Language.ENGLISH,
) -> Response:
    figures = await statistics_for(
        read_model,
        principal=viewer.principal,
        justification=JUSTIFICATION,
        action="console_statistics_summary",
    )
    body = await summary_document(documents, figures, lang=lang, format="pdf")
    return Response(
        content=body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="statistics-{lang.value}.pdf"'},
    )
