"""A client's eligibility inside a search, without loading a service from the database.

Each index document carries its service's rules as canonical JSON in the ``rules_col`` column. Many
services share the same rules (a district's clinics, every "age 18+ and opioids" service), so a
segment's rules are read once into an array of rule-set numbers, and a search evaluates each distinct
rule set the search meets once for the client's facts (and remembers it for the next search with the
same facts). Hiding ineligible services is then an array lookup per document.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from directory.eligibility.rules import ELIGIBLE, INELIGIBLE, UNKNOWN, Verdict, evaluate
from directory.search.spatial import PerSegment, by_leaf, service_numbers

RULES_COLUMN = "rules_col"
CODES = {ELIGIBLE: 0, UNKNOWN: 1, INELIGIBLE: 2}

_lock = threading.Lock()
_numbers: dict[bytes, int] = {b"[]": 0}  # canonical rules JSON → rule-set number
_rulesets: list[list[dict]] = [[]]


def rules_bytes(rules: Sequence[Mapping[str, Any]] | None) -> bytes:
    """The canonical form stored in the index (equal rules, equal bytes)."""
    return json.dumps(list(rules or []), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _number(raw: bytes) -> int:
    raw = raw or b"[]"
    number = _numbers.get(raw)
    if number is None:
        with _lock:
            number = _numbers.get(raw)
            if number is None:
                _rulesets.append(json.loads(raw.decode("utf-8")))
                number = _numbers[raw] = len(_rulesets) - 1
    return number


def _numbers_of(reader) -> np.ndarray:
    count = reader.doc_count_all()
    if not reader.has_column(RULES_COLUMN):
        return np.zeros(count, dtype=np.int32)
    column = reader.column_reader(RULES_COLUMN)
    return np.fromiter((_number(column[d]) for d in range(count)), dtype=np.int32, count=count)


# The rule-set number of each document of a segment (read once per segment).
ruleset_numbers: PerSegment[np.ndarray] = PerSegment(_numbers_of)

_MEMO_SIZE = 64
_memos: OrderedDict[tuple[str, date], _Memo] = OrderedDict()


@dataclass
class _Memo:
    """Verdicts for one client's facts on one day, by rule-set number (shared by searches: paging
    through results, or searching again for the same client, evaluates nothing twice)."""

    verdicts: dict[int, Verdict] = field(default_factory=dict)
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))  # -1: not yet


def _memo_for(facts: Mapping[str, Any], today: date) -> _Memo:
    key = (json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str), today)
    with _lock:
        memo = _memos.pop(key, None) or _Memo()
        _memos[key] = memo
        while len(_memos) > _MEMO_SIZE:
            _memos.popitem(last=False)
    return memo


class EligibilityCheck:
    """One client's facts against the index. ``hide`` asks the search to leave out ineligible services.

    Only the rule sets of the documents a search actually looks at are evaluated, each once.
    """

    def __init__(self, facts: Mapping[str, Any], today: date, hide: bool = False):
        self.facts = dict(facts)
        self.today = today
        self.hide = hide
        self._memo = _memo_for(self.facts, today)

    def verdict_of(self, number: int) -> Verdict:
        verdict = self._memo.verdicts.get(number)
        if verdict is None:
            verdict = self._memo.verdicts[number] = evaluate(_rulesets[number], self.facts, self.today)
        return verdict

    def verdict_for(self, searcher, docnum: int) -> Verdict:
        """The verdict for one document of the searcher (global number)."""
        number = by_leaf(searcher, np.array([docnum]), lambda reader, local: ruleset_numbers(reader)[local])[0]
        return self.verdict_of(int(number))

    def codes(self) -> np.ndarray:
        """Status code by rule-set number, -1 where not evaluated yet (see ``code_of``)."""
        memo = self._memo
        if len(memo.codes) < len(_rulesets):
            grown = np.full(len(_rulesets), -1, dtype=np.int8)
            grown[: len(memo.codes)] = memo.codes
            memo.codes = grown
        return memo.codes

    def code_of(self, number: int) -> int:
        codes = self.codes()
        if codes[number] < 0:
            codes[number] = CODES[self.verdict_of(number).status]
        return int(codes[number])

    def ineligible(self, reader, docnums: np.ndarray) -> np.ndarray:
        """For documents of one segment (local numbers): is the client ineligible for their service?"""
        numbers = ruleset_numbers(reader)[docnums]
        codes = self.codes()
        for number in np.unique(numbers[codes[numbers] < 0]).tolist():
            self.code_of(number)
        return codes[numbers] == CODES[INELIGIBLE]

    def ineligible_global(self, searcher, docnums: np.ndarray) -> np.ndarray:
        """The same for documents of a whole searcher (global numbers)."""
        return by_leaf(searcher, docnums, self.ineligible).astype(bool)

    def count_services(self, searcher, docnums: np.ndarray) -> tuple[int, int]:
        """How many services the documents (global numbers) belong to: shown, and hidden as ineligible."""
        out = self.ineligible_global(searcher, docnums)
        services = by_leaf(searcher, docnums, lambda reader, local: service_numbers(reader)[local])
        return len(np.unique(services[~out])), len(np.unique(services[out]))

    def skipper(self, reader):
        """A test for the collector: is a document of this segment (local number) to be skipped?"""
        numbers, codes, code_of = ruleset_numbers(reader), self.codes(), self.code_of
        ineligible = CODES[INELIGIBLE]

        def skip(docnum: int) -> bool:
            number = numbers[docnum]
            code = codes[number]
            return (code if code >= 0 else code_of(number)) == ineligible

        return skip
