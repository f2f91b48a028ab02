"""The console names every event kind and every action a person can take."""

from __future__ import annotations

from api.schemas.operations import ACTIONS
from web.labels import ACTION_LABELS, EVENT_LABELS
from workflows.events import EventKind


def test_every_event_kind_and_every_action_has_a_label() -> None:
    assert set(EVENT_LABELS) == {kind.value for kind in EventKind}
    assert set(ACTION_LABELS) == set(ACTIONS)
