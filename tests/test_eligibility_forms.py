"""The client-facts form: every fact may be unknown, f_* names, facts dict in and out, clear errors."""

import re

import pytest
from flask import render_template_string
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from directory.eligibility.forms import ClientFactsForm, facts_from_query, facts_query, query_has_facts
from directory.eligibility.rules import evaluate

FULL_QUERY = MultiDict(
    [
        ("f_age", "27"),
        ("f_birth_year", "1999"),
        ("f_sex", "female"),
        ("f_district", "越秀区"),
        ("f_hukou", "nonlocal"),
        ("f_monthly_income", "1800"),
        ("f_dibao", "no"),
        ("f_substances", "opioids"),
        ("f_substances", "stimulants"),
        ("f_rehab_status", "community_detox"),
        ("f_hiv_status", "negative"),
        ("f_pregnant", "no"),
        ("f_has_children", "yes"),
        ("f_youngest_child_age", "2"),
        ("f_disability", "no"),
        ("f_homeless", "yes"),
        ("f_documents", "居民身份证"),
        ("f_documents", "社区戒毒决定书"),
    ]
)
FULL_FACTS = {
    "age": 27,
    "birth_year": 1999,
    "sex": "female",
    "district": "越秀区",
    "hukou": "nonlocal",
    "monthly_income": 1800,
    "dibao": False,
    "substances": ["opioids", "stimulants"],
    "rehab_status": "community_detox",
    "hiv_status": "negative",
    "pregnant": False,
    "has_children": True,
    "youngest_child_age": 2,
    "disability": False,
    "homeless": True,
    "documents": ["居民身份证", "社区戒毒决定书"],
}


@pytest.fixture
def request_ctx(app):
    with app.test_request_context(), force_locale("en"):
        yield app


def test_every_fact_is_read_into_the_evaluators_vocabulary(request_ctx):
    form, facts = facts_from_query(FULL_QUERY)
    assert not form.errors
    assert facts == FULL_FACTS
    assert {f.name for f in form} == {"f_" + name for name in FULL_FACTS}  # every field is f_-prefixed


def test_unknown_facts_are_left_out(request_ctx):
    form, facts = facts_from_query(MultiDict({"q": "美沙酮", "f_age": "", "f_sex": "", "f_dibao": ""}))
    assert facts is None and not form.errors and not form.given()
    assert not query_has_facts(MultiDict({"q": "x", "f_age": " "}))
    form, facts = facts_from_query(MultiDict({"f_pregnant": "no"}))
    assert facts == {"pregnant": False}  # a known "no" is a fact, unlike an empty answer


def test_none_ticked_means_known_to_be_none(request_ctx):
    _, facts = facts_from_query(MultiDict({"f_substances": "none", "f_documents": "none"}))
    assert facts == {"substances": [], "documents": []}
    rules = [{"criterion": "substance", "any_of": ["opioids"], "exclude": True}]
    assert evaluate(rules, facts, None).status == "eligible"
    assert evaluate(rules, {}, None).status == "unknown"


def test_a_childs_age_implies_children(request_ctx):
    _, facts = facts_from_query(MultiDict({"f_youngest_child_age": "5"}))
    assert facts == {"youngest_child_age": 5, "has_children": True}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"f_age": "abc"}, "age", "Enter the age in years, from 0 to 120."),
        ({"f_age": "300"}, "age", "Enter the age in years, from 0 to 120."),
        ({"f_age": "-1"}, "age", "Enter the age in years, from 0 to 120."),
        ({"f_birth_year": "3000"}, "birth_year", "Enter a year of birth such as 1999."),
        ({"f_monthly_income": "2千"}, "monthly_income", "Enter the monthly income in whole yuan, 0 or more."),
        ({"f_youngest_child_age": "2", "f_has_children": "no"}, "youngest_child_age", "leave the child's age empty"),
        ({"f_substances": ["none", "opioids"]}, "substances", "alone"),
        ({"f_sex": "other"}, "sex", ""),
        ({"f_dibao": "maybe"}, "dibao", ""),
        ({"f_district": "深圳"}, "district", ""),
    ],
)
def test_bad_input_gets_one_clear_message(request_ctx, query, field, message):
    form, facts = facts_from_query(MultiDict(query))
    assert facts is None
    errors = getattr(form, field).errors
    assert len(errors) == 1 and message in errors[0]
    assert form.error_messages()  # for a summary above the form


def test_a_saved_facts_dict_fills_the_form_and_comes_back(request_ctx):
    facts = {**FULL_FACTS, "documents": ["居民身份证", "港澳通行证"]}  # one name not in the usual list
    form = ClientFactsForm.from_facts(facts)
    assert form.given()
    assert form.sex.data == "female" and form.dibao.data == "no" and form.homeless.data == "yes"
    html = render_template_string(
        '{% from "eligibility/macros.html" import facts_fieldset %}{{ facts_fieldset(form) }}', form=form
    )
    assert re.search(r'<input checked[^>]*value="港澳通行证"', html)  # a saved name outside the list is kept
    assert re.search(r'<input checked[^>]*name="f_substances"[^>]*value="opioids"', html)
    round_trip, again = facts_from_query(MultiDict(list(_pairs(facts_query(facts)))))
    assert not round_trip.errors and again == facts
    assert facts_query({"substances": [], "dibao": False}) == {"f_substances": ["none"], "f_dibao": "no"}
    assert not ClientFactsForm.from_facts({}).given()


def _pairs(args):
    for key, value in args.items():
        for item in value if isinstance(value, list) else [value]:
            yield key, item


def test_the_macro_renders_every_field_compactly(request_ctx):
    form, _ = facts_from_query(MultiDict({"f_age": "abc"}))
    html = render_template_string(
        '{% from "eligibility/macros.html" import facts_fieldset %}{{ facts_fieldset(form, legend="情况") }}',
        form=form,
    )
    for field in form:
        assert f'name="{field.name}"' in html
    assert "<details" in html and " open>" in html  # an error opens the panel
    assert 'value="abc"' in html and 'aria-invalid="true"' in html  # the typed value kept, marked
    plain = render_template_string(
        '{% from "eligibility/macros.html" import facts_fieldset %}{{ facts_fieldset(form, collapsible=False) }}',
        form=ClientFactsForm.from_facts({}),
    )
    assert "<details" not in plain and "<fieldset" in plain
    assert "style=" not in html and "<script" not in html  # the CSP allows neither
