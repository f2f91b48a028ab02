"""From a posted form to a model's input and back: dotted field names to nested fields, the
viewer's local date-times to UTC, and a model's validation errors to messages at their fields."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import Enum
from typing import Annotated, Any, Final, get_args, get_origin

import pycountry
from babel import Locale
from pydantic import BaseModel, ValidationError

from i18n import SOURCE_LANGUAGE, Language
from web.language import N_, console_texts
from web.templating import View
from workflows.plan import MAX_TEXT_LENGTH

LOCAL_MOMENT: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
# Fields of a form that are not the model's: the token, the buttons that add or remove rows.
NOT_FIELDS: Final = frozenset({"csrf_token", "change"})
# The union tags pydantic puts in an error's location ("authorisation.granted.reference").
UNION_TAGS: Final = frozenset({"granted", "refused"})


def utc_of(local: str, *, zone: tzinfo) -> str:
    """A `datetime-local` value, read in the viewer's zone, as UTC ISO 8601."""
    moment = datetime.fromisoformat(local).replace(tzinfo=zone)
    return moment.astimezone(UTC).isoformat()


def _value(raw: str, *, zone: tzinfo) -> Any:
    if LOCAL_MOMENT.match(raw):
        return utc_of(raw, zone=zone)
    if raw == "on":  # a ticked checkbox
        return True
    return raw


def form_fields(form: dict[str, str], *, zone: tzinfo) -> dict[str, Any]:
    """`{"authorisation.country": "KZ"}` -> `{"authorisation": {"country": "KZ"}}`; empty
    fields are left out, so the model's defaults apply and required ones say they are missing."""
    fields: dict[str, Any] = {}
    for name, raw in form.items():
        if name in NOT_FIELDS or not raw.strip():
            continue
        *path, last = name.split(".")
        target = fields
        for part in path:
            target = target.setdefault(part, {})
        target[last] = _value(raw.strip(), zone=zone)
    return fields


def error_field(location: tuple[int | str, ...]) -> str:
    """The form field a validation error is about: its location without union tags."""
    return ".".join(str(part) for part in location if part not in UNION_TAGS)


# The viewer's message for each common kind of validation error (pydantic's error types), so
# that a form answers in the viewer's language, not in pydantic's English.
TYPE_MESSAGES: Final[dict[str, str]] = {
    "missing": N_("Fill in this field."),
    "string_pattern_mismatch": N_("Use only the characters this field allows."),
    "string_type": N_("Enter text."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number, e.g. 12.5."),
    "float_type": N_("Enter a number, e.g. 12.5."),
    "finite_number": N_("Enter a number, e.g. 12.5."),
    "decimal_parsing": N_("Enter a number, e.g. 12.5."),
    "greater_than": N_("Enter a number greater than %(gt)s."),
    "greater_than_equal": N_("Enter a number of at least %(ge)s."),
    "less_than": N_("Enter a number less than %(lt)s."),
    "less_than_equal": N_("Enter a number of at most %(le)s."),
    "datetime_parsing": N_("Enter a date and time."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "datetime_type": N_("Enter a date and time."),
    "timezone_aware": N_("Enter a date and time."),
    "date_parsing": N_("Enter a date."),
    "date_from_datetime_parsing": N_("Enter a date."),
    "date_type": N_("Enter a date."),
    "time_delta_parsing": N_("Enter a duration."),
    "enum": N_("Choose one of the options offered."),
    "literal_error": N_("Choose one of the options offered."),
    "bool_parsing": N_("Tick the box or leave it empty."),
    "url_parsing": N_("Enter a web address."),
    "extra_forbidden": N_("This field is not part of the form."),
}
# Those whose message counts (characters, entries), in the plural form the number needs.
COUNTED_MESSAGES: Final[dict[str, tuple[str, Callable[[View, int], str]]]] = {
    "string_too_short": (
        "min_length",
        lambda view, n: view.ngettext(
            "Enter at least %(num)s character.", "Enter at least %(num)s characters.", n
        ),
    ),
    "string_too_long": (
        "max_length",
        lambda view, n: view.ngettext(
            "Enter at most %(num)s character.", "Enter at most %(num)s characters.", n
        ),
    ),
    "too_short": (
        "min_length",
        lambda view, n: view.ngettext(
            "Give at least %(num)s entry.", "Give at least %(num)s entries.", n
        ),
    ),
    "too_long": (
        "max_length",
        lambda view, n: view.ngettext(
            "Give at most %(num)s entry.", "Give at most %(num)s entries.", n
        ),
    ),
}


def validation_message(error: Mapping[str, Any], *, view: View) -> str:
    """One validation error as the viewer reads it: a common kind by its type; a model's own
    message translated if the catalogue has it, else after a translated lead-in."""
    kind = str(error.get("type", ""))
    context = dict(error.get("ctx") or {})
    if kind in TYPE_MESSAGES:
        words = console_texts(view.language)
        shown = {
            key: words.number(value) if isinstance(value, int | float) else str(value)
            for key, value in context.items()
        }
        return view.gettext(TYPE_MESSAGES[kind]) % shown
    if kind in COUNTED_MESSAGES:
        key, counted = COUNTED_MESSAGES[kind]
        count = int(context.get(key, 0))
        return counted(view, count) % {"num": count}
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    translated = view.gettext(message) if message else message
    if translated != message or view.language is SOURCE_LANGUAGE:
        return translated
    return view.gettext(N_("This value does not fit: %(reason)s")) % {"reason": message}


def field_errors(invalid: ValidationError, *, view: View) -> dict[str, str]:
    """Each field's first message; an error about the whole input goes under "form"."""
    errors: dict[str, str] = {}
    for error in invalid.errors():
        location = tuple(part for part in error["loc"] if part not in ("actor", "request_id"))
        name = error_field(location) or "form"
        errors.setdefault(name, validation_message(error, view=view))
    return errors


@dataclass(frozen=True)
class FormField:
    name: str
    # text | number | datetime-local | checkbox | select | textarea | country | participant
    kind: str
    required: bool
    options: tuple[str, ...] = ()


def _kind_of(annotation: Any) -> tuple[str, tuple[str, ...]]:
    inner = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    base = get_origin(inner[0]) or inner[0]
    if base is Annotated:
        base = get_args(inner[0])[0]
    if isinstance(base, type) and issubclass(base, Enum):
        return "select", tuple(str(member.value) for member in base)
    if base is bool:
        return "checkbox", ()
    if base is datetime or getattr(base, "__name__", "") == "AwareDatetime":
        return "datetime-local", ()
    if base in (int, float):
        return "number", ()
    return "text", ()


def fields_of(model: type[BaseModel], *, prefix: str = "") -> list[FormField]:
    """The simple fields of an action's input, as a form asks for them (nested models flattened
    under a dotted prefix; lists are for pages of their own)."""
    found: list[FormField] = []
    for name, info in model.model_fields.items():
        if name in {"kind", "actor", "request_id", "justification"}:
            continue
        annotation = info.annotation
        if get_origin(annotation) is list:
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.extend(fields_of(annotation, prefix=f"{prefix}{name}."))
            continue
        kind, options = _kind_of(annotation)
        if name in {"country", "nationality"}:
            kind = "country"
        elif name == "agency":
            kind = "participant"  # one of the operation's agencies, by name
        if kind == "text" and any(
            getattr(meta, "max_length", 0) == MAX_TEXT_LENGTH for meta in info.metadata
        ):
            kind = "textarea"
        found.append(FormField(prefix + name, kind, info.is_required(), options))
    return found


def route_country_names(route: Iterable[str], language: Language) -> list[tuple[str, str]]:
    """(code, name) of an operation's route countries, in route order, each once."""
    words = console_texts(language)
    return [(code, words.country(code)) for code in dict.fromkeys(route)]


def country_names(language: str) -> list[tuple[str, str]]:
    """(code, name) of every country, by name in the viewer's language."""
    names = Locale.parse(language).territories
    found = [(c.alpha_2, names.get(c.alpha_2, c.name)) for c in pycountry.countries]
    return sorted(found, key=lambda pair: pair[1])
