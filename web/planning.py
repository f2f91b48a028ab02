"""The planning form: what a coordinator types, as rows of substances, legs and participants that
can be added and removed before anything is sent, and as the plan model's input.

Field names are the plan's field paths with list positions (`legs.0.crossing_point`), so the
plan model's validation errors land at their fields as they are. Durations are typed in minutes;
planned times in the viewer's zone (`web.forms`); a participant's country and name come from the
agency directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Final

from api.problems import FieldError
from web.forms import form_fields
from web.language import N_
from workflows.plan import (
    ContingencyAction,
    DeliveryType,
    HandlingCode,
    ParticipantRole,
    QuantityUnit,
    TransportMode,
)

SUBSTANCES: Final = "consignment.substances"
LEGS: Final = "legs"
PARTICIPANTS: Final = "participants"
ROWS: Final = (SUBSTANCES, LEGS, PARTICIPANTS)
CHANGE: Final = re.compile(r"^(add|remove):([a-z_.]+)(?::(\d+))?$")
POSITION: Final = re.compile(r"\[(\d+)\]")

# What a new form holds: one substance, one leg between two participants.
NEW_PLAN: Final[dict[str, str]] = {
    "handling.code": HandlingCode.H0.value,
    "consignment.delivery_type": DeliveryType.INTACT.value,
    "consignment.mode": TransportMode.AIR_CARGO.value,
    "consignment.left_in.unit": QuantityUnit.G.value,
    "contingency.surveillance_regain_window": "120",
    "contingency.on_surveillance_window_expired": ContingencyAction.INTERDICT.value,
    "contingency.on_compromise": ContingencyAction.INTERDICT.value,
    "contingency.on_handover_unacknowledged": ContingencyAction.INTERDICT.value,
    "checkpoint_interval": "60",
}
NEW_ROW: Final[dict[str, dict[str, str]]] = {
    SUBSTANCES: {"name": "", "quantity": "", "unit": QuantityUnit.KG.value},
    LEGS: {"acknowledgement_deadline": "30"},
    PARTICIPANTS: {"agency": "", "role": ""},
}

OPTION_LABELS: Final[dict[str, str]] = {
    DeliveryType.INTACT: N_("intact"),
    DeliveryType.PARTIALLY_SUBSTITUTED: N_("partially substituted"),
    DeliveryType.FULLY_SUBSTITUTED: N_("fully substituted"),
    TransportMode.AIR_CARGO: N_("air cargo"),
    TransportMode.POSTAL_ITEM: N_("postal item"),
    TransportMode.COURIER: N_("courier"),
    TransportMode.ROAD: N_("road"),
    TransportMode.RAIL: N_("rail"),
    TransportMode.SEA_CONTAINER: N_("sea container"),
    ParticipantRole.LEAD: N_("lead"),
    ParticipantRole.ORIGIN: N_("origin"),
    ParticipantRole.TRANSIT: N_("transit"),
    ParticipantRole.DESTINATION: N_("destination"),
    ParticipantRole.OBSERVER: N_("observer"),
    ContingencyAction.INTERDICT: N_("interdict"),
    ContingencyAction.ABORT: N_("abort"),
    QuantityUnit.KG: N_("kg"),
    QuantityUnit.G: N_("g"),
    QuantityUnit.L: N_("l"),
    QuantityUnit.UNITS: N_("units"),
}


# The plan's handling labels (workflows/plan.py), as message ids of the console's catalogue.
HANDLING_LABELS: Final[dict[str, str]] = {
    HandlingCode.H0: N_("Use only to prevent or combat crime"),
    HandlingCode.H1: N_("Not for use in court without the provider's permission"),
    HandlingCode.H2: N_("Not to be passed on without the provider's permission"),
    HandlingCode.H3: N_("Other restrictions apply"),
}


@dataclass(frozen=True)
class DirectoryAgency:
    id: str
    country: str
    name: str


@dataclass(frozen=True)
class PlanForm:
    """What the form shows: every typed value by field name, and the rows of each list."""

    values: dict[str, str]
    rows: dict[str, int]


def _rows(typed: dict[str, str], prefix: str) -> list[dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for name, value in typed.items():
        if not name.startswith(prefix + "."):
            continue
        position, _, field = name.removeprefix(prefix + ".").partition(".")
        if position.isdigit() and field:
            found.setdefault(int(position), {})[field] = value
    return [found[position] for position in sorted(found)]


def _new_row(prefix: str, rows: list[dict[str, str]]) -> dict[str, str]:
    row = dict(NEW_ROW[prefix])
    if prefix == LEGS and rows:  # the next leg starts where the last one ends
        row["from_country"] = rows[-1].get("to_country", "")
        row["sending_agency"] = rows[-1].get("receiving_agency", "")
    return row


def plan_form(typed: dict[str, str], *, change: str = "") -> PlanForm:
    """The form as typed, with a row added or removed (`add:legs`, `remove:legs:1`) and the
    rows numbered again in order."""
    values = {
        name: value
        for name, value in typed.items()
        if name != "change" and not any(name.startswith(prefix + ".") for prefix in ROWS)
    }
    rows: dict[str, int] = {}
    wanted = CHANGE.match(change)
    for prefix in ROWS:
        listed = _rows(typed, prefix)
        if wanted and wanted.group(2) == prefix:
            if wanted.group(1) == "add":
                listed.append(_new_row(prefix, listed))
            elif wanted.group(3) is not None and int(wanted.group(3)) < len(listed):
                del listed[int(wanted.group(3))]
        for position, row in enumerate(listed):
            values |= {f"{prefix}.{position}.{field}": value for field, value in row.items()}
        rows[prefix] = len(listed)
    return PlanForm(values, rows)


def new_plan_form() -> PlanForm:
    typed = dict(NEW_PLAN)
    for prefix, count in ((SUBSTANCES, 1), (LEGS, 1), (PARTICIPANTS, 2)):
        for position in range(count):
            typed |= {f"{prefix}.{position}.{k}": v for k, v in NEW_ROW[prefix].items()}
    return plan_form(typed)


def _minutes(value: Any) -> Any:
    try:
        return float(value) * 60
    except (TypeError, ValueError):
        return value  # the model says what is wrong with it


def _listed(found: dict[str, Any], count: int) -> list[Any]:
    return [found.get(str(position), {}) for position in range(count)]


def plan_input(
    form: PlanForm, *, zone: tzinfo, coordinator_agency: str, directory: list[DirectoryAgency]
) -> dict[str, Any]:
    """The plan model's input from the form (validated by the caller)."""
    fields = form_fields(form.values, zone=zone)
    consignment = fields.setdefault("consignment", {})
    consignment["substances"] = _listed(consignment.get("substances", {}), form.rows[SUBSTANCES])
    left_in = consignment.get("left_in", {})
    if not {"substance", "quantity"} & set(left_in):
        consignment.pop("left_in", None)  # only the unit's default: nothing is left in
    markers = consignment.pop("tracker_ids", "")
    consignment["tracker_ids"] = [line.strip() for line in markers.splitlines() if line.strip()]
    fields["legs"] = _listed(fields.get("legs", {}), form.rows[LEGS])
    for leg in fields["legs"]:
        if "acknowledgement_deadline" in leg:
            leg["acknowledgement_deadline"] = _minutes(leg["acknowledgement_deadline"])
    by_id = {agency.id: agency for agency in directory}
    fields["participants"] = _listed(fields.get("participants", {}), form.rows[PARTICIPANTS])
    for participant in fields["participants"]:
        known = by_id.get(participant.get("agency", ""))
        if known is not None:
            participant |= {"country": known.country, "name": known.name}
    for name in ("checkpoint_interval",):
        if name in fields:
            fields[name] = _minutes(fields[name])
    contingency = fields.get("contingency", {})
    if "surveillance_regain_window" in contingency:
        contingency["surveillance_regain_window"] = _minutes(
            contingency["surveillance_regain_window"]
        )
    fields["coordinator_agency"] = coordinator_agency
    return fields


def at_field(errors: dict[str, str]) -> dict[str, str]:
    """Messages about what the form does not ask for, moved to the field that decides them."""
    placed: dict[str, str] = {}
    for name, message in errors.items():
        if re.fullmatch(r"participants\.\d+\.(country|name)", name):
            name = name.rsplit(".", 1)[0] + ".agency"
        elif name == "consignment":  # what a partial substitution leaves in
            name = "consignment.left_in.quantity"
        elif name == "consignment.substances":  # none at all: the consignment's fieldset
            name = "consignment"
        elif name == "coordinator_agency":
            name = "form"
        placed.setdefault(name, message)
    return placed


def problem_fields(errors: list[FieldError]) -> dict[str, str]:
    """The API's field errors (`body.legs[0].planned_departure`) by form field name."""
    found: dict[str, str] = {}
    for error in errors:
        name = POSITION.sub(r".\1", error.field).removeprefix("body").lstrip(".")
        found.setdefault(name or "form", error.message)
    return at_field(found)
