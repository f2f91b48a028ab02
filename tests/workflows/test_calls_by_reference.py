"""Every call a workflow or a client makes is by reference, under the names its histories record."""

from __future__ import annotations

from typing import get_args

from temporalio import activity, workflow

from activities.audit import AuditActivities
from activities.debrief import DebriefActivities
from activities.notifications import NotificationActivities
from activities.projection import ReadModelActivities
from workflows.commands import SYSTEM_KINDS, AnyCommand, kind_of
from workflows.operation import ControlledDeliveryWorkflow
from workflows.side_effects import (
    AccessLogSequencer,
    AgencyNotification,
    OutcomeAssessment,
    ReadModelProjection,
)
from workflows.starter import STEERING


def activity_name(method: object) -> str:
    definition = activity._Definition.from_callable(method)  # type: ignore[arg-type]
    assert definition is not None
    assert definition.name is not None
    return definition.name


def test_each_implementation_registers_the_name_its_interface_is_called_by() -> None:
    pairs = [
        (ReadModelProjection.project_operation, ReadModelActivities.project_operation),
        (AgencyNotification.notify_agencies, NotificationActivities.notify_agencies),
        (OutcomeAssessment.assess_operation, DebriefActivities.assess_operation),
        (AccessLogSequencer.integrate_access_log, AuditActivities.integrate_access_log),
    ]
    for interface, implementation in pairs:
        assert activity_name(implementation) == activity_name(interface)
    # The names recorded in the histories of running operations.
    assert [activity_name(interface) for interface, _ in pairs] == [
        "project_operation",
        "notify_agencies",
        "assess_operation",
        "integrate_access_log",
    ]


def test_every_steering_action_has_the_update_named_after_its_kind() -> None:
    people = {
        member
        for member in get_args(get_args(AnyCommand)[0])
        if kind_of(member) not in SYSTEM_KINDS
    }
    assert set(STEERING) == people
    updates = workflow._Definition.must_from_class(ControlledDeliveryWorkflow).updates
    for command, row in STEERING.items():
        # The name the client sends the Update under, as the SDK reads it from the reference.
        name, _ = workflow._UpdateDefinition.get_name_and_result_type(row.update)
        assert name == kind_of(command)
        assert name in updates
