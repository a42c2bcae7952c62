"""Eligibility in plain words, in Chinese and English: every criterion, results, verdicts, HSDS."""

from datetime import date

import pytest
from flask_babel import force_locale

from directory.eligibility.explain import (
    describe_result,
    describe_rule,
    describe_rules,
    explain_verdict,
    hsds_eligibility,
    problem_text,
    questions_to_ask,
    rules_change_text,
    verdict_json,
)
from directory.eligibility.rules import CRITERIA, evaluate, evaluate_rule, rule_problems

TODAY = date(2026, 11, 23)


@pytest.fixture
def in_locale(app):
    """Run inside a request in the given UI language: in_locale('zh')."""

    def enter(code: str):
        ctx = app.test_request_context()
        ctx.push()
        forced = force_locale(code)
        forced.__enter__()
        entered.append((ctx, forced))

    entered: list = []
    yield enter
    for ctx, forced in reversed(entered):
        forced.__exit__(None, None, None)
        ctx.pop()


# (rule, English, Chinese): each criterion as a requirement and as an exclusion.
RULE_TEXTS = [
    ({"criterion": "age", "min": 18, "max": 60}, "Age 18–60", "年龄 18–60 岁"),
    ({"criterion": "age", "min": 18}, "Age 18 or over", "年满 18 岁"),
    ({"criterion": "age", "max": 17}, "Age 17 or under", "17 岁及以下"),
    ({"criterion": "age", "min": 60, "exclude": True}, "Not for ages 60 and over", "不接受 60 岁及以上者"),
    ({"criterion": "age", "max": 12, "exclude": True}, "Not for ages 12 and under", "不接受 12 岁及以下者"),
    ({"criterion": "age", "min": 14, "max": 17, "exclude": True}, "Not for ages 14–17", "不接受 14–17 岁者"),
    ({"criterion": "sex", "value": "female"}, "Women only", "仅限女性"),
    ({"criterion": "sex", "value": "male"}, "Men only", "仅限男性"),
    ({"criterion": "sex", "value": "male", "exclude": True}, "Not for men", "不接受男性"),
    ({"criterion": "residence_district", "any_of": ["天河区"]}, "Must live in 天河区", "须居住在天河区"),
    (
        {"criterion": "residence_district", "any_of": ["天河区", "越秀区", "海珠区"]},
        "Must live in 天河区, 越秀区, or 海珠区",
        "须居住在天河区、越秀区或海珠区",
    ),
    (
        {"criterion": "residence_district", "any_of": ["白云区"], "exclude": True},
        "Not for residents of 白云区",
        "不接受白云区居民",
    ),
    ({"criterion": "hukou", "value": "local"}, "Must have Guangzhou household registration", "须为本市户籍"),
    ({"criterion": "hukou", "value": "nonlocal"}, "Must have household registration outside Guangzhou", "须为外地户籍"),
    (
        {"criterion": "hukou", "value": "local", "exclude": True},
        "Not for people with Guangzhou household registration",
        "不接受本市户籍者",
    ),
    ({"criterion": "income", "max_monthly": 2100}, "Monthly income 2,100 yuan or less", "月收入不超过 2,100 元"),
    (
        {"criterion": "income", "max_monthly": 2100, "exclude": True},
        "Not for monthly incomes of 2,100 yuan or less",
        "不接受月收入不超过 2,100 元者",
    ),
    ({"criterion": "dibao", "value": True}, "Must receive the minimum-living allowance (dibao)", "须为低保对象"),
    (
        {"criterion": "dibao", "value": True, "exclude": True},
        "Not for people receiving the minimum-living allowance (dibao)",
        "不接受低保对象",
    ),
    ({"criterion": "substance", "any_of": ["opioids"]}, "Must use opioids", "须为使用阿片类物质者"),
    (
        {"criterion": "substance", "any_of": ["opioids"], "exclude": True},
        "Not for people who use opioids",
        "不接受使用阿片类物质者",
    ),
    (
        {"criterion": "substance", "any_of": ["opioids", "stimulants", "other"], "exclude": True},
        "Not for people who use opioids, stimulants, or other drugs",
        "不接受使用阿片类物质、兴奋剂类物质或其他毒品者",
    ),
    (
        {"criterion": "rehab_status", "any_of": ["community_detox", "community_rehab"]},
        "Rehabilitation status must be community detox or community rehabilitation",
        "戒毒康复状态须为：社区戒毒或社区康复",
    ),
    (
        {"criterion": "rehab_status", "any_of": ["community_detox"], "exclude": True},
        "Not for people in community detox",
        "不接受戒毒康复状态为社区戒毒者",
    ),
    ({"criterion": "hiv", "value": "positive"}, "Must be HIV-positive", "须为HIV感染者"),
    ({"criterion": "hiv", "value": "negative"}, "Must be HIV-negative", "须为HIV阴性"),
    ({"criterion": "hiv", "value": "positive", "exclude": True}, "Not for HIV-positive people", "不接受HIV感染者"),
    ({"criterion": "pregnant", "value": True}, "Must be pregnant", "须为孕妇"),
    ({"criterion": "pregnant", "value": True, "exclude": True}, "Not for pregnant women", "不接受孕妇"),
    ({"criterion": "children_under", "age": 6}, "Must have a child under 6", "须有 6 岁以下子女"),
    (
        {"criterion": "children_under", "age": 6, "exclude": True},
        "Not for people with a child under 6",
        "不接受有 6 岁以下子女者",
    ),
    ({"criterion": "disability", "value": True}, "Must have a disability", "须为残疾人"),
    ({"criterion": "disability", "value": True, "exclude": True}, "Not for people with a disability", "不接受残疾人"),
    ({"criterion": "homeless", "value": True}, "Must be without stable housing", "须无稳定住所"),
    (
        {"criterion": "homeless", "value": True, "exclude": True},
        "Not for people without stable housing",
        "不接受无稳定住所者",
    ),
    (
        {"criterion": "documents", "all_of": ["身份证", "低保证明"]},
        "Must bring: 身份证, 低保证明",
        "须携带：身份证、低保证明",
    ),
    (
        {"criterion": "documents", "all_of": ["社区戒毒决定书"], "exclude": True},
        "Not for people who have: 社区戒毒决定书",
        "不接受持有以下证件者：社区戒毒决定书",
    ),
    (
        {"criterion": "age", "min": 18, "note": "由社工转介"},
        "Age 18 or over (由社工转介)",
        "年满 18 岁（由社工转介）",
    ),
]


def test_the_table_covers_every_criterion_both_ways():
    assert {rule["criterion"] for rule, *_ in RULE_TEXTS} == set(CRITERIA)
    assert {rule["criterion"] for rule, *_ in RULE_TEXTS if rule.get("exclude")} == set(CRITERIA)
    assert not rule_problems([rule for rule, *_ in RULE_TEXTS])


@pytest.mark.parametrize(("rule", "english", "chinese"), RULE_TEXTS)
def test_each_rule_in_plain_words(in_locale, rule, english, chinese):
    in_locale("en")
    assert describe_rule(rule) == english
    in_locale("zh")
    assert describe_rule(rule) == chinese


# (rule, facts, English, Chinese): a criterion's outcome for one client.
RESULT_TEXTS = [
    (
        {"criterion": "hukou", "value": "local"},
        {"hukou": "nonlocal"},
        "Does not meet: Must have Guangzhou household registration",
        "不符合：须为本市户籍",
    ),
    (
        {"criterion": "hukou", "value": "local"},
        {},
        "Unknown: ask the client about household registration",
        "未知：请询问案主的户籍",
    ),
    ({"criterion": "age", "min": 18, "max": 60}, {"age": 27}, "Meets: Age 18–60", "符合：年龄 18–60 岁"),
    ({"criterion": "age", "min": 18}, {}, "Unknown: ask the client about age", "未知：请询问案主的年龄"),
    ({"criterion": "sex", "value": "female"}, {}, "Unknown: ask the client about sex", "未知：请询问案主的性别"),
    (
        {"criterion": "residence_district", "any_of": ["天河区"]},
        {},
        "Unknown: ask the client about district of residence",
        "未知：请询问案主的居住区",
    ),
    (
        {"criterion": "income", "max_monthly": 2100},
        {},
        "Unknown: ask the client about monthly income",
        "未知：请询问案主的月收入",
    ),
    (
        {"criterion": "dibao", "value": True},
        {},
        "Unknown: ask the client about minimum-living allowance (dibao)",
        "未知：请询问案主的低保情况",
    ),
    (
        {"criterion": "substance", "any_of": ["opioids"], "exclude": True},
        {"substances": ["opioids"]},
        "Does not meet: Not for people who use opioids",
        "不符合：不接受使用阿片类物质者",
    ),
    (
        {"criterion": "substance", "any_of": ["opioids"]},
        {},
        "Unknown: ask the client about drug use",
        "未知：请询问案主的物质使用情况",
    ),
    (
        {"criterion": "rehab_status", "any_of": ["community_detox"]},
        {},
        "Unknown: ask the client about rehabilitation status",
        "未知：请询问案主的戒毒康复状态",
    ),
    (
        {"criterion": "hiv", "value": "positive"},
        {},
        "Unknown: ask the client about HIV status",
        "未知：请询问案主的HIV感染状况",
    ),
    (
        {"criterion": "pregnant", "value": True},
        {},
        "Unknown: ask the client about pregnancy",
        "未知：请询问案主的怀孕情况",
    ),
    (
        {"criterion": "children_under", "age": 6},
        {"has_children": True},
        "Unknown: ask the client about children and their ages",
        "未知：请询问案主的子女及其年龄",
    ),
    (
        {"criterion": "disability", "value": True},
        {},
        "Unknown: ask the client about disability",
        "未知：请询问案主的残疾情况",
    ),
    (
        {"criterion": "homeless", "value": True},
        {"homeless": False},
        "Does not meet: Must be without stable housing",
        "不符合：须无稳定住所",
    ),
    (
        {"criterion": "homeless", "value": True},
        {},
        "Unknown: ask the client about housing",
        "未知：请询问案主的住房情况",
    ),
    (
        {"criterion": "documents", "all_of": ["身份证"]},
        {},
        "Unknown: ask the client about documents",
        "未知：请询问案主的所持证件",
    ),
]


def test_results_cover_every_criterion():
    assert {rule["criterion"] for rule, *_ in RESULT_TEXTS} == set(CRITERIA)


@pytest.mark.parametrize(("rule", "facts", "english", "chinese"), RESULT_TEXTS)
def test_each_result_in_plain_words(in_locale, rule, facts, english, chinese):
    result = evaluate_rule(rule, facts, TODAY)
    in_locale("en")
    assert describe_result(result) == english
    in_locale("zh")
    assert describe_result(result) == chinese


SAMPLE_RULES = [
    {"criterion": "age", "min": 18, "max": 55},
    {"criterion": "hukou", "value": "local"},
    {"criterion": "substance", "any_of": ["opioids"], "exclude": True},
]


def test_verdicts_say_why_and_what_to_ask(in_locale):
    in_locale("zh")
    ineligible = explain_verdict(evaluate(SAMPLE_RULES, {"age": 27, "substances": ["opioids"]}, TODAY))
    assert ineligible.status == "ineligible" and ineligible.label == "不符合条件"
    assert ineligible.reasons == ["不接受使用阿片类物质者"]  # the failed rule, not the unknown hukou
    assert ineligible.lines == ["符合：年龄 18–55 岁", "未知：请询问案主的户籍", "不符合：不接受使用阿片类物质者"]
    assert ineligible.questions == ["案主是否为广州本市户籍？"]

    unknown = explain_verdict(evaluate(SAMPLE_RULES, {"substances": []}, TODAY))
    assert unknown.status == "unknown" and unknown.label == "待确认：需先询问"
    assert unknown.reasons == ["需询问：年龄、户籍"]
    assert unknown.missing_facts == ["age", "hukou"]

    eligible = explain_verdict(evaluate(SAMPLE_RULES, {"age": 30, "hukou": "local", "substances": []}, TODAY))
    assert eligible.label == "符合条件" and eligible.reasons == [] and eligible.questions == []

    in_locale("en")
    unknown = explain_verdict(evaluate(SAMPLE_RULES, {"substances": []}, TODAY))
    assert unknown.label == "Unknown: ask first" and unknown.reasons == ["Ask about: age, household registration"]
    assert unknown.questions == [
        "How old is the client?",
        "Does the client have Guangzhou household registration (hukou)?",
    ]


def test_questions_name_each_missing_fact_once(in_locale):
    in_locale("en")
    rules = [
        {"criterion": "children_under", "age": 6},
        {"criterion": "children_under", "age": 14, "exclude": True},
        {"criterion": "documents", "all_of": ["身份证"]},
    ]
    verdict = evaluate(rules, {}, TODAY)
    assert questions_to_ask(verdict) == [
        "Does the client have children, and how old is the youngest?",
        "Which documents does the client have?",
    ]


def test_verdict_as_json_carries_failed_rules_and_missing_facts(in_locale):
    in_locale("en")
    data = verdict_json(evaluate(SAMPLE_RULES, {"age": 70}, TODAY))
    assert data["status"] == "ineligible"
    assert data["failed"] == [
        {"criterion": "age", "rule": {"criterion": "age", "min": 18, "max": 55}, "text": "Age 18–55"}
    ]
    assert data["missing_facts"] == ["hukou", "substances"]


def test_rules_split_into_requirements_and_exclusions(in_locale):
    in_locale("zh")
    texts = describe_rules(SAMPLE_RULES)
    assert texts.requirements == ["年龄 18–55 岁", "须为本市户籍"]
    assert texts.exclusions == ["不接受使用阿片类物质者"]
    assert not describe_rules([])


def test_hsds_fields_from_rules(app):
    """Outside a request too (an export job): ages from the age requirements, the rules in Chinese."""
    rules = [
        {"criterion": "age", "min": 18},
        {"criterion": "age", "min": 20, "max": 60},
        {"criterion": "age", "max": 16, "exclude": True},  # an exclusion is no HSDS age bound
        {"criterion": "substance", "any_of": ["opioids"]},
        {"criterion": "residence_district", "any_of": ["海珠区"]},
    ]
    fields = hsds_eligibility(rules, "  经确诊的阿片类物质依赖者。 ")
    assert fields["minimum_age"] == 20 and fields["maximum_age"] == 60
    assert fields["eligibility_description"] == (
        "经确诊的阿片类物质依赖者。\n"
        "年满 18 岁；年龄 20–60 岁；不接受 16 岁及以下者；须为使用阿片类物质者；须居住在海珠区。"
    )
    assert hsds_eligibility([], None) == {"minimum_age": None, "maximum_age": None, "eligibility_description": None}
    only_text = hsds_eligibility([], "不限")
    assert only_text["eligibility_description"] == "不限" and only_text["minimum_age"] is None
    only_rules = hsds_eligibility([{"criterion": "sex", "value": "female"}], "")
    assert only_rules["eligibility_description"] == "仅限女性。"
    assert hsds_eligibility([{"criterion": "sex", "value": "female"}], "", locale="en")["eligibility_description"] == (
        "Women only."
    )


def test_history_values_of_rules_read_as_words(in_locale):
    in_locale("zh")
    assert rules_change_text('[{"criterion": "age", "min": 18}, {"criterion": "hukou", "value": "local"}]') == (
        "年满 18 岁；须为本市户籍"
    )
    assert rules_change_text("[]") == "无规则"
    assert rules_change_text("not json") == "not json"
    assert rules_change_text(None) == ""


@pytest.mark.parametrize(
    ("rules", "chinese"),
    [
        ([{"criterion": "age"}], "请填写最小年龄、最大年龄或两者。"),
        ([{"criterion": "age", "min": 60, "max": 18}], "最小年龄大于最大年龄。"),
        ([{"criterion": "age", "min": 130}], "请填写 0 至 120 之间的年龄。"),
        ([{"criterion": "income", "max_monthly": -1}], "请填写 0 或以上的金额。"),
        ([{"criterion": "sex"}], "请选择或填写一个值。"),
        ([{"criterion": "residence_district", "any_of": []}], "请至少选择或填写一项。"),
        ([{"criterion": "height"}], "请从列表中选择条件。"),
    ],
)
def test_rule_problems_are_translated(in_locale, rules, chinese):
    in_locale("zh")
    assert problem_text(rule_problems(rules)[0]) == chinese
