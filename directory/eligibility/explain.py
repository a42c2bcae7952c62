"""Eligibility in plain words: rules, criterion results, verdicts, questions to ask, HSDS fields.

Every text goes through Flask-Babel (English msgids, Chinese catalogue), so call these inside an
application context; the UI language decides the words.

- ``describe_rule(rule) -> str``: one rule ("Age 18–60", "Not for people who use opioids").
- ``describe_rules(rules) -> RuleTexts``: requirements and exclusions, each a list of texts.
- ``describe_result(result) -> str``: one criterion's outcome ("Does not meet: …", "Unknown: ask …").
- ``explain_verdict(verdict) -> VerdictText``: label, short reasons, one line per criterion, questions.
- ``questions_to_ask(verdict) -> list[str]``: the unknown facts as questions for the client.
- ``fact_label(name)`` / ``fact_question(name)``: the words for one fact of the vocabulary.
- ``hsds_eligibility(rules, free_text) -> dict``: HSDS ``minimum_age``, ``maximum_age`` and
  ``eligibility_description`` (the rules in plain Chinese after the free text).
- ``problem_text(problem) -> str``: a ``rule_problems`` message in the UI language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel.lists import format_list
from flask_babel import force_locale, format_decimal, get_locale, pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from directory.eligibility.rules import (
    ELIGIBLE,
    FAIL,
    INELIGIBLE,
    PASS,
    UNKNOWN,
    CriterionResult,
    Verdict,
    rule_problems,
)

CRITERION_LABELS = {
    "age": _l("Age"),
    "sex": _l("Sex"),
    "residence_district": _l("District of residence"),
    "hukou": _l("Household registration (hukou)"),
    "income": _l("Monthly income"),
    "dibao": _l("Minimum-living allowance (dibao)"),
    "substance": _l("Drug use"),
    "rehab_status": _l("Rehabilitation status"),
    "hiv": _l("HIV status"),
    "pregnant": _l("Pregnancy"),
    "children_under": _l("Children under an age"),
    "disability": _l("Disability"),
    "homeless": _l("No stable housing"),
    "documents": _l("Documents to bring"),
}
SUBSTANCE_LABELS = {"opioids": _l("opioids"), "stimulants": _l("stimulants"), "other": _l("other drugs")}
REHAB_LABELS = {
    "community_detox": _l("community detox"),
    "community_rehab": _l("community rehabilitation"),
    "released_isolation": _l("released from compulsory isolation rehab"),
    "none": _l("no rehabilitation order"),
}
HUKOU_LABELS = {"local": _l("Guangzhou hukou"), "nonlocal": _l("hukou outside Guangzhou")}
HIV_LABELS = {"positive": _l("HIV-positive"), "negative": _l("HIV-negative")}

# The facts a client may be asked about (rules.CRITERIA's second column), as nouns and as questions.
FACT_LABELS = {
    "age": _l("age"),
    "birth_year": _l("age"),
    "sex": _l("sex"),
    "district": _l("district of residence"),
    "hukou": _l("household registration"),
    "monthly_income": _l("monthly income"),
    "dibao": _l("minimum-living allowance (dibao)"),
    "substances": _l("drug use"),
    "rehab_status": _l("rehabilitation status"),
    "hiv_status": _l("HIV status"),
    "pregnant": _l("pregnancy"),
    "youngest_child_age": _l("children and their ages"),
    "has_children": _l("children and their ages"),
    "disability": _l("disability"),
    "homeless": _l("housing"),
    "documents": _l("documents"),
}
FACT_QUESTIONS = {
    "age": _l("How old is the client?"),
    "birth_year": _l("How old is the client?"),
    "sex": _l("Is the client a woman or a man?"),
    "district": _l("Which district does the client live in?"),
    "hukou": _l("Does the client have Guangzhou household registration (hukou)?"),
    "monthly_income": _l("What is the client's monthly income?"),
    "dibao": _l("Does the client receive the minimum-living allowance (dibao)?"),
    "substances": _l("Does the client use drugs, and which?"),
    "rehab_status": _l(
        "Is the client in community detox, in community rehabilitation, or released from compulsory isolation rehab?"
    ),
    "hiv_status": _l("What is the client's HIV status?"),
    "pregnant": _l("Is the client pregnant?"),
    "youngest_child_age": _l("Does the client have children, and how old is the youngest?"),
    "has_children": _l("Does the client have children, and how old is the youngest?"),
    "disability": _l("Does the client have a disability?"),
    "homeless": _l("Does the client have stable housing?"),
    "documents": _l("Which documents does the client have?"),
}
STATUS_LABELS = {ELIGIBLE: _l("Eligible"), INELIGIBLE: _l("Not eligible"), UNKNOWN: _l("Unknown: ask first")}


# --- words for values -----------------------------------------------------------------------------


def _any_of(values: Iterable[Any], labels: Mapping[str, Any] | None = None) -> str:
    """'A, B or C' in the UI language."""
    words = [str(labels.get(v, v)) if labels else str(v) for v in values]
    return format_list(words, style="or", locale=get_locale() or "zh") if words else ""


def _all_of(values: Iterable[Any]) -> str:
    """A list of names, 'A, B' (身份证、低保证明)."""
    return pgettext("list separator", ", ").join(str(v) for v in values)


def fact_label(name: str) -> str:
    return str(FACT_LABELS.get(name, name))


def fact_question(name: str) -> str:
    return str(FACT_QUESTIONS.get(name, name))


def criterion_label(name: str) -> str:
    return str(CRITERION_LABELS.get(name, name))


# --- rules ----------------------------------------------------------------------------------------


def _age_text(rule: Mapping[str, Any], exclude: bool) -> str:
    low, high = rule.get("min"), rule.get("max")
    if low is not None and high is not None:
        return (
            _("Not for ages %(min)s–%(max)s", min=low, max=high)
            if exclude
            else _("Age %(min)s–%(max)s", min=low, max=high)
        )
    if low is not None:
        return _("Not for ages %(min)s and over", min=low) if exclude else _("Age %(min)s or over", min=low)
    return _("Not for ages %(max)s and under", max=high) if exclude else _("Age %(max)s or under", max=high)


def _fixed_text(name: str, value: Any, exclude: bool) -> str:
    """Criteria with one value (sex, hukou, hiv) or a plain yes (dibao, pregnant, disability, homeless)."""
    texts = {
        ("sex", "female"): (_("Women only"), _("Not for women")),
        ("sex", "male"): (_("Men only"), _("Not for men")),
        ("hukou", "local"): (
            _("Must have Guangzhou household registration"),
            _("Not for people with Guangzhou household registration"),
        ),
        ("hukou", "nonlocal"): (
            _("Must have household registration outside Guangzhou"),
            _("Not for people with household registration outside Guangzhou"),
        ),
        ("hiv", "positive"): (_("Must be HIV-positive"), _("Not for HIV-positive people")),
        ("hiv", "negative"): (_("Must be HIV-negative"), _("Not for HIV-negative people")),
        ("dibao", True): (
            _("Must receive the minimum-living allowance (dibao)"),
            _("Not for people receiving the minimum-living allowance (dibao)"),
        ),
        ("pregnant", True): (_("Must be pregnant"), _("Not for pregnant women")),
        ("disability", True): (_("Must have a disability"), _("Not for people with a disability")),
        ("homeless", True): (_("Must be without stable housing"), _("Not for people without stable housing")),
    }
    required, excluded = texts[(name, value)]
    return excluded if exclude else required


# Criteria with parameters: (requirement, exclusion) phrases, and the words filling them in.
_PHRASES = {
    "residence_district": (_l("Must live in %(value)s"), _l("Not for residents of %(value)s")),
    "income": (_l("Monthly income %(value)s yuan or less"), _l("Not for monthly incomes of %(value)s yuan or less")),
    "substance": (_l("Must use %(value)s"), _l("Not for people who use %(value)s")),
    "rehab_status": (_l("Rehabilitation status must be %(value)s"), _l("Not for people in %(value)s")),
    "children_under": (_l("Must have a child under %(value)s"), _l("Not for people with a child under %(value)s")),
    "documents": (_l("Must bring: %(value)s"), _l("Not for people who have: %(value)s")),
}
_WORDS = {
    "residence_district": lambda rule: _any_of(rule["any_of"]),
    "income": lambda rule: format_decimal(rule["max_monthly"], format="#,##0.##"),
    "substance": lambda rule: _any_of(rule["any_of"], SUBSTANCE_LABELS),
    "rehab_status": lambda rule: _any_of(rule["any_of"], REHAB_LABELS),
    "children_under": lambda rule: str(rule["age"]),
    "documents": lambda rule: _all_of(rule["all_of"]),
}


def describe_rule(rule: Mapping[str, Any]) -> str:
    """One rule in plain words; an exclusion says who is not accepted."""
    name, exclude = rule["criterion"], bool(rule.get("exclude"))
    if name == "age":
        text = _age_text(rule, exclude)
    elif name in _PHRASES:
        text = str(_PHRASES[name][exclude]) % {"value": _WORDS[name](rule)}
    else:
        text = _fixed_text(name, rule.get("value"), exclude)
    note = str(rule.get("note") or "").strip()
    return _("%(rule)s (%(note)s)", rule=text, note=note) if note else text


@dataclass(frozen=True)
class RuleTexts:
    requirements: list[str] = field(default_factory=list)
    exclusions: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.requirements or self.exclusions)


def describe_rules(rules: Sequence[Mapping[str, Any]] | None) -> RuleTexts:
    """The rules in plain words, requirements apart from exclusions (a valid rule list expected)."""
    texts = RuleTexts()
    for rule in rules or []:
        (texts.exclusions if rule.get("exclude") else texts.requirements).append(describe_rule(rule))
    return texts


# --- results and verdicts -------------------------------------------------------------------------


def describe_result(result: CriterionResult) -> str:
    """'Meets: …', 'Does not meet: …' or 'Unknown: ask the client about …'."""
    if result.outcome == PASS:
        return _("Meets: %(rule)s", rule=describe_rule(result.rule))
    if result.outcome == FAIL:
        return _("Does not meet: %(rule)s", rule=describe_rule(result.rule))
    facts = _all_of(dict.fromkeys(fact_label(f) for f in result.missing))
    return _("Unknown: ask the client about %(facts)s", facts=facts)


def questions_to_ask(verdict: Verdict) -> list[str]:
    """The questions that would settle the criteria still unknown, one per fact, in rule order."""
    questions: list[str] = []
    for name in verdict.missing_facts:
        question = fact_question(name)
        if question not in questions:
            questions.append(question)
    return questions


@dataclass(frozen=True)
class VerdictText:
    status: str  # eligible | ineligible | unknown
    label: str  # "Eligible", "Not eligible", "Unknown: ask first"
    reasons: list[str]  # short: the failed rules, or what to ask about
    lines: list[str]  # one per criterion: meets / does not meet / unknown
    questions: list[str]  # for unknown criteria
    failed: list[str]  # the failed rules in plain words
    missing_facts: list[str]  # fact names of the vocabulary


def explain_verdict(verdict: Verdict) -> VerdictText:
    failed = [describe_rule(r.rule) for r in verdict.failed]
    missing = verdict.missing_facts
    if verdict.status == INELIGIBLE:
        reasons = failed
    elif verdict.status == UNKNOWN:
        reasons = [_("Ask about: %(facts)s", facts=_all_of(dict.fromkeys(fact_label(f) for f in missing)))]
    else:
        reasons = []
    return VerdictText(
        status=verdict.status,
        label=str(STATUS_LABELS[verdict.status]),
        reasons=reasons,
        lines=[describe_result(r) for r in verdict.results],
        questions=questions_to_ask(verdict),
        failed=failed,
        missing_facts=missing,
    )


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """A verdict for JSON answers: status, failed rules and missing facts, with their texts."""
    text = explain_verdict(verdict)
    return {
        "status": verdict.status,
        "label": text.label,
        "failed": [
            {"criterion": r.rule["criterion"], "rule": dict(r.rule), "text": t}
            for r, t in zip(verdict.failed, text.failed, strict=True)
        ],
        "missing_facts": text.missing_facts,
        "questions": text.questions,
        "lines": text.lines,
    }


# --- HSDS export ----------------------------------------------------------------------------------


def hsds_eligibility(rules: Sequence[Mapping[str, Any]] | None, free_text: str | None, locale: str = "zh") -> dict:
    """HSDS 3.0 service fields from our rules: ages from the age requirements (the narrowest range
    when there are several), and a description: the free text, then the rules in plain words."""
    rules = list(rules or [])
    ages = [r for r in rules if r["criterion"] == "age" and not r.get("exclude")]
    mins = [r["min"] for r in ages if r.get("min") is not None]
    maxes = [r["max"] for r in ages if r.get("max") is not None]
    with force_locale(locale):
        texts = [describe_rule(r) for r in rules]
        generated = _("%(rules)s.", rules=pgettext("rule separator", "; ").join(texts)) if texts else ""
    parts = [p for p in ((free_text or "").strip(), generated) if p]
    return {
        "minimum_age": max(mins) if mins else None,
        "maximum_age": min(maxes) if maxes else None,
        "eligibility_description": "\n".join(parts) or None,
    }


def rules_change_text(value: str | None) -> str:
    """A change-history value of ``eligibility_rules`` (stored as JSON) in plain words."""
    if value is None:
        return ""
    try:
        rules = json.loads(value)
    except ValueError:
        return value
    if rule_problems(rules):
        return value
    return pgettext("rule separator", "; ").join(describe_rule(r) for r in rules) if rules else _("No rules")


# --- validation messages --------------------------------------------------------------------------

_PROBLEM = re.compile(r"^rule (?P<n>\d+)(?: \((?P<criterion>\w+)\))?:? (?P<what>.*)$")


def problem_row(problem: str) -> int | None:
    """The rule number (1-based) a ``rule_problems`` message is about, if it names one."""
    match = _PROBLEM.match(problem)
    return int(match["n"]) if match else None


def problem_text(problem: str) -> str:
    """A ``rule_problems`` message in the UI language (unrecognised wording is passed through)."""
    match = _PROBLEM.match(problem)
    what = match["what"] if match else problem
    known = {
        "give 'min', 'max' or both": _("Give a minimum age, a maximum age or both."),
        "'min' is greater than 'max'": _("The minimum age is greater than the maximum age."),
        "'exclude' must be true or false": _("Choose requirement or exclusion."),
    }
    if what in known:
        return known[what]
    param = re.match(r"^'(\w+)' (.*)$", what)
    if param:
        name, rest = param.groups()
        if rest == "is required" or rest.startswith("must be a list of") or rest.startswith("must be a non-empty"):
            return (
                _("Choose or enter at least one value.")
                if name in ("any_of", "all_of")
                else _("Choose or enter a value.")
            )
        if rest == "must be 0–120":
            return _("Enter an age from 0 to 120.")
        if rest == "must be ≥ 0":
            return _("Enter an amount of 0 or more.")
        if rest.startswith("must be one of") or rest == "must be true":
            return _("Choose a value from the list.")
    if what.startswith("unknown criterion"):
        return _("Choose a criterion from the list.")
    if what.startswith("unknown parameter"):
        return _("This rule has settings its criterion does not use.")
    return problem


__all__ = [
    "CRITERION_LABELS",
    "RuleTexts",
    "VerdictText",
    "describe_result",
    "describe_rule",
    "describe_rules",
    "explain_verdict",
    "fact_label",
    "fact_question",
    "hsds_eligibility",
    "problem_row",
    "problem_text",
    "questions_to_ask",
    "rules_change_text",
    "verdict_json",
]
