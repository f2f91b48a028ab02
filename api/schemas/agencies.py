"""Agency directory schemas: agencies, their users, the users' API tokens, and the caller."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import apprise
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.principal import Role
from i18n import Language
from store.identity import AgencyKind
from store.notifications import target_hint
from workflows.notices import Purpose
from workflows.plan import CountryCode

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _shaped(pattern: str, explanation: str) -> AfterValidator:
    """A pattern check whose refusal tells a person what to type, not the regular expression."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(explanation)
        return value

    return AfterValidator(check)


# The same rule as workflows.plan.AgencyId, which operation plans use.
AgencySlug = Annotated[
    str,
    _shaped(
        r"[a-z0-9][a-z0-9-]{1,62}",
        "use 2 to 63 lower-case letters, digits and hyphens, e.g. kz-customs",
    ),
    Field(description="Agency identifier, lower-case letters, digits and hyphens, e.g. kz-customs"),
]
UserId = Annotated[
    str,
    _shaped(
        r"[A-Za-z0-9][A-Za-z0-9._@|:-]{0,127}",
        "use up to 128 letters, digits and . _ @ | : -, starting with a letter or digit",
    ),
    Field(
        description="For people signing in through the identity provider, its subject (`sub`); "
        "letters, digits and . _ @ | : -"
    ),
]
# Only the shape is checked: whether a mailbox exists is learnt by writing to it.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    _shaped(r"[^@\s]+@[^@\s]+\.[^@\s]+", "not an e-mail address, e.g. duty@agency.example"),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    _shaped(r"\+?[0-9 ()-]{5,40}", "use digits, spaces, ( ) and -, with + for the country code"),
]


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AgencyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "kz-police",
                    "country": "KZ",
                    "kind": "police",
                    "name": "Ministry of Internal Affairs of Kazakhstan, Counter-Narcotics",
                    "contact_email": "duty@police.example.kz",
                    "contact_phone": "+7 717 000 0000",
                    "national_contact_point": True,
                }
            ]
        },
    )

    id: AgencySlug
    country: CountryCode = Field(description="ISO 3166-1 alpha-2 code of the agency's country")
    kind: AgencyKind
    name: Name
    contact_email: Email | None = None
    contact_phone: Phone | None = None
    national_contact_point: bool = Field(
        default=False,
        description="Whether this agency is its country's national contact point, the one "
        "escalations reach when a handover acknowledgement is overdue",
    )


class AgencyRead(Read):
    id: str
    country: str
    kind: AgencyKind
    name: str
    contact_email: str | None
    contact_phone: str | None
    national_contact_point: bool
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "a.nurlanov",
                    "name": "Aidos Nurlanov",
                    "role": "officer",
                    "agency_id": "kz-police",
                }
            ]
        },
    )

    id: UserId | None = Field(default=None, description="Generated when omitted")
    name: Name
    role: Role
    agency_id: AgencySlug


class UserUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"active": False}, {"role": "coordinator"}]},
    )

    name: Name | None = None
    role: Role | None = None
    active: bool | None = Field(
        default=None, description="false deactivates the user: every token is refused at once"
    )


class UserRead(Read):
    id: str
    name: str
    role: Role
    agency_id: str
    active: bool
    created_at: datetime


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"label": "duty laptop, Almaty"}]}
    )

    label: Name | None = Field(default=None, description="What the token is for, to recognise it")


class TokenRead(Read):
    id: str
    user_id: str
    label: str | None
    token_prefix: str = Field(description="The part after cdt_, to recognise the token")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenRead):
    token: str = Field(
        description="Send as `Authorization: Bearer <token>`; shown once, only its hash is kept"
    )


class PrincipalRead(BaseModel):
    user_id: str
    name: str
    role: Role
    agency: str


def _apprise_url(url: str) -> str:
    if apprise.Apprise.instantiate(url) is None:
        raise ValueError(
            "not a notification URL apprise can deliver to; use one of its schemes, e.g. "
            "mailtos://user:password@mail.example.org, tgram://bot-token/chat-id, "
            "matrixs://user:token@matrix.example.org/#room or json://host/path"
        )
    return url


def masked_url(url: str) -> str:
    """The target's scheme and server host, for recognising it; never a credential.

    Apprise's own privacy URL keeps custom headers and payload arguments of webhook targets in
    clear (`+Authorization=Bearer ...`, `:apikey=...`), so it is not used.
    """
    return target_hint(url)


NotificationUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=6, max_length=2000),
    AfterValidator(_apprise_url),
    Field(description="An apprise URL; it holds credentials, so it is sealed and never shown"),
]


class TargetCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "tgram://123456789:bot-token/-1001234567890",
                    "purpose": "action_required",
                    "language": "ru",
                    "label": "Duty room Telegram group",
                }
            ]
        },
    )

    url: NotificationUrl
    purpose: Purpose = Field(
        description="action_required: acknowledgements, confirmations, debrief input; "
        "escalation: reminders, overdue acknowledgements, alerts (falls back to action_required "
        "targets when an agency has none); digest: reports ready and other news"
    )
    language: Language = Field(description="Language of the messages: en or ru")
    label: Name | None = None


class TargetRead(Read):
    id: str
    agency_id: str
    purpose: Purpose
    language: Language
    label: str | None
    url_hint: str = Field(description="The URL with its credentials masked")
    active: bool
    created_at: datetime
    retired_at: datetime | None
