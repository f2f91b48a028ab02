"""Statistics across operations for analysts: the figures a centre reports to its partners.

Pure: given the operations a caller may see and their latest outcome assessments, it counts and
sums; who may see what is decided before, by the caller of this module.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from workflows.assessment import OutcomeAssessment


class Figure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OperationFacts(Figure):
    operation_id: str
    phase: str
    outcome: str | None
    created_at: datetime
    countries: list[str]


class CountBy(Figure):
    key: str
    count: int


class QuantityBy(Figure):
    key: str
    substance: str
    unit: str
    quantity: float


class LatencyFigures(Figure):
    handovers: int
    acknowledged_in_time: int
    on_time_percent: float
    p50_minutes: float | None
    p90_minutes: float | None
    max_minutes: float | None


class Statistics(Figure):
    operations: int
    by_phase: list[CountBy]
    by_outcome: list[CountBy]
    assessed_operations: int
    seizures_by_substance: list[QuantityBy]
    seizures_by_year: list[QuantityBy]
    seizures_by_route: list[QuantityBy]
    seizures_by_country: list[QuantityBy]
    persons_arrested: int
    arrests_by_role: list[CountBy]
    arrests_by_nationality: list[CountBy]
    latency: LatencyFigures


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `share` of them at or below."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(share * len(ordered)), 1)
    return ordered[rank - 1]


def _outcome(facts: OperationFacts) -> str:
    # "aborted: <reason>" counts as aborted; the reasons stay with the operation.
    return (facts.outcome or "open").split(":", 1)[0]


def _counts(counter: Counter[str]) -> list[CountBy]:
    return [
        CountBy(key=k, count=n) for k, n in sorted(counter.items(), key=lambda i: (-i[1], i[0]))
    ]


def _quantities(sums: dict[tuple[str, str, str], float]) -> list[QuantityBy]:
    return [
        QuantityBy(key=key, substance=substance, unit=unit, quantity=round(quantity, 3))
        for (key, substance, unit), quantity in sorted(sums.items())
    ]


def compile_statistics(
    *, operations: Sequence[OperationFacts], assessments: Sequence[OutcomeAssessment]
) -> Statistics:
    by_substance: dict[tuple[str, str, str], float] = defaultdict(float)
    by_year: dict[tuple[str, str, str], float] = defaultdict(float)
    by_route: dict[tuple[str, str, str], float] = defaultdict(float)
    by_country: dict[tuple[str, str, str], float] = defaultdict(float)
    roles: Counter[str] = Counter()
    nationalities: Counter[str] = Counter()
    latencies: list[float] = []
    in_time = 0
    for assessment in assessments:
        moment = (
            assessment.interdiction.ordered_at if assessment.interdiction else assessment.created_at
        )
        route = "→".join(assessment.route)
        for total in assessment.seizure_totals:
            unit = total.unit.value
            by_substance[(total.substance, total.substance, unit)] += total.quantity
            by_year[(str(moment.year), total.substance, unit)] += total.quantity
            by_route[(route, total.substance, unit)] += total.quantity
        for country in assessment.seizures_by_country:
            by_country[(country.country, country.substance, country.unit.value)] += country.quantity
        for row in assessment.arrests_by_role:
            roles[row.key] += row.persons
        for row in assessment.arrests_by_nationality:
            nationalities[row.key] += row.persons
        for handover in assessment.handovers:
            if handover.outcome != "acknowledged":
                continue
            latencies.append(handover.latency_seconds / 60)
            in_time += handover.within_deadline
    p50, p90 = percentile(latencies, 0.5), percentile(latencies, 0.9)
    return Statistics(
        operations=len(operations),
        by_phase=_counts(Counter(facts.phase for facts in operations)),
        by_outcome=_counts(Counter(_outcome(facts) for facts in operations)),
        assessed_operations=len(assessments),
        seizures_by_substance=_quantities(by_substance),
        seizures_by_year=_quantities(by_year),
        seizures_by_route=_quantities(by_route),
        seizures_by_country=_quantities(by_country),
        persons_arrested=sum(roles.values()),
        arrests_by_role=_counts(roles),
        arrests_by_nationality=_counts(nationalities),
        latency=LatencyFigures(
            handovers=len(latencies),
            acknowledged_in_time=in_time,
            on_time_percent=round(100 * in_time / len(latencies), 2) if latencies else 0.0,
            p50_minutes=round(p50, 1) if p50 is not None else None,
            p90_minutes=round(p90, 1) if p90 is not None else None,
            max_minutes=round(max(latencies), 1) if latencies else None,
        ),
    )
