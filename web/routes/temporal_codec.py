"""Temporal's remote codec for the embedded UI the console serves, on the console's own origin.

The UI the console serves at /temporal/ (web/routes/temporal_ui.py) shows workflows' payloads
encrypted until it decodes them through its codec endpoint; in the browser it can send that
endpoint no bearer token, so the standalone codec server would refuse it. `cdtrack up` starts it
with the console's `TEMPORAL_CODEC_PATH` as codec endpoint instead (`/decode`, `/encode` below
it), and its requests carry the administrator's console session like any other same-origin call.
The routes exist only where the console serves the UI (`install`, called with it).

- **Who.** The session of a signed-in administrator, checked by the console's own checks (those
  of `AdminSignedIn`), but answered as the codec protocol answers: a JSON problem (401 without
  a session, 403 for another role), since a script reads the answer, not a person.
- **Cross-site requests.** Only from the console's own origin (`from_console_pages`, as the
  UI's state-changing calls); else 403.
- **What is done.** The codec server's own `RemoteCodec` (cdtrack/codec_server.py): the same
  payload limits, one consultation in the access log per decode, each refusal logged by its
  reason code (`not_authenticated`, `not_admin`, `origin_not_allowed`).
- **Justification.** The UI cannot ask for one: a decode is justified by its `X-Justification`
  if it sends one, else by `codec_ui_justification`, else by `UI_JUSTIFICATION`. The person is
  known (signed in to the console), opening the UI's page is itself a consultation
  (`temporal_ui.view`), and what they read is a workflow in the tool meant to investigate one;
  refusing every decode would leave the UI unable to show anything.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Final

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from api.deps import ReadModelDep, SettingsDep
from api.principal import Principal
from api.problems import ProblemError
from cdtrack.codec_server import FOREIGN_ORIGIN, NOT_ADMIN, RemoteCodec
from cdtrack.settings import TEMPORAL_CODEC_PATH, Settings
from web.deps import VisitDep, admin_only, signed_in
from web.errors import ConsoleError, SignInRequired
from web.security import from_console_pages

router = APIRouter(include_in_schema=False)

UI_JUSTIFICATION: Final = "Investigating a workflow in the embedded Temporal UI"
NOT_SIGNED_IN: Final = (
    "Sign in to the console as an administrator, then open the Temporal UI again."
)


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the codec for the embedded UI, with the key ring of these settings."""
    app.state.remote_codec = RemoteCodec.of(settings)
    app.include_router(router)


async def ui_administrator(
    request: Request, found: VisitDep, read_model: ReadModelDep, settings: SettingsDep
) -> Principal:
    """The signed-in administrator whose UI asks; anyone else is refused, and the refusal
    logged."""
    remote_codec: RemoteCodec = request.app.state.remote_codec
    refused = partial(remote_codec.log_refusal, request, read_model=read_model)
    try:
        viewer = await signed_in(request, found)
    except SignInRequired:
        await refused(principal=None, reason_code="not_authenticated")
        raise ProblemError(401, "Unauthorized", NOT_SIGNED_IN) from None
    try:
        await admin_only(viewer)
    except ConsoleError:
        await refused(principal=viewer.principal, reason_code="not_admin")
        raise ProblemError(403, "Forbidden", NOT_ADMIN) from None
    if not from_console_pages(request, settings):
        await refused(principal=viewer.principal, reason_code="origin_not_allowed")
        raise ProblemError(403, "Forbidden", FOREIGN_ORIGIN)
    return viewer.principal


UiAdministrator = Annotated[Principal, Depends(ui_administrator)]


@router.post(TEMPORAL_CODEC_PATH + "/decode")
async def decode(
    request: Request,
    principal: UiAdministrator,
    read_model: ReadModelDep,
    settings: SettingsDep,
) -> JSONResponse:
    remote_codec: RemoteCodec = request.app.state.remote_codec
    return await remote_codec.decode(
        request,
        read_model=read_model,
        principal=principal,
        fallback_justification=settings.codec_ui_justification or UI_JUSTIFICATION,
    )


@router.post(TEMPORAL_CODEC_PATH + "/encode")
async def encode(request: Request, principal: UiAdministrator) -> JSONResponse:
    remote_codec: RemoteCodec = request.app.state.remote_codec
    return await remote_codec.encode(request)
