"""Names of the domain's fixed values as the documents print them: message ids of `reports`.

Handling-code labels are the plan's own (`workflows.plan.HANDLING_LABELS`), translated as ids too.
"""

from __future__ import annotations

from typing import Final

from i18n import N_, SOURCE_LANGUAGE, Language, texts

PHASES: Final = {
    "planning": N_("Planning"),
    "execution": N_("Execution"),
    "suspended": N_("Suspended"),
    "interdiction": N_("Interdiction"),
    "debrief": N_("Debrief"),
    "closed": N_("Closed"),
    "aborted": N_("Aborted"),
    "failed": N_("Failed"),
}
ROLES: Final = {
    "courier": N_("courier"),
    "recipient": N_("recipient"),
    "organiser": N_("organiser"),
    "facilitator": N_("facilitator"),
}
HANDOVER_OUTCOMES: Final = {
    "acknowledged": N_("acknowledged"),
    "refused": N_("refused"),
    "withdrawn": N_("withdrawn"),
    "contingency": N_("contingency rule applied"),
    "pending": N_("still pending"),
}
ESCALATIONS: Final = {
    "reminder": N_("reminder to the receiving agency"),
    "contact_point": N_("national contact point"),
    "coordinator": N_("coordinator"),
    "contingency": N_("contingency rule"),
}
DEVIATION_KINDS: Final = {
    "route": N_("route"),
    "time": N_("time"),
    "substitution": N_("substitution"),
}
SEVERITIES: Final = {
    "info": N_("note"),
    "warning": N_("warning"),
    "critical": N_("critical"),
}
SOURCES: Final = {
    "interdiction": N_("recorded at interdiction"),
    "debrief": N_("confirmed in debrief"),
}
ASSET_KINDS: Final = {
    "cash": N_("cash"),
    "vehicle": N_("vehicle"),
    "property": N_("property"),
    "bank_account": N_("bank account"),
    "other": N_("other"),
}
DELIVERY_TYPES: Final = {
    "intact": N_("intact"),
    "partially_substituted": N_("partially substituted"),
    "fully_substituted": N_("fully substituted"),
}
TRANSPORT_MODES: Final = {
    "air_cargo": N_("air cargo"),
    "postal_item": N_("postal item"),
    "courier": N_("accompanied courier"),
    "road": N_("road"),
    "rail": N_("rail"),
    "sea_container": N_("sea container"),
}
INTERDICTION_KINDS: Final = {
    "planned": N_("planned"),
    "early": N_("early"),
    "emergency": N_("emergency"),
}
UNITS: Final = {"kg": N_("kg"), "g": N_("g"), "l": N_("l"), "units": N_("units")}
OUTCOMES: Final = {
    "open": N_("still running"),
    "closed": N_("closed"),
    "aborted": N_("aborted"),
    "consignment lost": N_("consignment lost"),
    "aborted by contingency rule": N_("aborted by contingency rule"),
}

# Substances the catalogue names in each language (context "substance"); any other is printed
# as typed.
SUBSTANCES: Final = (
    "heroin",
    "opium",
    "morphine",
    "cocaine",
    "cannabis",
    "hashish",
    "mephedrone",
    "mdma",
    "methamphetamine",
    "amphetamine",
    "fentanyl",
    "tramadol",
    "ephedrine",
    "acetic anhydride",
)

# Findings that count something: the singular of the assessment's sentence (its plural) and the
# parameter holding the count, so "1 escalation step" and "5 шагов" read right.
COUNTED_FINDINGS: Final = {
    "handover_escalated": (
        "Handover %(from_country)s->%(to_country)s (leg %(leg)s) went through %(steps)s "
        "escalation step",
        "steps",
    ),
    "checkpoint_silence": ("Checkpoint reports were overdue %(count)s time", "count"),
}


def substance_name(name: str, lang: Language) -> str:
    """A substance as a reader of `lang` names it, where the documents' catalogue knows it (by
    its English name, in any case); else as it was typed."""
    known = name.strip().lower()
    if known not in SUBSTANCES or lang is SOURCE_LANGUAGE:
        return name
    return texts("reports", lang).pgettext("substance", known)
