"""The lifecycle's refusals (and what blocks a launch) in the viewer's language.

The rules give each reason as an English template with named parameters (`workflows/reasons.py`);
the template is a message id of the console's catalogue, and each parameter is shown as the
console shows its kind elsewhere: agencies by their directory name, countries and phases in the
viewer's words, moments in the viewer's zone with UTC: in English too, where the API's answer
keeps the rules' own words (agency ids, ISO moments).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from api.problems import Problem
from web.labels import ACTION_LABELS, PHASE_LABELS
from web.language import N_, console_texts
from web.planning import OPTION_LABELS as PLAN_OPTION_LABELS
from web.templating import View
from workflows.reasons import PARAMETERS, Parameter, Reason, reason_from_details

# The API's answer to an action whose operation's workflow is gone (`api.actions.take_action`):
# not the rules' words, so translated as a whole.
OPERATION_ENDED: Final = N_("the operation has ended")
# Its answers when no worker can take the action now (`api.workers.unavailable`): the same
# words, checked by tests/web/test_refusals.py.
UNAVAILABLE: Final = (
    N_("No worker is running operations now; nothing was changed. Try again in a few seconds."),
    N_(
        "The workers do not take this action yet (a new release is being rolled out); "
        "nothing was changed. Try again in a few seconds."
    ),
)


NOT_OF_THE_RULES: Final = frozenset({OPERATION_ENDED, *UNAVAILABLE})

# The rules' reasons that are about one field of the console's forms, by their template: the
# page shows them at that field, as it shows a value the form itself refuses.
FIELD_OF_REASON: Final[Mapping[str, str]] = {
    "the new deadline must lie in the future": "deadline",
    "the new deadline must be later than the current one (%(deadline)s)": "deadline",
    "the due date must lie in the future": "due",
    "the owner must be a participating agency or the coordinator (%(coordinator)s); "
    "%(owner)s is neither": "owner",
}


@dataclass(frozen=True)
class Refusal:
    """Why an action was refused: `reason` the English of the API's answer, `why` the rules' part
    of it as template and parameters (None from a worker or an answer without it)."""

    reason: str
    why: Reason | None = None

    def translated(self, view: View) -> str | None:
        """The whole answer in the viewer's language where it is not the rules' (the operation
        has ended, no worker can take the action now); None for the rules' reasons."""
        return view.gettext(self.reason) if self.reason in NOT_OF_THE_RULES else None

    def grounds(self, view: View) -> str | None:
        """The rules' reason in the viewer's language, to follow the page's lead-in; None where
        the refusal came without its template (the rules' own words follow it then)."""
        if self.why is None:
            return None
        return reason_text(self.why, view=view)

    def at_field(self, view: View) -> dict[str, str] | None:
        """The reason as the message at the form field it is about (as the form's own checks
        give theirs); None when it is about no one field."""
        field = FIELD_OF_REASON.get(self.why.template) if self.why is not None else None
        if field is None:
            return None
        said = self.grounds(view) or self.reason
        return {field: said[:1].upper() + said[1:]}

    @property
    def agencies(self) -> set[str]:
        """The agencies the reason names, for the page to name them (`web.agencies.naming`)."""
        return reason_agencies(self.why) if self.why is not None else set()


def refusal_of(problem: Problem) -> Refusal:
    """The refusal an action's problem answer carries (`api.actions.take_action`)."""
    why = reason_from_details(problem.reason.model_dump()) if problem.reason else None
    return Refusal(reason=problem.detail or problem.title, why=why)


def reason_text(reason: Reason, *, view: View) -> str:
    """The reason in the viewer's language, each parameter shown as its kind is shown."""
    shown = {name: _shown(name, value, view) for name, value in reason.parameters.items()}
    return view.gettext(reason.template) % shown


def reason_agencies(reason: Reason) -> set[str]:
    return set(_agencies_in(reason))


def _agencies_in(reason: Reason) -> Iterator[str]:
    for name, value in reason.parameters.items():
        kind = PARAMETERS.get(name)
        if kind == "agency" and isinstance(value, str):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Reason):
                    yield from _agencies_in(item)
                elif kind == "agencies":
                    yield item


def _shown(name: str, value: Parameter, view: View) -> str:
    kind = PARAMETERS.get(name, "text")
    if isinstance(value, tuple):
        if kind == "reasons":
            return "; ".join(reason_text(r, view=view) for r in value if isinstance(r, Reason))
        items = [_one(kind, str(item), view) for item in value]
        if kind == "phases":
            return _either(items, view)
        return LIST_SEPARATORS.get(kind, ", ").join(items)
    return _one(kind, str(value), view)


# A list of countries is a route: it reads as the route does on the operation's page.
LIST_SEPARATORS: Final[Mapping[str, str]] = {"route": " → "}


def _either(items: list[str], view: View) -> str:
    if len(items) < 2:
        return "".join(items)
    return view.gettext(N_("%(earlier)s or %(last)s")) % {
        "earlier": ", ".join(items[:-1]),
        "last": items[-1],
    }


def _one(kind: str, value: str, view: View) -> str:
    show = _SHOWN.get(kind)
    return show(value, view) if show is not None else value


def _label(labels: Mapping[str, str], key: str, view: View) -> str:
    message = labels.get(key)
    return view.gettext(message) if message is not None else key


def _action(name: str, view: View) -> str:
    # The rules name an action by its kind with spaces ("acknowledge handover").
    return _label(ACTION_LABELS, name.replace(" ", "_"), view)


def _moment(value: str, view: View) -> str:
    """A moment as the rules wrote it (`utc_text`, or ISO 8601) in the viewer's zone with UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.strptime(value, "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
        except ValueError:
            return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return view.clock.deadline(moment)


_SHOWN: Final[Mapping[str, Callable[[str, View], str]]] = {
    "agency": lambda value, view: view.agency(value),
    "agencies": lambda value, view: view.agency(value),
    "country": lambda value, view: console_texts(view.language).country(value),
    "route": lambda value, view: console_texts(view.language).country(value),
    "phase": lambda value, view: _label(PHASE_LABELS, value, view),
    "phases": lambda value, view: _label(PHASE_LABELS, value, view),
    "action": _action,
    "delivery": lambda value, view: _label(PLAN_OPTION_LABELS, value.replace(" ", "_"), view),
    "moment": _moment,
}
