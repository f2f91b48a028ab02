"""Why the lifecycle refuses: a reason as a message template and its parameters, and its English.

The rules phrase every refusal (and every launch blocker) as an English template with named
placeholders (`"no handover of leg %(leg)s has been offered"`) and plain parameters, so that a
reader's language can be put in later without the rules knowing of catalogues: the template is a
message id of the console's catalogue, found there by Babel's extractor because every template is
a literal at its call (`RefusalError("...")`, `RoleRefusalError("...")`, `because("...")`; see
`EXTRACTION_KEYWORDS`). `str(reason)` is the English the API answers and the records keep.

A parameter is a string (an agency id, a country code, a phase, a moment as `utc_text` writes
it, a typed text), a number, a list of strings (a route, agencies, phases: joined as
`SEPARATORS` says) or a list of reasons (what blocks a launch, joined with "; "). Its name says
what it is, so a reader's page can show an agency by name or a phase in its own words: the names
are the vocabulary of `PARAMETERS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

# The calls whose first argument is a reason's template, for Babel's extractor.
EXTRACTION_KEYWORDS: Final = ("RefusalError", "RoleRefusalError", "because")

# What each parameter name stands for; a reader's page shows each kind in its own way.
PARAMETERS: Final[Mapping[str, str]] = {
    # agency ids
    "agency": "agency",
    "custodian": "agency",
    "receiving_agency": "agency",
    "coordinator": "agency",
    "owner": "agency",
    "agencies": "agencies",
    # ISO 3166 alpha-2 codes
    "country": "country",
    "other_country": "country",
    "route": "route",
    # the lifecycle's own words
    "phase": "phase",
    "phases": "phases",
    "action": "action",
    "delivery": "delivery",
    # moments (as `utc_text` or ISO 8601 writes them)
    "at": "moment",
    "deadline": "moment",
    "observed_at": "moment",
    # what was typed, ids and numbers: shown as they are
    "reasons": "text",
    "officer": "text",
    "request_id": "text",
    "leg": "number",
    "legs": "number",
    "expected": "number",
    "completed": "number",
    "step": "number",
    "number": "number",
    "version": "number",
    "blockers": "reasons",
}

# How a list parameter reads in English; any other list is joined with ", ".
SEPARATORS: Final[Mapping[str, str]] = {"route": " -> ", "phases": " or ", "blockers": "; "}


@dataclass(frozen=True)
class Reason:
    """A reason in English (`str(reason)`), kept as its template and parameters."""

    template: str
    parameters: Mapping[str, Parameter] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template % {
            name: english(name, value) for name, value in self.parameters.items()
        }

    def as_details(self) -> dict[str, Any]:
        """The reason as JSON can carry it (an Update's failure details, an API problem)."""
        return {
            "template": self.template,
            "parameters": {name: _plain(value) for name, value in self.parameters.items()},
        }


Parameter: TypeAlias = str | int | tuple[str, ...] | tuple[Reason, ...]


def because(template: str, /, **parameters: Parameter) -> Reason:
    """A reason: `because("no authorisation recorded for %(country)s", country="AF")`."""
    return Reason(template, parameters)


def english(name: str, value: Parameter) -> str:
    """A parameter as the English reason writes it."""
    if isinstance(value, tuple):
        return SEPARATORS.get(name, ", ").join(str(item) for item in value)
    return str(value)


def _plain(value: Parameter) -> Any:
    if isinstance(value, tuple):
        return [item.as_details() if isinstance(item, Reason) else item for item in value]
    return value


def reason_from_details(details: object) -> Reason | None:
    """The reason `Reason.as_details` wrote; None for anything else (an older worker's error
    carries none: its caller keeps the English)."""
    if not isinstance(details, Mapping):
        return None
    template, parameters = details.get("template"), details.get("parameters")
    if not isinstance(template, str) or not isinstance(parameters, Mapping):
        return None
    read: dict[str, Parameter] = {}
    for name, value in parameters.items():
        parameter = _parameter_from(value)
        if not isinstance(name, str) or parameter is None:
            return None
        read[name] = parameter
    return Reason(template, read)


def _parameter_from(value: object) -> Parameter | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return value
    if not isinstance(value, list | tuple):
        return None
    if all(isinstance(item, str) for item in value):
        return tuple(str(item) for item in value)
    reasons = tuple(reason_from_details(item) for item in value)
    if any(reason is None for reason in reasons):
        return None
    return tuple(reason for reason in reasons if reason is not None)
