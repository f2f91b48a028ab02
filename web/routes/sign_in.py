"""Sign-in with a password and a TOTP second factor (enrolled at first sign-in), and sign-out.

Each step replaces the session with a new one (new cookie token, new CSRF token): a token seen
before a step is worth nothing after it. Failed passwords and codes are counted per account and
per address (api/throttle.py); once over the limit, the next attempt is refused before the
password is even checked, so it fails even when right.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from functools import partial
from typing import Annotated, Final

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import ReadModelDep, SettingsDep
from api.problems import ProblemError
from api.throttle import Throttle
from store.console import (
    Stage,
    check_password,
    check_second_factor,
    enrolled,
    enrolment_secret,
    forget_ended_sessions,
    open_session,
    promote_session,
    provisioning_uri,
    revoke_session,
)
from web.deps import (
    ANONYMOUS_LIFETIME,
    Visit,
    VisitDep,
    anonymous_view,
    check_csrf,
    clear_session_cookie,
    session_lifetime,
    set_session_cookie,
)
from web.errors import ConsoleError
from web.language import N_
from web.security import safe_next
from web.templating import View, render

router = APIRouter(include_in_schema=False)
logger = logging.getLogger(__name__)

WRONG_PASSWORD: Final = N_("The user id or the password is not right.")
WRONG_CODE: Final = N_("The code is not right or has been used already. Enter the current one.")
TOO_MANY: Final = N_("Too many failed sign-ins. Wait a few minutes, then try again.")
PROVIDER_ONLY: Final = N_("Passwords are not used here: sign in through the identity provider.")


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _visit_view(visit: Visit) -> View:
    return View(language=visit.language, clock=visit.clock, csrf_token=visit.csrf_token)


@router.get("/sign-in")
async def sign_in_form(
    request: Request, found: VisitDep, read_model: ReadModelDep, settings: SettingsDep
) -> Response:
    target = safe_next(request.query_params.get("next"))
    if found is not None and found[0].stage is Stage.SIGNED_IN:
        return RedirectResponse(target, status_code=303)
    if found is not None and found[0].stage is Stage.ANONYMOUS:
        csrf, token = found[0].csrf_token, None
    else:
        opened = await read_model.write(
            partial(_open_anonymous, lifetime=ANONYMOUS_LIFETIME, next_path=target)
        )
        csrf, token = opened
    view = anonymous_view(request, csrf_token=csrf)
    context = {"next": target, "error": None, "oidc": settings.console_oidc}
    response = render(request, "sign_in.html", view=view, context=context)
    if token is not None:
        set_session_cookie(response, token=token, settings=settings)
    return response


def _open_anonymous(session: Session, *, lifetime: timedelta, next_path: str) -> tuple[str, str]:
    forget_ended_sessions(session)
    opened = open_session(
        session, user_id=None, stage=Stage.ANONYMOUS, lifetime=lifetime, next_path=next_path
    )
    return opened.row.csrf_token, opened.token


def _anonymous_visit(found: tuple[Visit, object] | None) -> Visit:
    if found is None or found[0].stage is not Stage.ANONYMOUS:
        raise ConsoleError(
            403, N_("This form has expired or was not sent from this console. Reload the page.")
        )
    return found[0]


@router.post("/sign-in")
async def sign_in(
    request: Request,
    found: VisitDep,
    read_model: ReadModelDep,
    settings: SettingsDep,
    user_id: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if settings.console_oidc:
        raise ConsoleError(404, PROVIDER_ONLY)
    visit = _anonymous_visit(found)
    await check_csrf(request, visit)
    target = safe_next(next)
    throttle: Throttle = request.app.state.throttle
    address = _address(request)
    account = user_id.strip()
    view = _visit_view(visit)

    def again(message: str, status_code: int) -> Response:
        context = {"next": target, "error": message, "user_id": account, "oidc": False}
        return render(request, "sign_in.html", view=view, status_code=status_code, context=context)

    try:
        throttle.refuse_sign_in_if_failing(address=address, account=account)
    except ProblemError as refused:
        logger.warning("sign-in refused (throttled): account %r from %s", account, address)
        return again(TOO_MANY, refused.problem.status)
    user = await read_model.read(partial(check_password, user_id=account, password=password))
    if user is None:
        throttle.sign_in_failed(address=address, account=account)
        logger.warning(
            "sign-in failed for account %r from %s: wrong password, no such account, "
            "or the user is deactivated",
            account,
            address,
        )
        return again(WRONG_PASSWORD, 401)
    opened = await read_model.write(
        partial(
            promote_session,
            token=visit.token,
            user_id=user.id,
            stage=Stage.PASSWORD,
            lifetime=ANONYMOUS_LIFETIME,
            next_path=target,
        )
    )
    response = RedirectResponse("/sign-in/second-factor", status_code=303)
    set_session_cookie(response, token=opened.token, settings=settings)
    return response


def _password_visit(found: tuple[Visit, object] | None) -> Visit:
    if found is None or found[0].stage is not Stage.PASSWORD or found[0].user_id is None:
        raise ConsoleError(401, N_("Sign in with your password first."))
    return found[0]


@router.get("/sign-in/second-factor")
async def second_factor_form(
    request: Request, found: VisitDep, read_model: ReadModelDep
) -> Response:
    visit = _password_visit(found)
    user_id = visit.user_id or ""
    enrolling = not await read_model.read(partial(enrolled, user_id=user_id))
    secret = None
    if enrolling:
        box = request.app.state.settings.secret_box()
        secret = await read_model.write(partial(enrolment_secret, user_id=user_id, box=box))
    context = {"enrolling": enrolling, "secret": secret, "error": None}
    return render(request, "second_factor.html", view=_visit_view(visit), context=context)


@router.get("/sign-in/second-factor/qr.svg")
async def enrolment_qr(request: Request, found: VisitDep, read_model: ReadModelDep) -> Response:
    """The QR code of the secret being enrolled: an image served here, no script, no CDN."""
    visit = _password_visit(found)
    user_id = visit.user_id or ""
    if await read_model.read(partial(enrolled, user_id=user_id)):
        raise ConsoleError(404, N_("A second factor is already enrolled."))
    box = request.app.state.settings.secret_box()
    secret = await read_model.write(partial(enrolment_secret, user_id=user_id, box=box))
    qr = segno.make(provisioning_uri(secret=secret, account=user_id), error="m")
    svg = io.BytesIO()
    qr.save(svg, kind="svg", scale=6, border=4, dark="#000", light="#fff", xmldecl=False)
    return Response(svg.getvalue(), media_type="image/svg+xml")


@router.post("/sign-in/second-factor")
async def second_factor(
    request: Request,
    found: VisitDep,
    read_model: ReadModelDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    visit = _password_visit(found)
    await check_csrf(request, visit)
    user_id = visit.user_id or ""
    throttle: Throttle = request.app.state.throttle
    address = _address(request)
    view = _visit_view(visit)
    was_enrolled = await read_model.read(partial(enrolled, user_id=user_id))

    def again(message: str, status_code: int) -> Response:
        context = {"enrolling": not was_enrolled, "secret": None, "error": message}
        return render(
            request, "second_factor.html", view=view, status_code=status_code, context=context
        )

    try:
        throttle.refuse_sign_in_if_failing(address=address, account=user_id)
    except ProblemError as refused:
        logger.warning("second factor refused (throttled): account %r from %s", user_id, address)
        return again(TOO_MANY, refused.problem.status)
    box = settings.secret_box()
    given = "".join(code.split())
    if not await read_model.write(
        partial(check_second_factor, user_id=user_id, code=given, box=box)
    ):
        throttle.sign_in_failed(address=address, account=user_id)
        logger.warning("sign-in failed: wrong second factor for %r from %s", user_id, address)
        return again(WRONG_CODE, 401)
    opened = await read_model.write(
        partial(
            promote_session,
            token=visit.token,
            user_id=user_id,
            stage=Stage.SIGNED_IN,
            lifetime=session_lifetime(settings),
        )
    )
    logger.info("signed in: %r from %s", user_id, address)
    response = RedirectResponse(safe_next(opened.row.next_path), status_code=303)
    set_session_cookie(response, token=opened.token, settings=settings)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, found: VisitDep, read_model: ReadModelDep, settings: SettingsDep
) -> Response:
    if found is not None:
        await check_csrf(request, found[0])
        await read_model.write(partial(revoke_session, token=found[0].token))
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(response, settings=settings)
    return response
