"""User-facing words for the referral vocabularies (English msgids, Chinese translations)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from directory.eligibility.forms import FACT_FIELDS, ClientFactsForm

STATUS_LABELS = {
    "sent": _l("Referred, not yet contacted"),
    "in_progress": _l("In contact"),
    "accepted": _l("Accepted"),
    "waitlisted": _l("Waiting list"),
    "needs_documents": _l("Needs documents"),
    "refused": _l("Refused"),
    "delivered": _l("Service delivered"),
}
NEED_STATUS_LABELS = {
    "open": _l("Open"),
    "met": _l("Met"),
    "withdrawn": _l("Withdrawn by the client"),
    "unreachable": _l("Client unreachable"),
}
CLOSING_LABELS = {k: v for k, v in NEED_STATUS_LABELS.items() if k != "open"}

CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "visit": _l("Visit"),
    "wechat": _l("WeChat"),
    "sms": _l("SMS"),
    "email": _l("Email"),
    "letter": _l("Letter"),
    "in_person": _l("In person"),
    "lianjie": _l("Through Lianjie"),
}
PARTY_LABELS = {
    "provider": _l("Service provider"),
    "client": _l("Client"),
    "family": _l("Family"),
    "other": _l("Other"),
}
OUTCOME_LABELS = {
    "no_answer": _l("No answer"),
    "left_message": _l("Left a message"),
    "call_back_later": _l("Call back later"),
    "refused": _l("Refused"),
    "accepted": _l("Accepted"),
    "waitlisted": _l("Put on a waiting list"),
    "needs_documents": _l("Needs documents"),
    "service_delivered": _l("Service delivered"),
    "other": _l("Other"),
}
REFUSER_LABELS = {"provider": _l("The provider"), "client": _l("The client"), "family": _l("The family")}
REFUSAL_REASON_LABELS = {
    "not_eligible": _l("Not eligible"),
    "no_capacity": _l("No capacity"),
    "stigma_drug": _l("Stigma — drug history"),
    "stigma_hiv": _l("Stigma — HIV"),
    "cost": _l("Cost"),
    "distance": _l("Distance or transport"),
    "documents_missing": _l("Documents missing"),
    "not_interested": _l("Not interested"),
    "family_unwilling": _l("Family unwilling"),
    "no_response": _l("No response"),
    "other": _l("Other"),
}
AGENCY_DECLINE_REASONS = {
    k: REFUSAL_REASON_LABELS[k]
    for k in ("not_eligible", "no_capacity", "documents_missing", "cost", "distance", "other")
}
CONSENT_FIELD_LABELS = {
    "name": _l("Name or alias"),
    "age_sex": _l("Age and sex"),
    "phone": _l("Phone"),
    "address": _l("District and address"),
    "need": _l("The need and goal"),
    "substance_use": _l("Drug use and rehabilitation status (sensitive)"),
    "hiv": _l("HIV status (sensitive)"),
    "health": _l("Pregnancy and disability (sensitive)"),
    "family": _l("Children"),
    "finances": _l("Income, minimum living allowance and household registration"),
}
SENSITIVE_FIELD_LABELS = {k: CONSENT_FIELD_LABELS[k] for k in ("substance_use", "hiv", "health")}
LEGAL_BASIS_LABELS = {
    "vital_interests": _l("To protect the client's or another person's life, health or property in an emergency"),
    "legal_duty": _l("To perform a duty set by law"),
    "authority_order": _l("On the order of a court or other authority"),
}
UNRECORDED_BASIS = _l("Not recorded (an override made before legal bases were asked)")
PURPOSE_LABELS = {
    "referral": _l("Referral to services"),
    "case_coordination": _l("Case coordination"),
    "emergency": _l("Emergency"),
}
GIVEN_BY_LABELS = {"client": _l("The client"), "guardian": _l("A parent or guardian")}

# Which eligibility facts each consent field lets an agency see.
FACT_GROUPS = {
    "age_sex": ("age", "birth_year", "sex"),
    "address": ("district",),
    "substance_use": ("substances", "rehab_status"),
    "hiv": ("hiv_status",),
    "health": ("pregnant", "disability"),
    "family": ("has_children", "youngest_child_age"),
    "finances": ("monthly_income", "dibao", "hukou", "homeless", "documents"),
}
SENSITIVE_FACTS = frozenset({"substances", "rehab_status", "hiv_status", "pregnant", "disability"})


def fact_rows(facts: dict, names=None) -> list[tuple[str, str, bool]]:
    """(label, value, sensitive) for the known facts, worded as the client-facts form words them."""
    form = ClientFactsForm.from_facts(facts, meta={"csrf": False})
    rows = []
    for name in FACT_FIELDS:
        value = facts.get(name)
        if value is None or (names is not None and name not in names):
            continue
        field = getattr(form, name)
        choices = dict(getattr(field, "choices", None) or [])
        if isinstance(value, list):
            text = "、".join(str(choices.get(v, v)) for v in value) if value else str(choices.get("none", "—"))
        elif choices:
            text = str(choices.get(field.data, value))
        else:
            text = str(value)
        rows.append((str(field.label.text), text, name in SENSITIVE_FACTS))
    return rows


def shared_fact_rows(client, visible) -> list[tuple[str, str, bool]]:
    """The client's known facts that the consent fields the agency may see cover (none beyond them)."""
    names = {name for group in visible for name in FACT_GROUPS.get(group, ())} - {
        "age",
        "birth_year",
        "sex",
        "district",
    }
    return fact_rows(client.facts or {}, names)
