"""User-facing words for the referral vocabularies (English msgids, Chinese translations)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SEX_LABELS = {"female": _l("Female"), "male": _l("Male")}

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
PURPOSE_LABELS = {
    "referral": _l("Referral to services"),
    "case_coordination": _l("Case coordination"),
    "emergency": _l("Emergency"),
}
GIVEN_BY_LABELS = {"client": _l("The client"), "guardian": _l("A parent or guardian")}

# Which eligibility facts each consent field lets an agency see.
FACT_GROUPS = {
    "substance_use": ("substances", "rehab_status"),
    "hiv": ("hiv_status",),
    "health": ("pregnant", "disability"),
    "family": ("has_children", "youngest_child_age"),
    "finances": ("monthly_income", "dibao", "hukou"),
}
FACT_LABELS = {
    "substances": _l("Substances used"),
    "rehab_status": _l("Rehabilitation status"),
    "hiv_status": _l("HIV status"),
    "pregnant": _l("Pregnant"),
    "disability": _l("Disability"),
    "has_children": _l("Has children"),
    "youngest_child_age": _l("Youngest child's age"),
    "monthly_income": _l("Monthly income (yuan)"),
    "dibao": _l("Minimum living allowance"),
    "hukou": _l("Household registration"),
}
FACT_VALUE_LABELS = {
    "opioids": _l("Opioids"),
    "stimulants": _l("Stimulants"),
    "other": _l("Other"),
    "community_detox": _l("Community detox (社区戒毒)"),
    "community_rehab": _l("Community rehabilitation (社区康复)"),
    "released_isolation": _l("Released from compulsory isolation rehab"),
    "none": _l("None"),
    "positive": _l("Positive"),
    "negative": _l("Negative"),
    "local": _l("Local"),
    "nonlocal": _l("Non-local"),
    True: _l("Yes"),
    False: _l("No"),
}


def fact_value_text(value) -> str:
    if isinstance(value, list):
        return "、".join(fact_value_text(v) for v in value)
    if isinstance(value, bool) or value in FACT_VALUE_LABELS:
        return str(FACT_VALUE_LABELS.get(value, value))
    return str(value)


def shared_fact_rows(client, visible) -> list[tuple[str, str]]:
    """(label, value) for the client's known facts in the consent fields the agency may see."""
    facts = client.facts or {}
    rows = []
    for group, keys in FACT_GROUPS.items():
        if group in visible:
            rows += [(str(FACT_LABELS[k]), fact_value_text(facts[k])) for k in keys if facts.get(k) is not None]
    return rows
