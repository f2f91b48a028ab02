"""The debrief's outputs: the outcome assessment (JSON) and the debrief report (HTML, PDF).

Need-to-know as for the operation itself: whoever may not see the operation gets 404, the same
answer as for an operation that does not exist. Reading the assessment is a consultation;
fetching the report is a disclosure (a document leaves the system), logged with its recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.report.render import named_agencies, render_report_html, render_report_pdf
from api.access import NOT_FOUND, Consulted, consulted, record_access
from api.database import ReadModel
from api.deps import DocumentsDep
from api.documents import RenderedDocuments
from api.principal import Principal
from api.schemas.debrief import AssessmentRead, AssessmentVersionRead
from i18n import Language
from store.access_log import AccessCategory
from store.assessments import AssessmentRow, assessment, assessment_versions
from store.identity import AgencyName, agency_names
from workflows.assessment import OutcomeAssessment

router = APIRouter(prefix="/operations", tags=["debrief"])

NOT_YET = "No outcome assessment of this operation yet; it is written when the debrief ends"
Version = Annotated[
    int | None, Query(ge=1, le=100_000, description="An earlier version; the latest if omitted")
]
READ_RESPONSES: dict[int | str, dict[str, str]] = {
    404: {"description": f"{NOT_FOUND}; or no such version of its outcome assessment"},
    428: {"description": "The X-Justification header is missing"},
}


def _version_row(session: Session, *, operation_id: str, version: int | None) -> AssessmentRow:
    row = assessment(session, operation_id=operation_id, version=version)
    if row is None:
        detail = NOT_YET if version is None else f"The outcome assessment has no version {version}"
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail)
    return row


def _assessment_read(session: Session, *, operation_id: str, version: int | None) -> AssessmentRead:
    row = _version_row(session, operation_id=operation_id, version=version)
    return AssessmentRead(
        operation_id=operation_id,
        version=row.version,
        versions=[
            AssessmentVersionRead(version=v, computed_at=at, at_seq=seq, reason=reason)
            for v, at, seq, reason in assessment_versions(session, operation_id=operation_id)
        ],
        assessment=OutcomeAssessment.model_validate(row.body),
    )


async def assessment_read(
    read_model: ReadModel, *, operation_id: str, version: int | None
) -> AssessmentRead:
    """A version of the outcome assessment (the latest if None) and the list of all; 404 if none.

    Need-to-know and the access log are the caller's."""
    return await read_model.read(
        partial(_assessment_read, operation_id=operation_id, version=version)
    )


@router.get(
    "/{operation_id}/assessment",
    response_model=AssessmentRead,
    summary="The outcome assessment (latest version, or an earlier one)",
    responses=READ_RESPONSES,
)
async def get_assessment(
    seen: Annotated[Consulted, Depends(consulted("assessment.read"))],
    version: Version = None,
) -> AssessmentRead:
    found = await assessment_read(seen.read_model, operation_id=seen.row.id, version=version)
    await seen.record(detail={"version": found.version})
    return found


def _report_source(
    session: Session, *, operation_id: str, version: int | None
) -> tuple[OutcomeAssessment, dict[str, AgencyName]]:
    """The assessment and the directory entries of the agencies it names."""
    row = _version_row(session, operation_id=operation_id, version=version)
    computed = OutcomeAssessment.model_validate(row.body)
    return computed, agency_names(session, agency_ids=named_agencies(computed))


def _render_report(
    computed: OutcomeAssessment,
    lang: Language,
    format: str,
    agencies: Mapping[str, AgencyName],
) -> bytes:
    if format == "pdf":
        return render_report_pdf(computed, lang=lang, agencies=agencies)
    return render_report_html(computed, lang=lang, agencies=agencies).encode()


@dataclass(frozen=True)
class ReportDocument:
    body: bytes
    version: int
    media_type: str
    filename: str


async def _report_document(
    read_model: ReadModel,
    documents: RenderedDocuments,
    *,
    operation_id: str,
    version: int | None,
    lang: Language,
    format: Literal["pdf", "html"],
) -> ReportDocument:
    """The debrief report of a version of the assessment (rendered once per version, language,
    format and agency names); 404 if there is none."""
    computed, agencies = await read_model.read(
        partial(_report_source, operation_id=operation_id, version=version)
    )
    # The names are part of the key: a renamed agency gets a report rendered afresh.
    names = tuple(agencies[agency_id] for agency_id in sorted(agencies))
    body = await documents.get(
        ("report", computed.operation_id, computed.version, lang, format, names),
        partial(_render_report, computed, lang, format, agencies),
    )
    return ReportDocument(
        body=body,
        version=computed.version,
        media_type="application/pdf" if format == "pdf" else "text/html; charset=utf-8",
        filename=f"{computed.code_name}-debrief-v{computed.version}-{lang.value}.{format}",
    )


async def disclosed_report(
    read_model: ReadModel,
    documents: RenderedDocuments,
    *,
    principal: Principal,
    operation_id: str,
    justification: str,
    action: str,
    version: int | None,
    lang: Language,
    format: Literal["pdf", "html"],
) -> ReportDocument:
    """The debrief report, logged as disclosed to the principal's agency: the document leaves
    the system. 404 if there is none (nothing logged); need-to-know is the caller's."""
    document = await _report_document(
        read_model, documents, operation_id=operation_id, version=version, lang=lang, format=format
    )
    await record_access(
        read_model,
        principal=principal,
        action=action,
        category=AccessCategory.DISCLOSURE,
        operation_id=operation_id,
        justification=justification,
        recipients=[principal.agency],
        detail={"version": document.version, "lang": lang.value, "format": format},
    )
    return document


@router.get(
    "/{operation_id}/report",
    summary="The debrief report, in English or Russian, as PDF or HTML",
    response_class=Response,
    responses={
        200: {
            "description": "The debrief report",
            "content": {"application/pdf": {}, "text/html": {}},
        },
        **READ_RESPONSES,
    },
)
async def get_report(
    seen: Annotated[Consulted, Depends(consulted("report.disclose"))],
    documents: DocumentsDep,
    lang: Language = Language.ENGLISH,
    format: Literal["pdf", "html"] = "pdf",
    version: Version = None,
) -> Response:
    document = await disclosed_report(
        seen.read_model,
        documents,
        principal=seen.principal,
        operation_id=seen.row.id,
        justification=seen.justification,
        action=seen.action,
        version=version,
        lang=lang,
        format=format,
    )
    return Response(
        content=document.body,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "Cache-Control": "no-store",
        },
    )
