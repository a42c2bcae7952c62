"""The client-facts form: a client's situation in the evaluator's fact vocabulary (docs/eligibility.md).

Every fact may be unknown: selects offer "Unknown", an empty number is unknown, and no ticked box
is unknown. Unknown facts are left out of the facts dict, and the evaluator treats a missing fact as
"ask the client", never as a failure.

Field names carry the prefix ``f_`` (``f_age``, ``f_sex`` …) so that the form can sit in a search
query string beside other parameters. The API::

    form, facts = facts_from_query(request.args)         # GET, no CSRF: facts or None (see form.errors)
    form = ClientFactsForm()                             # POST with CSRF (a client record)
    form = ClientFactsForm.from_facts(client.facts)      # filled from a saved facts dict
    if form.validate():
        facts = form.to_facts()                          # {"age": 27, "sex": "female", ...}
    form.given()                                         # was any fact entered at all?
    facts_query(facts)                                   # {"f_age": "27", ...}: links carrying facts

Render it with the ``facts_fieldset(form, legend=None, open=False)`` macro of
``templates/eligibility/macros.html`` (a compact, collapsible fieldset; errors beside each field).

The facts dict uses exactly the evaluator's keys: ``age``, ``birth_year`` (int), ``sex``
(female|male), ``district`` (one of the 11 districts, or ``other`` for outside Guangzhou), ``hukou``
(local|nonlocal), ``monthly_income`` (yuan), ``dibao``, ``pregnant``, ``has_children``,
``disability``, ``homeless`` (bool), ``substances`` (list of opioids|stimulants|other; [] = uses
none), ``rehab_status`` (community_detox|community_rehab|released_isolation|none), ``hiv_status``
(positive|negative), ``youngest_child_age`` (int), ``documents`` (list of document names the client
has; [] = none of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, widgets
from wtforms.validators import NumberRange, Optional, StopValidation, ValidationError

from directory.eligibility.explain import HIV_LABELS, HUKOU_LABELS, REHAB_LABELS, SUBSTANCE_LABELS
from directory.eligibility.rules import REHAB_STATUSES, SUBSTANCES
from directory.geo.districts import DISTRICTS
from directory.vocabulary import SEX_LABELS

PREFIX = "f_"
MAX_NUMBER_LENGTH = 12  # characters of a number fact (an income of 10 million yuan has 8 digits)
NONE = "none"  # "none of these" in the substances and documents boxes
OUTSIDE = "other"  # district: lives outside Guangzhou
COMMON_DOCUMENTS = (
    "居民身份证",
    "户口本",
    "居住证",
    "社保卡",
    "收入证明",
    "低保证明",
    "社区戒毒决定书",
    "社区康复决定书",
    "残疾人证",
    "出生医学证明",
    "病历",
)
TRI_STATE = [("", _l("Unknown")), ("yes", _l("Yes")), ("no", _l("No"))]
YES_NO_FACTS = ("dibao", "pregnant", "has_children", "disability", "homeless")
CHOICE_FACTS = ("sex", "district", "hukou", "rehab_status", "hiv_status")
NUMBER_FACTS = ("age", "birth_year", "monthly_income", "youngest_child_age")
FACT_FIELDS = (
    "age",
    "birth_year",
    "sex",
    "district",
    "hukou",
    "monthly_income",
    "dibao",
    "substances",
    "rehab_status",
    "hiv_status",
    "pregnant",
    "has_children",
    "youngest_child_age",
    "disability",
    "homeless",
    "documents",
)


class WholeNumberField(IntegerField):
    """A whole number; empty means unknown; anything else gets ``message``, not WTForms' own."""

    widget = widgets.TextInput()

    def __init__(self, label=None, validators=None, message: str | None = None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        if not raw:
            self.data = None
            return
        try:
            if len(raw) > MAX_NUMBER_LENGTH:  # no fact needs more digits; int() of thousands would fail
                raise ValueError(raw[:20])
            self.data = int(raw)
        except ValueError as exc:
            self.data = None
            raise ValueError(str(self.message or _l("Enter a whole number."))) from exc

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the message is already there; a range check would repeat it


class CheckboxesField(SelectMultipleField):
    """Checkboxes; with ``open_choices`` a value outside the list (a saved document name) is kept."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def __init__(self, *args, open_choices: bool = False, **kwargs):
        super().__init__(*args, validate_choice=not open_choices, **kwargs)
        self.open_choices = open_choices

    def iter_choices(self):
        if self.open_choices:
            known = {value for value, _ in self.choices}
            self.choices = [*self.choices, *[(v, v) for v in (self.data or []) if v not in known]]
        return super().iter_choices()


def _tri_state(label) -> SelectField:
    return SelectField(label, choices=TRI_STATE, default="")


def _number(label, low: int, high: int, message) -> WholeNumberField:
    return WholeNumberField(label, validators=[Optional(), NumberRange(low, high, message=message)], message=message)


class ClientFactsForm(FlaskForm):
    """A client's situation. See the module docstring for the API."""

    age = _number(_l("Age"), 0, 120, _l("Enter the age in years, from 0 to 120."))
    birth_year = _number(_l("Year of birth"), 1900, 2100, _l("Enter a year of birth such as 1999."))
    sex = SelectField(_l("Sex"), choices=[("", _l("Unknown")), *SEX_LABELS.items()], default="")
    district = SelectField(
        _l("District of residence"),
        choices=[("", _l("Unknown")), *[(d, d) for d in DISTRICTS], (OUTSIDE, _l("Outside Guangzhou"))],
        default="",
    )
    hukou = SelectField(
        _l("Household registration"),
        choices=[("", _l("Unknown")), *[(k, v) for k, v in HUKOU_LABELS.items()]],
        default="",
    )
    monthly_income = _number(
        _l("Monthly income (yuan)"), 0, 10_000_000, _l("Enter the monthly income in whole yuan, 0 or more.")
    )
    dibao = _tri_state(_l("Receives dibao"))
    substances = CheckboxesField(
        _l("Drug use"), choices=[*[(s, SUBSTANCE_LABELS[s]) for s in SUBSTANCES], (NONE, _l("Uses none"))]
    )
    rehab_status = SelectField(
        _l("Rehabilitation status"),
        choices=[("", _l("Unknown")), *[(s, REHAB_LABELS[s]) for s in REHAB_STATUSES]],
        default="",
    )
    hiv_status = SelectField(_l("HIV status"), choices=[("", _l("Unknown")), *HIV_LABELS.items()], default="")
    pregnant = _tri_state(_l("Pregnant"))
    has_children = _tri_state(_l("Has children"))
    youngest_child_age = _number(
        _l("Age of the youngest child"), 0, 60, _l("Enter the youngest child's age in years, from 0 to 60.")
    )
    disability = _tri_state(_l("Has a disability"))
    homeless = _tri_state(_l("Without stable housing"))
    documents = CheckboxesField(
        _l("Documents the client has"),
        choices=[*[(d, d) for d in COMMON_DOCUMENTS], (NONE, _l("None of these"))],
        open_choices=True,
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", PREFIX)
        super().__init__(*args, **kwargs)

    # --- building ----------------------------------------------------------------------------------

    @classmethod
    def from_query(cls, args: Mapping[str, Any]) -> ClientFactsForm:
        """The form read from a GET query string (f_* parameters), without CSRF."""
        return cls(formdata=args, meta={"csrf": False})

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any] | None, **kwargs) -> ClientFactsForm:
        """The form showing a saved facts dict (unknown facts left empty)."""
        form = cls(formdata=None, **kwargs)
        form.fill(facts or {})
        return form

    def fill(self, facts: Mapping[str, Any]) -> None:
        for name in NUMBER_FACTS:
            getattr(self, name).data = facts.get(name)
        for name in CHOICE_FACTS:
            getattr(self, name).data = facts.get(name) or ""
        for name in YES_NO_FACTS:
            value = facts.get(name)
            getattr(self, name).data = "" if value is None else ("yes" if value else "no")
        for name in ("substances", "documents"):
            value = facts.get(name)
            getattr(self, name).data = None if value is None else (list(value) or [NONE])

    # --- reading -----------------------------------------------------------------------------------

    def given(self) -> bool:
        """Was any fact entered (even an invalid one) or filled in?"""
        for name in FACT_FIELDS:
            field = getattr(self, name)
            raw = getattr(field, "raw_data", None)
            if raw is None:  # filled from a facts dict, not from a request
                raw = field.data if isinstance(field.data, list) else [field.data]
            if any(v is not None and str(v).strip() for v in raw):
                return True
        return False

    def to_facts(self) -> dict[str, Any]:
        """The known facts (call after ``validate()``); unknown ones are left out."""
        facts: dict[str, Any] = {}
        for name in NUMBER_FACTS:
            if getattr(self, name).data is not None:
                facts[name] = getattr(self, name).data
        for name in CHOICE_FACTS:
            if getattr(self, name).data:
                facts[name] = getattr(self, name).data
        for name in YES_NO_FACTS:
            if getattr(self, name).data in ("yes", "no"):
                facts[name] = getattr(self, name).data == "yes"
        for name in ("substances", "documents"):
            values = [v for v in (getattr(self, name).data or []) if v]
            if values:
                facts[name] = [v for v in values if v != NONE]
        if facts.get("youngest_child_age") is not None:
            facts["has_children"] = True
        return facts

    # --- validation --------------------------------------------------------------------------------

    def validate_birth_year(self, field):
        if not field.errors and field.data is not None and field.data > date.today().year:
            raise ValidationError(_l("The year of birth cannot be in the future."))

    def validate_substances(self, field):
        if NONE in (field.data or []) and len(field.data) > 1:
            raise ValidationError(_l("Tick “uses none” alone, or the drugs the client uses."))

    def validate_documents(self, field):
        values = field.data or []
        if NONE in values and len(values) > 1:
            raise ValidationError(_l("Tick “none of these” alone, or the documents the client has."))
        if len(values) > 30 or any(len(v) > 100 for v in values):
            raise ValidationError(_l("Too many or too long document names."))

    def validate_youngest_child_age(self, field):
        if field.data is not None and self.has_children.data == "no":
            raise ValidationError(_l("The client has no children: leave the child's age empty."))

    def error_messages(self) -> list[str]:
        """Every error, each with its field's label, for a summary."""
        return [f"{getattr(self, name).label.text}: {e}" for name in FACT_FIELDS for e in getattr(self, name).errors]


def facts_query(facts: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query-string parameters (f_*) carrying a facts dict, for links and redirects."""
    args: dict[str, Any] = {}
    for name, value in (facts or {}).items():
        if name not in FACT_FIELDS or value is None:
            continue
        if isinstance(value, bool):
            args[PREFIX + name] = "yes" if value else "no"
        elif isinstance(value, list | tuple):
            args[PREFIX + name] = list(value) or [NONE]
        else:
            args[PREFIX + name] = str(value)
    return args


def facts_from_query(args: Mapping[str, Any]) -> tuple[ClientFactsForm, dict[str, Any] | None]:
    """The form read from a query string's f_* parameters, and the facts it gives: None when no fact
    was given or when the form has errors (``form.errors`` is then set, for the page to show)."""
    form = ClientFactsForm.from_query(args)
    if not query_has_facts(args) or not form.validate():
        return form, None
    return form, form.to_facts() or None


def query_has_facts(args: Mapping[str, Any]) -> bool:
    """Does a query string carry any f_* parameter with a value?"""
    getlist = getattr(args, "getlist", None)
    for key in args:
        if key.startswith(PREFIX):
            values = getlist(key) if getlist else [args[key]]
            if any(str(v).strip() for v in values):
                return True
    return False
