"""The rule vocabulary (docs/eligibility.md) and the one pure evaluation function.

A rule is a dict: ``{"criterion": "age", "min": 18}``; ``"exclude": true`` turns a requirement into
an exclusion. Rules are stored as JSON, so a new criterion needs no schema change: add it to
``CRITERIA`` and to ``_matches``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from directory.geo.districts import DISTRICTS

SUBSTANCES = ("opioids", "stimulants", "other")
REHAB_STATUSES = ("community_detox", "community_rehab", "released_isolation", "none")

# criterion → (parameters: name → kind, facts it reads)
CRITERIA: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "age": ({"min": "age?", "max": "age?"}, ("age", "birth_year")),
    "sex": ({"value": "sex"}, ("sex",)),
    "residence_district": ({"any_of": "districts"}, ("district",)),
    "hukou": ({"value": "hukou"}, ("hukou",)),
    "income": ({"max_monthly": "money"}, ("monthly_income",)),
    "dibao": ({"value": "true"}, ("dibao",)),
    "substance": ({"any_of": "substances"}, ("substances",)),
    "rehab_status": ({"any_of": "rehab_statuses"}, ("rehab_status",)),
    "hiv": ({"value": "hiv"}, ("hiv_status",)),
    "pregnant": ({"value": "true"}, ("pregnant",)),
    "children_under": ({"age": "age"}, ("youngest_child_age", "has_children")),
    "disability": ({"value": "true"}, ("disability",)),
    "homeless": ({"value": "true"}, ("homeless",)),
    "documents": ({"all_of": "texts"}, ("documents",)),
}

_CHOICES = {
    "sex": ("female", "male"),
    "hukou": ("local", "nonlocal"),
    "hiv": ("positive", "negative"),
    "districts": DISTRICTS,
    "substances": SUBSTANCES,
    "rehab_statuses": REHAB_STATUSES,
}


def _param_problem(kind: str, value: Any) -> str | None:
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None:
        return None if optional else "is required"
    if kind == "age":
        return None if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 120 else "must be 0–120"
    if kind == "money":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else "must be ≥ 0"
    if kind == "true":
        return None if value is True else "must be true"
    if kind == "texts":
        ok = isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value)
        return None if ok else "must be a non-empty list of names"
    choices = _CHOICES[kind]
    if kind in ("districts", "substances", "rehab_statuses"):
        ok = isinstance(value, list) and value and all(v in choices for v in value)
        return None if ok else f"must be a list of {', '.join(choices)}"
    return None if value in choices else f"must be one of {', '.join(choices)}"


def rule_problems(rules: Any) -> list[str]:
    """What is wrong with a list of rules (empty: valid)."""
    if not isinstance(rules, list):
        return ["rules must be a list"]
    problems = []
    for index, rule in enumerate(rules, start=1):
        if not isinstance(rule, Mapping):
            problems.append(f"rule {index} is not a mapping")
            continue
        name = rule.get("criterion")
        if name not in CRITERIA:
            problems.append(f"rule {index}: unknown criterion '{name}'")
            continue
        params, _ = CRITERIA[name]
        extra = set(rule) - set(params) - {"criterion", "exclude", "note"}
        if extra:
            problems.append(f"rule {index} ({name}): unknown parameter(s) {', '.join(sorted(extra))}")
        for param, kind in params.items():
            problem = _param_problem(kind, rule.get(param))
            if problem:
                problems.append(f"rule {index} ({name}): '{param}' {problem}")
        if name == "age" and rule.get("min") is None and rule.get("max") is None:
            problems.append(f"rule {index} (age): give 'min', 'max' or both")
        if name == "age" and None not in (rule.get("min"), rule.get("max")) and rule["min"] > rule["max"]:
            problems.append(f"rule {index} (age): 'min' is greater than 'max'")
        if "exclude" in rule and not isinstance(rule["exclude"], bool):
            problems.append(f"rule {index} ({name}): 'exclude' must be true or false")
    return problems


# --- evaluation ---------------------------------------------------------------------------------

ELIGIBLE, INELIGIBLE, UNKNOWN = "eligible", "ineligible", "unknown"
PASS, FAIL = "pass", "fail"


@dataclass(frozen=True)
class CriterionResult:
    rule: Mapping[str, Any]
    outcome: str  # pass | fail | unknown
    missing: tuple[str, ...] = ()  # facts to ask the client about when unknown


@dataclass(frozen=True)
class Verdict:
    status: str  # eligible | ineligible | unknown
    results: tuple[CriterionResult, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> list[CriterionResult]:
        return [r for r in self.results if r.outcome == FAIL]

    @property
    def unknown(self) -> list[CriterionResult]:
        return [r for r in self.results if r.outcome == UNKNOWN]

    @property
    def missing_facts(self) -> list[str]:
        seen: list[str] = []
        for result in self.unknown:
            seen.extend(f for f in result.missing if f not in seen)
        return seen


def _possible_ages(facts: Mapping[str, Any], today: date) -> set[int] | None:
    if facts.get("age") is not None:
        return {int(facts["age"])}
    if facts.get("birth_year") is not None:
        born = int(facts["birth_year"])
        return {today.year - born - 1, today.year - born}  # birthday not yet / already this year
    return None


def _in_range(age: int, rule: Mapping[str, Any]) -> bool:
    low, high = rule.get("min"), rule.get("max")
    return (low is None or age >= low) and (high is None or age <= high)


def _matches(rule: Mapping[str, Any], facts: Mapping[str, Any], today: date) -> bool | None:
    """Does the client match the rule's condition? None when the facts it needs are unknown."""
    name = rule["criterion"]
    if name == "age":
        ages = _possible_ages(facts, today)
        if ages is None:
            return None
        answers = {_in_range(a, rule) for a in ages}
        return answers.pop() if len(answers) == 1 else None
    if name == "children_under":
        youngest = facts.get("youngest_child_age")
        if youngest is not None:
            return youngest < rule["age"]
        return False if facts.get("has_children") is False else None
    if name in ("residence_district", "rehab_status"):
        fact = facts.get("district" if name == "residence_district" else "rehab_status")
        return None if fact is None else fact in rule["any_of"]
    if name == "substance":
        used = facts.get("substances")
        return None if used is None else bool(set(used) & set(rule["any_of"]))
    if name == "documents":
        held = facts.get("documents")
        return None if held is None else set(rule["all_of"]) <= set(held)
    if name == "income":
        income = facts.get("monthly_income")
        return None if income is None else income <= rule["max_monthly"]
    fact_name = CRITERIA[name][1][0]
    fact = facts.get(fact_name)
    return None if fact is None else fact == rule["value"]


def evaluate_rule(rule: Mapping[str, Any], facts: Mapping[str, Any], today: date) -> CriterionResult:
    matched = _matches(rule, facts, today)
    if matched is None:
        return CriterionResult(rule, UNKNOWN, CRITERIA[rule["criterion"]][1][:1])
    passed = (not matched) if rule.get("exclude") else matched
    return CriterionResult(rule, PASS if passed else FAIL)


def evaluate(rules: Sequence[Mapping[str, Any]], facts: Mapping[str, Any], today: date) -> Verdict:
    """(rules, facts) → eligible | ineligible (failed criteria) | unknown (missing facts).

    An unknown fact never makes a client ineligible: only a criterion the known facts fail does.
    """
    results = tuple(evaluate_rule(rule, facts, today) for rule in rules)
    if any(r.outcome == FAIL for r in results):
        status = INELIGIBLE
    elif any(r.outcome == UNKNOWN for r in results):
        status = UNKNOWN
    else:
        status = ELIGIBLE
    return Verdict(status, results)
