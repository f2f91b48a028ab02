"""Runtime settings, read from the environment (prefix CDTRACK_) when asked for, never at import."""

from __future__ import annotations

import base64
import json
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

import limits
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.checkpoint import LogSigner, LogVerifier
from store.files import private_directory
from store.sealing import SecretBox
from workflows.messages import DeliveryPolicy

# How the worker runs workflow code: in the SDK's sandbox, or directly (cdtrack.worker).
WorkflowSandbox = Literal["strict", "off"]
# Where the console serves the embedded stack's Temporal UI, and the public path the UI is
# started with, so that its pages link to their assets and API through the console.
TEMPORAL_UI_PATH: Final = "/temporal"
# Where the console serves Temporal's remote codec protocol to the UI it serves (the UI posts to
# this path + /decode and /encode), on its own origin, so the administrator's session goes along.
TEMPORAL_CODEC_PATH: Final = "/temporal-codec"


class Settings(BaseSettings):
    """Everything a process of cdtrack needs to know about where things live."""

    # A variable set to nothing is a setting not given: compose passes its optional ones as
    # `${VAR:-}`, and an empty identity provider's address is no identity provider.
    model_config = SettingsConfigDict(env_prefix="CDTRACK_", extra="ignore", env_ignore_empty=True)

    data_dir: Path = Field(
        default=Path(".cdtrack"),
        description="Where the embedded stack keeps its Temporal database, read model and keys.",
    )
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    temporal_ui_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/]+/",
        description="The embedded stack's Temporal UI on loopback with its public path (set by "
        "`cdtrack up`), which the console serves to its administrators at /temporal/; unset in "
        "production, where the official UI runs behind the organisation's sign-in.",
    )
    task_queue: str = "cdtrack-operations"
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the read model; SQLite under data_dir when unset.",
    )
    codec_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="AES-256 payload codec keys, key id -> base64 (JSON in the environment).",
    )
    codec_active_key_id: str | None = Field(
        default=None, description="Key id new payloads are encrypted with; the newest key if unset."
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    notify_attempts: int = Field(
        default=5, ge=1, le=20, description="Delivery attempts per target before the chain moves on"
    )
    notify_first_retry_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Wait before the second attempt; doubles after"
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="Issuer (`iss`) of the identity provider's tokens; no OIDC if unset.",
    )
    oidc_audience: str | None = Field(
        default=None, description="Audience (`aud`) the identity provider's tokens must name."
    )
    oidc_jwks_url: str | None = Field(
        default=None, description="Where the identity provider publishes its signing keys (JWKS)."
    )
    oidc_authorization_url: str | None = Field(
        default=None,
        description="The provider's authorization endpoint: with it, oidc_token_url and "
        "oidc_client_id, people sign in to the console there (code flow with PKCE), not with "
        "a password.",
    )
    oidc_token_url: str | None = Field(
        default=None, description="The provider's token endpoint, for the console's sign-in."
    )
    oidc_client_id: str | None = Field(
        default=None, description="The console's client id at the provider (its ID tokens' aud)."
    )
    oidc_client_secret: str | None = Field(
        default=None, description="The console's client secret, if the provider gives one."
    )
    api_database_connections: int = Field(
        default=16,
        ge=1,
        le=200,
        description="Read-model connections of one API process; requests beyond them queue.",
    )
    api_render_processes: int = Field(
        default=1,
        ge=1,
        le=32,
        description="Processes of one API process that render reports and summaries (PDF).",
    )
    api_warm_renderer: bool = Field(
        default=True,
        description=(
            "Start the renderer processes with the API and have each load WeasyPrint, the fonts "
            "and the templates at once, so the first report after a start is not the slowest."
        ),
    )
    auth_failure_limit: str = Field(
        default="10/minute",
        description="Failed authentications allowed per address and per token (limits syntax).",
    )
    request_rate_limit: str = Field(
        default="1200/minute",
        description="Requests allowed per token or identity-provider user (limits syntax).",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where the counters live: memory:// for one process, redis://... for several.",
    )
    console_idle_timeout_seconds: float = Field(
        default=1800.0,
        gt=0,
        description="A console session unused for this long is refused (signed out).",
    )
    console_session_lifetime_seconds: float = Field(
        default=12 * 3600.0,
        gt=0,
        description="A console session ends this long after sign-in, however busy it is.",
    )
    sign_in_failure_limit: str = Field(
        default="5/15 minutes",
        description="Failed console sign-ins allowed per account and per address (limits syntax).",
    )
    temporal_answer_seconds: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="How long a request waits for an operation's workflow before answering 503.",
    )

    @field_validator("codec_keys")
    @classmethod
    def _keys_are_aes256(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key_id, key in keys.items():
            try:
                raw = base64.b64decode(key.get_secret_value(), validate=True)
            except ValueError as error:
                raise ValueError(f"codec key {key_id!r} is not valid base64") from error
            if len(raw) != 32:
                raise ValueError(f"codec key {key_id!r} must be 32 bytes (AES-256), got {len(raw)}")
        return keys

    @field_validator("auth_failure_limit", "request_rate_limit", "sign_in_failure_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError as error:
            raise ValueError(f"{value!r} is not a rate such as '10/minute': {error}") from None
        return value

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        given = [self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url]
        # Half a configuration would silently accept no identity-provider token at all.
        if any(given) and not all(given):
            raise ValueError("OIDC needs oidc_issuer, oidc_audience and oidc_jwks_url together")
        console = [self.oidc_authorization_url, self.oidc_token_url, self.oidc_client_id]
        if any(console) and not (all(console) and all(given)):
            raise ValueError(
                "the console's OIDC sign-in needs oidc_authorization_url, oidc_token_url and "
                "oidc_client_id, with oidc_issuer, oidc_audience and oidc_jwks_url"
            )
        return self

    @property
    def console_oidc(self) -> bool:
        """People sign in to the console through the identity provider, not by password."""
        return self.oidc_client_id is not None

    def secret_box(self) -> SecretBox:
        """Seals secrets kept in the read model (notification URLs) with the codec key ring."""
        active, keys = self.codec_key_ring()
        return SecretBox(active_key_id=active, keys=keys)

    def delivery_policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            attempts=self.notify_attempts, first_retry_seconds=self.notify_first_retry_seconds
        )

    @property
    def console_cookie_secure(self) -> bool:
        """Cookies go over HTTPS only, unless the console is served on this machine."""
        host = urlsplit(self.public_base_url).hostname or ""
        return host not in {"localhost", "127.0.0.1", "::1"}

    @cached_property
    def read_model_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'readmodel.db').resolve()}"

    def codec_key_ring(self) -> tuple[str, dict[str, bytes]]:
        """The active key id and every known key, creating a local key file when none is set.

        A key file under data_dir keeps the embedded stack usable without configuration; a
        deployment sets CDTRACK_CODEC_KEYS instead so the key never sits beside the data.
        """
        keys = {k: base64.b64decode(v.get_secret_value()) for k, v in self.codec_keys.items()}
        if not keys:
            keys = _local_key_file(self.data_dir / "codec-keys.json")
        active = self.codec_active_key_id or sorted(keys)[-1]
        if active not in keys:
            raise ValueError(f"codec_active_key_id {active!r} names no configured key")
        return active, keys

    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 key signing the access log's heads (base64 of its 32-byte seed); "
        "a key file under data_dir if unset.",
    )
    audit_public_key: str | None = Field(
        default=None,
        description="The access log's verifier key (name+keyid+base64, `cdtrack audit "
        "public-key`), for a process that verifies but does not sign; from the signing key if "
        "unset.",
    )
    audit_origin: str = Field(
        default="cdtrack/access-log",
        pattern=r"^[^\s+]+$",
        description="The access log's name in its signed heads (no spaces, no '+').",
    )
    audit_heads_file: Path | None = Field(
        default=None,
        description="Where every signed head is appended as a JSON line, for shipping off the "
        "machine; data_dir/access-log-heads.jsonl if unset.",
    )
    audit_batch_seconds: float = Field(
        default=2.0, gt=0, le=3600, description="Wait between two sequencer batches"
    )
    audit_queue_limit_seconds: float = Field(
        default=300.0, gt=0, description="Verification reports entries queued for longer"
    )

    @field_validator("audit_signing_key")
    @classmethod
    def _signing_key_is_ed25519(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            try:
                raw = base64.b64decode(key.get_secret_value(), validate=True)
            except ValueError as error:
                raise ValueError("audit_signing_key is not valid base64") from error
            if len(raw) != 32:
                raise ValueError(f"audit_signing_key must be 32 bytes (Ed25519), got {len(raw)}")
        return key

    def audit_signer(self) -> LogSigner:
        """The access log's signing key, creating a local key file when none is set.

        As with the codec keys, a deployment sets CDTRACK_AUDIT_SIGNING_KEY so the key never
        sits beside the data; it is never stored in the read model.
        """
        if self.audit_signing_key is not None:
            seed = base64.b64decode(self.audit_signing_key.get_secret_value())
        else:
            seed = _local_signing_key(self.data_dir / "access-log-signing-key")
        return LogSigner(origin=self.audit_origin, seed=seed)

    def audit_verifier(self) -> LogVerifier:
        if self.audit_public_key is not None:
            return LogVerifier.from_vkey(self.audit_public_key)
        return self.audit_signer().verifier

    @property
    def audit_heads_path(self) -> Path:
        return self.audit_heads_file or self.data_dir / "access-log-heads.jsonl"

    # Workers: several processes share the task queue; each takes at most this much at once.
    worker_max_concurrent_workflow_tasks: int = Field(
        default=100, ge=1, le=10_000, description="Workflow tasks one worker runs at once"
    )
    worker_max_concurrent_activities: int = Field(
        default=16, ge=1, le=1_000, description="Activities one worker runs at once (threads)"
    )
    worker_max_cached_workflows: int = Field(
        default=1000,
        ge=0,
        le=100_000,
        description="Sticky cache: workflows one worker keeps in memory between their tasks",
    )
    workflow_sandbox: WorkflowSandbox = Field(
        default="off",
        description="off: the worker runs workflow code directly; strict: in the SDK's sandbox "
        "(the tests always do); see cdtrack.worker.workflow_runner",
    )
    worker_health_host: str = "127.0.0.1"
    worker_health_port: int = Field(
        default=8081, ge=0, le=65535, description="Worker's /health and /metrics; 0 for none"
    )
    worker_sdk_metrics_address: str | None = Field(
        default=None,
        description="host:port where the worker serves the Temporal SDK's Prometheus metrics",
    )
    # Observability.
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: console lines on a terminal, JSON lines otherwise"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); no "
        "tracing if unset",
    )
    service_name: str = Field(default="cdtrack", description="service.name of the traces")
    # The codec server the Temporal UI and CLI decode payloads through.
    codec_server_host: str = "127.0.0.1"
    codec_server_port: int = Field(default=8088, ge=1, le=65535)
    codec_ui_origin: str | None = Field(
        default=None,
        description="The one browser origin (the Temporal UI) the codec server answers (CORS); "
        "the console's own (public_base_url) if unset, where `cdtrack up` serves the UI",
    )
    codec_ui_justification: str | None = Field(
        default=None,
        min_length=10,
        max_length=500,
        description="Justification logged for decodes whose request carries no X-Justification; "
        "without it the codec server refuses them, and the console's codec for the embedded UI "
        "logs its own (web/routes/temporal_codec.py)",
    )

    @property
    def codec_endpoint(self) -> str:
        return f"http://{self.codec_server_host}:{self.codec_server_port}"

    @property
    def console_codec_endpoint(self) -> str:
        """The codec endpoint of the UI the console serves: the console's own route for it, at
        the root of its origin as the UI's public path is."""
        return self.console_origin + TEMPORAL_CODEC_PATH

    @property
    def console_origin(self) -> str:
        """The scheme, host and port browsers address the console by (public_base_url's)."""
        parts = urlsplit(self.public_base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def codec_browser_origin(self) -> str:
        return self.codec_ui_origin or self.console_origin


def _local_key_file(path: Path) -> dict[str, bytes]:
    if not path.exists():
        private_directory(path.parent)
        key_id = "local-1"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({key_id: base64.b64encode(secrets.token_bytes(32)).decode()}, out)
    stored: dict[str, str] = json.loads(path.read_text())
    return {k: base64.b64decode(v) for k, v in stored.items()}


def _local_signing_key(path: Path) -> bytes:
    if not path.exists():
        private_directory(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    return base64.b64decode(path.read_text().strip())


def load_settings() -> Settings:
    return Settings()
