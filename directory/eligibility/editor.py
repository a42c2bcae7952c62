"""The rule editor's rows: what an agency typed, kept as typed, and the rules they make.

A row is one criterion with its inputs, posted as ``rules-<n>-<input>`` (``rules-0-criterion``,
``rules-0-exclude``, ``rules-0-age_min`` …). Each criterion has its own inputs, so switching a row's
criterion back and forth loses nothing. ``parse_rows`` turns rows into rules and puts any problem
(a number that is not one, a missing choice, or what ``rule_problems`` finds) on the row itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _

from directory.eligibility.explain import (
    CRITERION_LABELS,
    HIV_LABELS,
    HUKOU_LABELS,
    REHAB_LABELS,
    SUBSTANCE_LABELS,
    describe_rules,
    problem_text,
    verdict_json,
)
from directory.eligibility.rules import CRITERIA, REHAB_STATUSES, SUBSTANCES, evaluate, rule_problems
from directory.geo.districts import DISTRICTS
from directory.vocabulary import SEX_LABELS

MAX_ROWS = 30
# criterion → the row inputs it reads
INPUTS: dict[str, tuple[str, ...]] = {
    "age": ("age_min", "age_max"),
    "sex": ("sex",),
    "residence_district": ("districts",),
    "hukou": ("hukou",),
    "income": ("income",),
    "dibao": (),
    "substance": ("substances",),
    "rehab_status": ("rehab",),
    "hiv": ("hiv",),
    "pregnant": (),
    "children_under": ("child_age",),
    "disability": (),
    "homeless": (),
    "documents": ("documents",),
}
assert set(INPUTS) == set(CRITERIA)
MULTI_INPUTS = ("districts", "substances", "rehab")
TEXT_INPUTS = ("age_min", "age_max", "sex", "hukou", "income", "hiv", "child_age", "documents")
_KEY = re.compile(r"^rules-(\d{1,4})-(\w+)$")


@dataclass
class RuleRow:
    criterion: str = ""
    exclude: bool = False
    note: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)  # input name → text, or list for checkboxes
    errors: list[str] = field(default_factory=list)

    def get(self, name: str) -> Any:
        return self.inputs.get(name, [] if name in MULTI_INPUTS else "")

    def is_blank(self) -> bool:
        """A row added but not filled in: no criterion, nothing typed. It is left out, not refused."""
        return not self.criterion and not self.note and not any(self.inputs.values())


def rows_from_form(formdata: Mapping[str, Any]) -> list[RuleRow]:
    """The rows as posted, in the order of their numbers (gaps allowed: rows removed in the page)."""
    getlist = getattr(formdata, "getlist", None)
    numbers = sorted({int(m[1]) for key in formdata if (m := _KEY.match(key))})
    rows = []
    for number in numbers[:MAX_ROWS]:
        prefix = f"rules-{number}-"

        def one(name: str, prefix: str = prefix) -> str:
            return str(formdata.get(prefix + name) or "").strip()

        row = RuleRow(criterion=one("criterion"), exclude=one("exclude") == "1", note=one("note"))
        for name in TEXT_INPUTS:
            row.inputs[name] = one(name)
        for name in MULTI_INPUTS:
            values = getlist(prefix + name) if getlist else formdata.get(prefix + name) or []
            row.inputs[name] = [v for v in values if v]
        rows.append(row)
    return rows


def rows_from_rules(rules: Sequence[Mapping[str, Any]] | None) -> list[RuleRow]:
    """Rows showing saved rules."""
    rows = []
    for rule in rules or []:
        name = rule.get("criterion", "")
        row = RuleRow(criterion=name, exclude=bool(rule.get("exclude")), note=str(rule.get("note") or ""))
        if name == "age":
            row.inputs.update(age_min=_text(rule.get("min")), age_max=_text(rule.get("max")))
        elif name in ("sex", "hukou", "hiv"):
            row.inputs[name] = _text(rule.get("value"))
        elif name == "residence_district":
            row.inputs["districts"] = list(rule.get("any_of") or [])
        elif name == "substance":
            row.inputs["substances"] = list(rule.get("any_of") or [])
        elif name == "rehab_status":
            row.inputs["rehab"] = list(rule.get("any_of") or [])
        elif name == "income":
            row.inputs["income"] = _text(rule.get("max_monthly"))
        elif name == "children_under":
            row.inputs["child_age"] = _text(rule.get("age"))
        elif name == "documents":
            row.inputs["documents"] = "\n".join(rule.get("all_of") or [])
        rows.append(row)
    return rows


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _whole(row: RuleRow, name: str, message: str) -> int | None:
    raw = row.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        row.errors.append(message)
        return None


def _amount(row: RuleRow, name: str) -> int | float | None:
    raw = row.get(name).replace(",", "").replace("，", "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 10_000_000:
        row.errors.append(_("Enter the amount in yuan as a number, 0 or more."))
        return None
    return int(value) if value.is_integer() else value


def _rule(row: RuleRow) -> dict[str, Any] | None:
    """The row's rule, or None with the reasons on ``row.errors``."""
    name = row.criterion
    if name not in CRITERIA:
        row.errors.append(_("Choose a criterion."))
        return None
    rule: dict[str, Any] = {"criterion": name}
    if name == "age":
        message = _("Enter the age in whole years.")
        rule.update(min=_whole(row, "age_min", message), max=_whole(row, "age_max", message))
        rule = {k: v for k, v in rule.items() if v is not None}
    elif name in ("sex", "hukou", "hiv"):
        rule["value"] = row.get(name) or None
    elif name in ("dibao", "pregnant", "disability", "homeless"):
        rule["value"] = True
    elif name in ("residence_district", "substance", "rehab_status"):
        rule["any_of"] = list(row.get(INPUTS[name][0]))
    elif name == "income":
        rule["max_monthly"] = _amount(row, "income")
    elif name == "children_under":
        rule["age"] = _whole(row, "child_age", _("Enter the age in whole years."))
    elif name == "documents":
        rule["all_of"] = list(dict.fromkeys(line.strip() for line in row.get("documents").splitlines() if line.strip()))
    if row.exclude:
        rule["exclude"] = True
    if row.note:
        if len(row.note) > 200:
            row.errors.append(_("The note may have at most 200 characters."))
        rule["note"] = row.note
    if row.errors:
        return None
    for problem in rule_problems([rule]):
        message = problem_text(problem)
        if message not in row.errors:
            row.errors.append(message)
    return None if row.errors else rule


def parse_rows(rows: list[RuleRow]) -> tuple[list[dict[str, Any] | None], bool]:
    """Each row's rule (None for a blank row, or where the row has errors, now on the row) and
    whether every row filled in is valid."""
    for row in rows:
        row.errors = []
    rules = [None if row.is_blank() else _rule(row) for row in rows]
    return rules, not any(row.errors for row in rows)


def choices() -> dict[str, list[tuple[str, str]]]:
    """The options of the row inputs, labelled in the UI language."""
    return {
        "criterion": [(name, str(label)) for name, label in CRITERION_LABELS.items()],
        "sex": [(k, str(v)) for k, v in SEX_LABELS.items()],
        "hukou": [(k, str(v)) for k, v in HUKOU_LABELS.items()],
        "hiv": [(k, str(v)) for k, v in HIV_LABELS.items()],
        "districts": [(d, d) for d in DISTRICTS],
        "substances": [(s, str(SUBSTANCE_LABELS[s])) for s in SUBSTANCES],
        "rehab": [(s, str(REHAB_LABELS[s])) for s in REHAB_STATUSES],
    }


def preview(rows: list[RuleRow], facts: Mapping[str, Any] | None, today: date) -> dict[str, Any]:
    """What the live preview shows: the valid rows in plain words, each row's problems, and (when
    every row is valid and sample facts are given) the verdict for those facts."""
    rules, ok = parse_rows(rows)
    valid = [rule for rule in rules if rule is not None]
    texts = describe_rules(valid)
    verdict = evaluate(valid, facts, today) if ok and facts else None
    return {
        "ok": ok,
        "rules": valid,
        "requirements": texts.requirements,
        "exclusions": texts.exclusions,
        "problems": [{"row": number, "messages": row.errors} for number, row in enumerate(rows, start=1) if row.errors],
        "verdict": verdict_json(verdict) if verdict is not None else None,
    }
