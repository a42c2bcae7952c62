"""The eligibility evaluator: (rules, facts) → eligible | ineligible (failed) | unknown (missing)."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.eligibility.rules import (
    CRITERIA,
    ELIGIBLE,
    FAIL,
    INELIGIBLE,
    PASS,
    UNKNOWN,
    evaluate,
    evaluate_rule,
    rule_problems,
)

TODAY = date(2026, 11, 23)


def outcome(rule, **facts):
    return evaluate_rule(rule, facts, TODAY).outcome


@pytest.mark.parametrize(
    ("rule", "facts", "expected"),
    [
        ({"criterion": "age", "min": 18}, {"age": 18}, PASS),  # exactly at the limit
        ({"criterion": "age", "min": 18}, {"age": 17}, FAIL),
        ({"criterion": "age", "max": 18}, {"age": 18}, PASS),
        ({"criterion": "age", "max": 18}, {"age": 19}, FAIL),
        ({"criterion": "age", "min": 18, "max": 60}, {}, UNKNOWN),
        ({"criterion": "age", "min": 18}, {"birth_year": 2000}, PASS),  # 25 or 26
        ({"criterion": "age", "min": 18}, {"birth_year": 2008}, UNKNOWN),  # 17 or 18: ask
        ({"criterion": "age", "min": 18}, {"birth_year": 2010}, FAIL),  # 15 or 16
        ({"criterion": "sex", "value": "female"}, {"sex": "female"}, PASS),
        ({"criterion": "sex", "value": "female"}, {"sex": "male"}, FAIL),
        ({"criterion": "residence_district", "any_of": ["天河区", "越秀区"]}, {"district": "越秀区"}, PASS),
        ({"criterion": "residence_district", "any_of": ["天河区"]}, {"district": "海珠区"}, FAIL),
        ({"criterion": "hukou", "value": "local"}, {"hukou": "nonlocal"}, FAIL),
        ({"criterion": "income", "max_monthly": 2100}, {"monthly_income": 2100}, PASS),  # at the ceiling
        ({"criterion": "income", "max_monthly": 2100}, {"monthly_income": 2101}, FAIL),
        ({"criterion": "dibao", "value": True}, {"dibao": True}, PASS),
        ({"criterion": "dibao", "value": True}, {"dibao": False}, FAIL),
        ({"criterion": "substance", "any_of": ["opioids"]}, {"substances": ["opioids", "stimulants"]}, PASS),
        ({"criterion": "substance", "any_of": ["opioids"]}, {"substances": []}, FAIL),
        ({"criterion": "substance", "any_of": ["opioids"], "exclude": True}, {"substances": ["opioids"]}, FAIL),
        ({"criterion": "substance", "any_of": ["opioids"], "exclude": True}, {"substances": []}, PASS),
        ({"criterion": "rehab_status", "any_of": ["community_detox"]}, {"rehab_status": "community_rehab"}, FAIL),
        ({"criterion": "hiv", "value": "positive"}, {"hiv_status": "positive"}, PASS),
        ({"criterion": "pregnant", "value": True}, {"pregnant": False}, FAIL),
        ({"criterion": "children_under", "age": 6}, {"youngest_child_age": 2}, PASS),
        ({"criterion": "children_under", "age": 6}, {"youngest_child_age": 6}, FAIL),  # "under" 6
        ({"criterion": "children_under", "age": 6}, {"has_children": False}, FAIL),
        ({"criterion": "children_under", "age": 6}, {"has_children": True}, UNKNOWN),  # ask the age
        ({"criterion": "disability", "value": True}, {}, UNKNOWN),
        ({"criterion": "homeless", "value": True}, {"homeless": True}, PASS),
        ({"criterion": "documents", "all_of": ["身份证", "低保证明"]}, {"documents": ["身份证"]}, FAIL),
        ({"criterion": "documents", "all_of": ["身份证"]}, {"documents": ["身份证", "户口本"]}, PASS),
    ],
)
def test_each_criterion(rule, facts, expected):
    assert outcome(rule, **facts) == expected


def test_unknown_facts_never_make_a_client_ineligible():
    rules = [{"criterion": "age", "min": 18}, {"criterion": "substance", "any_of": ["opioids"]}]
    verdict = evaluate(rules, {"age": 30}, TODAY)
    assert verdict.status == UNKNOWN
    assert verdict.missing_facts == ["substances"]
    assert evaluate(rules, {"age": 30, "substances": ["opioids"]}, TODAY).status == ELIGIBLE
    failed = evaluate(rules, {"age": 16}, TODAY)
    assert failed.status == INELIGIBLE and [r.rule["criterion"] for r in failed.failed] == ["age"]
    assert evaluate([], {}, TODAY).status == ELIGIBLE


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ("not a list", "must be a list"),
        ([{"criterion": "height"}], "unknown criterion"),
        ([{"criterion": "age"}], "give 'min', 'max' or both"),
        ([{"criterion": "age", "min": 60, "max": 18}], "greater than"),
        ([{"criterion": "sex", "value": "other"}], "must be one of"),
        ([{"criterion": "residence_district", "any_of": ["深圳"]}], "must be a list of"),
        ([{"criterion": "income", "max_monthly": -1}], "must be ≥ 0"),
        ([{"criterion": "dibao", "value": True, "colour": "red"}], "unknown parameter"),
        ([{"criterion": "hiv", "value": "positive", "exclude": "yes"}], "'exclude' must be true or false"),
    ],
)
def test_bad_rules_are_explained(rules, problem):
    assert any(problem in p for p in rule_problems(rules))


# --- properties ---------------------------------------------------------------------------------

RULES = [
    {"criterion": "age", "min": 18, "max": 60},
    {"criterion": "sex", "value": "female"},
    {"criterion": "residence_district", "any_of": ["天河区"]},
    {"criterion": "hukou", "value": "local"},
    {"criterion": "income", "max_monthly": 2000},
    {"criterion": "dibao", "value": True},
    {"criterion": "substance", "any_of": ["opioids"]},
    {"criterion": "substance", "any_of": ["stimulants"], "exclude": True},
    {"criterion": "rehab_status", "any_of": ["community_detox", "community_rehab"]},
    {"criterion": "hiv", "value": "positive"},
    {"criterion": "pregnant", "value": True},
    {"criterion": "children_under", "age": 6},
    {"criterion": "disability", "value": True},
    {"criterion": "homeless", "value": True},
    {"criterion": "documents", "all_of": ["身份证"]},
]
assert {r["criterion"] for r in RULES} == set(CRITERIA)

FACT_VALUES = {
    "age": st.integers(0, 100),
    "birth_year": st.integers(1920, 2026),
    "sex": st.sampled_from(["female", "male"]),
    "district": st.sampled_from(["天河区", "海珠区"]),
    "hukou": st.sampled_from(["local", "nonlocal"]),
    "monthly_income": st.integers(0, 5000),
    "dibao": st.booleans(),
    "substances": st.lists(st.sampled_from(["opioids", "stimulants", "other"]), unique=True),
    "rehab_status": st.sampled_from(["community_detox", "community_rehab", "released_isolation", "none"]),
    "hiv_status": st.sampled_from(["positive", "negative"]),
    "pregnant": st.booleans(),
    "youngest_child_age": st.integers(0, 18),
    "has_children": st.booleans(),
    "disability": st.booleans(),
    "homeless": st.booleans(),
    "documents": st.lists(st.sampled_from(["身份证", "户口本"]), unique=True),
}
facts_strategy = st.fixed_dictionaries({}, optional=FACT_VALUES)


@settings(max_examples=300, deadline=None)
@given(facts=facts_strategy, other=facts_strategy)
def test_a_criterion_depends_only_on_the_facts_it_reads(facts, other):
    for rule in RULES:
        read = CRITERIA[rule["criterion"]][1]
        # Same facts for what the rule reads, anything at all for the rest.
        mixed = {k: v for k, v in other.items() if k not in read} | {k: v for k, v in facts.items() if k in read}
        assert outcome(rule, **facts) == outcome(rule, **mixed)


@settings(max_examples=300, deadline=None)
@given(facts=facts_strategy, extra=facts_strategy)
def test_filling_in_a_fact_settles_only_its_criteria(facts, extra):
    before = evaluate(RULES, facts, TODAY)
    for name, value in extra.items():
        if name in facts:
            continue
        after = evaluate(RULES, {**facts, name: value}, TODAY)
        for old, new in zip(before.results, after.results, strict=True):
            reads = name in CRITERIA[old.rule["criterion"]][1]
            if not reads:
                assert new.outcome == old.outcome
            elif old.outcome == UNKNOWN and len(CRITERIA[old.rule["criterion"]][1]) == 1:
                assert new.outcome in (PASS, FAIL)  # the fact it was waiting for settles it
            elif old.outcome != UNKNOWN:
                assert new.outcome == old.outcome or old.rule["criterion"] in ("age", "children_under")


@settings(max_examples=300, deadline=None)
@given(facts=facts_strategy, data=st.data())
def test_removing_facts_never_makes_an_ineligible_client_eligible(facts, data):
    removed = data.draw(st.sets(st.sampled_from(sorted(facts)) if facts else st.nothing()))
    fewer = {k: v for k, v in facts.items() if k not in removed}
    if evaluate(RULES, facts, TODAY).status == INELIGIBLE:
        assert evaluate(RULES, fewer, TODAY).status != ELIGIBLE
