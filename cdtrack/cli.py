"""The `cdtrack` command: the embedded stack, its parts one by one, migrations and API tokens."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from api.principal import Role
from cdtrack import stack
from cdtrack.settings import TEMPORAL_UI_PATH, Settings, load_settings

if TYPE_CHECKING:
    from store.access_log import PublishedHead
    from workflows.messages import SignedTreeHead

app = typer.Typer(
    help="Workflow engine for international controlled deliveries.", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens for the HTTP API.", no_args_is_help=True)
app.add_typer(token_app, name="token")
audit_app = typer.Typer(help="The access log.", no_args_is_help=True)
user_app = typer.Typer(help="Users of the web console.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")

CENTRE_ID = "caricc"
CENTRE_NAME = "Central Asian Regional Information and Coordination Centre"
CENTRE_COUNTRY = "KZ"


@app.callback()
def _configure_logging(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug lines too.")] = False,
) -> None:
    from cdtrack.observability import configure_logging

    configure_logging(load_settings(), verbose=verbose)


def _announce(server: stack.DevServer, *, ui_address: str | None) -> None:
    typer.echo(f"Temporal  {server.address} (namespace {server.namespace})")
    if ui_address is not None:
        typer.echo(f"UI        {ui_address}")
    elif server.started_here:
        typer.echo("UI        off (--no-ui)")
    else:
        typer.echo("UI        whatever the reused server serves")
    typer.echo(f"Data dir  {server.data_dir}")
    if server.started_here:
        typer.echo(f"Log       {server.log_file}")


@app.command()
def up(
    ui: Annotated[bool, typer.Option(help="Serve the Temporal Web UI.")] = True,
) -> None:
    """Run the embedded stack (Temporal dev server, read model, worker, API) until Ctrl-C."""
    from web.server import serve_api

    settings = load_settings()

    def announce(server: stack.DevServer) -> None:
        ui_address = None
        if server.ui_url is not None:
            # The UI's own port answers on loopback only; people open it through the console.
            base = settings.public_base_url.rstrip("/")
            ui_address = f"{base}{TEMPORAL_UI_PATH}/  (administrators, signed in to the console)"
        _announce(server, ui_address=ui_address)
        api = f"http://{settings.api_host}:{settings.api_port}"
        typer.echo(f"Console   {api}/  (sign in: password, then a TOTP code)")
        typer.echo(f"API       {api}/api/v1")
        typer.echo(f"API docs  {api}/docs")
        typer.echo("First administrator (another terminal):")
        typer.echo('          .venv/bin/cdtrack token create --name "Ops admin" --role admin')
        typer.echo("          .venv/bin/cdtrack user set-password ops-admin")
        typer.echo("          then sign in at the console and scan the QR code it shows")
        typer.echo("Sample operation through the API:  .venv/bin/cdtrack demo")

    asyncio.run(
        stack.serve_embedded(settings, with_api=True, api=serve_api, ui=ui, on_ready=announce)
    )


@app.command()
def worker() -> None:
    """Run only the worker, against the Temporal server the settings name."""
    asyncio.run(stack.serve_worker(load_settings()))


@app.command()
def migrate(
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Change nothing: wait until another process (the migration job) has brought "
            "the schema up to date, for a process that must not start on an older one.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="With --wait: give up (exit 1) after this many seconds.")
    ] = 600,
) -> None:
    """Bring the read model's schema up to date (or, with --wait, wait until it is)."""
    settings = load_settings()
    if not wait:
        stack.migrate_read_model(settings)
        typer.echo(f"read model migrated: {settings.read_model_url}")
        return
    if not stack.wait_for_schema(settings, timeout=timedelta(seconds=timeout)):
        typer.echo(
            f"the read model's schema is not up to date after {timeout:g} s: "
            "has the migration job run (cdtrack migrate)?",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo("read model schema up to date")


@app.command()
def server(
    ui: Annotated[bool, typer.Option(help="Serve the Temporal Web UI.")] = True,
) -> None:
    """Run only the embedded Temporal dev server, in the foreground (tests, debugging)."""

    def announce(server: stack.DevServer) -> None:
        _announce(server, ui_address=server.ui_url)

    asyncio.run(stack.serve_dev_server(load_settings(), ui=ui, on_ready=announce))


@app.command()
def api(
    migrate: Annotated[
        bool, typer.Option(help="Bring the read model's schema up to date first.")
    ] = True,
) -> None:
    """Run only the HTTP API, on the host and port the settings name."""
    import uvicorn

    from web.app import create_app

    settings = load_settings()
    if migrate:
        stack.migrate_read_model(settings)
    # uvicorn's own logging set-up and access lines would bypass the one pipeline.
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
    )


@app.command("codec-server")
def codec_server() -> None:
    """Serve Temporal's remote codec protocol, so the Temporal UI and CLI show decrypted payloads
    to administrators (each decode logged)."""
    from cdtrack.codec_server import serve_codec_server

    asyncio.run(serve_codec_server(load_settings()))


@app.command()
def demo() -> None:
    """Walk a sample operation (Afghanistan -> Tajikistan -> Kazakhstan) through the running API."""
    import secrets

    import httpx

    from cdtrack.walkthrough import Walkthrough, WalkthroughError, console_hint, enrol_cast

    settings = load_settings()
    stack.migrate_read_model(settings, quiet=True)
    suffix = secrets.token_hex(3)
    admin = _issue_token(
        settings,
        name="Demo administrator",
        role=Role.ADMIN,
        agency=CENTRE_ID,
        user_id=f"demo-admin-{suffix}",
    )
    base_url = f"http://{settings.api_host}:{settings.api_port}"
    typer.echo(f"Sample operation through {base_url}/api/v1")
    try:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            cast = enrol_cast(http, admin_token=admin, suffix=suffix)
            typer.echo(
                "Agencies af-cnpa (AF), tj-dca (TJ), kz-police (KZ) and their officers ready"
            )
            walk = Walkthrough(http, cast, say=typer.echo)
            # H1: released for analysis, so the centre's analysts find it on their pages too.
            operation_id = walk.run(code_name=f"DEMO-{suffix.upper()}", handling="H1")
    except (httpx.HTTPError, WalkthroughError) as failure:
        typer.echo(f"demo stopped: {failure}", err=True)
        typer.echo("Is the stack running? Start it with `make run`.", err=True)
        raise typer.Exit(1) from None
    for line in console_hint(
        base_url, operation_id=operation_id, coordinator_id=f"demo-coordinator-{suffix}"
    ):
        typer.echo(line)


@token_app.command("create")
def create_token(
    name: Annotated[str, typer.Option(help="The person or service the token is for.")],
    role: Annotated[Role, typer.Option(help="The user's role.")],
    agency: Annotated[
        str, typer.Option(help=f"The user's agency; {CENTRE_ID!r} is registered if missing.")
    ] = CENTRE_ID,
    user_id: Annotated[
        str | None, typer.Option(help="The user's id; from the name when omitted.")
    ] = None,
) -> None:
    """Issue an API token, registering the user first if needed; the token is printed once.

    This is how the first administrator gets in; everyone after is managed through the API.
    """
    settings = load_settings()
    stack.migrate_read_model(settings, quiet=True)
    user = user_id or _slug(name)
    try:
        token = _issue_token(settings, name=name, role=role, agency=agency, user_id=user)
    except _RefusedError as refusal:
        typer.echo(f"error: {refusal}", err=True)
        raise typer.Exit(1) from None
    # Only the token goes to stdout, so `TOKEN=$(cdtrack token create ...)` captures it alone.
    typer.echo(f"API token for {name} ({user}, {role.value}, {agency}); shown this once:", err=True)
    typer.echo(token)
    typer.echo("Send it with every request as:  Authorization: Bearer <the token>", err=True)
    typer.echo(f"Check it with:  GET {settings.public_base_url}/api/v1/me", err=True)


class _RefusedError(Exception):
    pass


@user_app.command("set-password")
def set_password(
    user_id: Annotated[str, typer.Argument(help="The user's id (see `cdtrack token create`).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="CDTRACK_NEW_PASSWORD",
            help="Asked for when not given (or set CDTRACK_NEW_PASSWORD).",
        ),
    ],
) -> None:
    """Set a user's console password; they enrol a second factor at their next sign-in if they
    have none. This is how the first administrator signs in to the console."""
    from store import console, identity
    from store.session import create_engine_for, session_factory

    settings = load_settings()
    stack.migrate_read_model(settings, quiet=True)
    engine = create_engine_for(settings.read_model_url)
    try:
        with session_factory(engine).begin() as session:
            if identity.get_user(session, user_id=user_id) is None:
                typer.echo(
                    f"error: no user {user_id!r}: create one with `cdtrack token create`", err=True
                )
                raise typer.Exit(1)
            console.set_password(session, user_id=user_id, password=password)
    except console.WeakPasswordError as weak:
        typer.echo(f"error: {weak}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"Password set for {user_id}. Sign in at {settings.public_base_url}/sign-in")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "user"


def _issue_token(settings: Settings, *, name: str, role: Role, agency: str, user_id: str) -> str:
    from store import identity
    from store.session import create_engine_for, session_factory

    engine = create_engine_for(settings.read_model_url)
    try:
        with session_factory(engine).begin() as session:
            if identity.get_agency(session, agency_id=agency) is None:
                if agency != CENTRE_ID:
                    raise _RefusedError(
                        f"no agency {agency!r} is registered: register it with "
                        f"POST /api/v1/agencies, or leave --agency out for the centre"
                    )
                identity.create_agency(
                    session,
                    agency_id=CENTRE_ID,
                    country=CENTRE_COUNTRY,
                    kind=identity.AgencyKind.COORDINATION_CENTRE,
                    name=CENTRE_NAME,
                    national_contact_point=False,
                )
            user = identity.get_user(session, user_id=user_id)
            if user is None:
                identity.create_user(
                    session, user_id=user_id, name=name, role=role.value, agency_id=agency
                )
            elif (user.agency_id, user.role, user.active) != (agency, role.value, True):
                raise _RefusedError(
                    f"user {user_id!r} exists as {user.role} of {user.agency_id}"
                    f"{'' if user.active else ', deactivated'}; choose another --user-id"
                )
            issued = identity.issue_token(session, user_id=user_id, label="cdtrack token create")
            return issued.token
    finally:
        engine.dispose()


def _published_heads(settings: Settings, *, temporal: bool) -> list[PublishedHead]:
    """The signed heads published outside the database: the heads file, the audit workflow."""
    from store.access_log import PublishedHead, read_published_heads

    path = settings.audit_heads_path
    heads = [PublishedHead(str(path), head) for head in read_published_heads(path)]
    if temporal:
        try:
            latest = asyncio.run(_workflow_head(settings))
        except _UnreachableError as unreachable:
            typer.echo(f"audit workflow not asked: {unreachable}", err=True)
        else:
            if latest is None:
                typer.echo("the audit workflow has signed no head yet", err=True)
            else:
                heads.append(PublishedHead("audit workflow", latest))
    return heads


class _UnreachableError(Exception):
    pass


async def _workflow_head(settings: Settings) -> SignedTreeHead | None:
    from cdtrack.temporal import connect
    from workflows.audit import AUDIT_WORKFLOW_ID, AccessLogAuditWorkflow

    try:
        async with asyncio.timeout(10):
            client = await connect(settings)
            handle = client.get_workflow_handle(AUDIT_WORKFLOW_ID)
            return await handle.query(AccessLogAuditWorkflow.latest_head)
    except TimeoutError:
        raise _UnreachableError("no answer within 10 s") from None
    except (RuntimeError, OSError) as failure:
        # RPCError and a refused connection are RuntimeErrors.
        raise _UnreachableError(str(failure) or type(failure).__name__) from None


TemporalOption = Annotated[
    bool, typer.Option(help="Also ask the audit workflow (Temporal) for its latest signed head.")
]
PublicKeyOption = Annotated[
    str | None,
    typer.Option(
        help="The log's verifier key (`cdtrack audit public-key`); from the settings if omitted."
    ),
]


@audit_app.command("verify")
def verify_audit(temporal: TemporalOption = True, public_key: PublicKeyOption = None) -> None:
    """Check every entry against every signed head; exit 1 naming what was tampered with."""
    from datetime import UTC, datetime

    from store.access_log import verify_log
    from store.checkpoint import LogVerifier
    from store.session import create_engine_for, session_factory

    settings = load_settings()
    verifier = LogVerifier.from_vkey(public_key) if public_key else settings.audit_verifier()
    published = _published_heads(settings, temporal=temporal)
    engine = create_engine_for(settings.read_model_url)
    try:
        with session_factory(engine)() as session:
            report = verify_log(
                session,
                verifier=verifier,
                published=published,
                now=datetime.now(UTC),
                queue_limit=timedelta(seconds=settings.audit_queue_limit_seconds),
            )
    finally:
        engine.dispose()
    if report.intact:
        typer.echo(report.describe())
        return
    typer.echo(f"access log NOT intact ({len(report.findings)} findings):", err=True)
    typer.echo(report.describe(), err=True)
    raise typer.Exit(1)


@audit_app.command("prove")
def prove_entry(
    entry_id: Annotated[int, typer.Argument(help="The access-log entry's id.")],
    temporal: TemporalOption = True,
) -> None:
    """Print (JSON) an inclusion proof of one entry against the latest signed head.

    Anyone with the public key checks it: store.checkpoint.check_inclusion_proof, or any
    RFC 9162 and signed-note implementation.
    """
    import json

    from store.access_log import (
        NotIntegratedError,
        database_heads,
        latest_signed_head,
        prove_inclusion,
    )
    from store.session import create_engine_for, session_factory

    settings = load_settings()
    verifier = settings.audit_verifier()
    published = [found.head for found in _published_heads(settings, temporal=temporal)]
    engine = create_engine_for(settings.read_model_url)
    try:
        with session_factory(engine)() as session:
            head = latest_signed_head([*published, *database_heads(session)], verifier=verifier)
            if head is None:
                typer.echo("error: no signed head yet; is the worker running?", err=True)
                raise typer.Exit(1)
            proof = prove_inclusion(session, entry_id=entry_id, head=head, verifier=verifier)
    except NotIntegratedError as missing:
        typer.echo(f"error: {missing}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(json.dumps(proof, indent=2, ensure_ascii=False))


@audit_app.command("public-key")
def public_key(
    pem: Annotated[bool, typer.Option(help="As a PEM SubjectPublicKeyInfo instead.")] = False,
) -> None:
    """Print the key the access log's heads are signed with, for whoever checks them."""
    verifier = load_settings().audit_verifier()
    typer.echo(verifier.pem().rstrip() if pem else verifier.vkey())
