"""The activities the workflows call, as interfaces: what each takes and answers, and its name.

Workflows call these methods by reference (`workflow.execute_activity_method`), so a renamed
activity or a wrong input is a type error rather than a runtime miss. The implementations in
`activities/` subclass these classes (mypy checks each override against its interface) and are
what the worker registers. The names are the ones recorded in the workflows' histories: renaming
one would make those histories unreplayable.
"""

from __future__ import annotations

from temporalio import activity

from workflows.messages import (
    AssessOperationInput,
    AssessOperationResult,
    IntegrateEntriesInput,
    IntegrateEntriesResult,
    NotifyAgenciesInput,
    NotifyAgenciesResult,
    ProjectOperationInput,
    ProjectOperationResult,
)


class ReadModelProjection:
    @activity.defn(name="project_operation")
    def project_operation(self, projection: ProjectOperationInput) -> ProjectOperationResult:
        """Write the operation's new timeline events (and their access-log entries) to SQL."""
        raise NotImplementedError


class AgencyNotification:
    @activity.defn(name="notify_agencies")
    def notify_agencies(self, request: NotifyAgenciesInput) -> NotifyAgenciesResult:
        """Deliver one notice to every target of its recipients, at most once each."""
        raise NotImplementedError


class OutcomeAssessment:
    @activity.defn(name="assess_operation")
    def assess_operation(self, request: AssessOperationInput) -> AssessOperationResult:
        """Compute the outcome assessment and store it as its next version."""
        raise NotImplementedError


class AccessLogSequencer:
    @activity.defn(name="integrate_access_log")
    def integrate_access_log(self, request: IntegrateEntriesInput) -> IntegrateEntriesResult:
        """Integrate the queued access-log entries into the Merkle tree and sign a new head."""
        raise NotImplementedError
