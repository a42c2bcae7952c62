"""Bilingual synonyms, kept as data in ``seed_data/synonyms.yaml``.

The index marks each text field with the groups it matches (:class:`SynonymMarkFilter`), and a query
word asks for the marks of its groups (:meth:`Synonyms.marks`): one term per group instead of a union
of every member. The index records the groups it was built with (``fingerprint``) and is rebuilt when
the file changes.

The file's ``phrases`` are one-way: what people type (看病没钱, 社戒) -> what to search for (医疗救助,
社区戒毒). They are used at query time only (see ``querytext.parse_query``), matched on the query as
typed, like the Chinese members of the groups; they do not change the index.

Every group member is run through :func:`~directory.search.analysis.text_analyzer` in query mode, so a
member is stored as the terms the index holds (English stemmed and lowercased, Chinese segmented).

Expansion format: :meth:`Synonyms.expand` returns a ``set[str]``; each string is one alternative and is the
space-joined sequence of analyzed tokens of one group member. Analyzed tokens never contain spaces, so:

* no space  -> a single index term: ``"methadon"``, ``"美沙酮"``, ``"mmt"``;
* spaces    -> a multi-token member, to be matched as a phrase (or, more loosely, all terms ANDed):
  ``"legal aid"``, ``"美沙酮 维持 治疗"`` (from 美沙酮维持治疗). ``alt.split()`` gives its terms.

>>> syn = Synonyms.load()
>>> {"methadon", "mmt"} <= syn.expand("美沙酮")
True
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path

import yaml

from directory.search.analysis import SYNONYM_MARK, SynonymTable, text_analyzer

__all__ = ["DEFAULT_SYNONYMS_PATH", "Synonyms", "seed_synonyms"]

DEFAULT_SYNONYMS_PATH = Path(__file__).resolve().parents[2] / "seed_data" / "synonyms.yaml"


def _digest(text: str, size: int) -> str:
    return hashlib.blake2b(text.encode(), digest_size=size // 2).hexdigest()


def _normalize(term: str) -> str:
    return " ".join(term.lower().split())


def _is_cjk_word(text: str) -> bool:
    """Two or more Chinese characters and nothing else (a single character would match too much)."""
    return len(text) >= 2 and all("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


class Synonyms:
    """Groups of interchangeable search terms, looked up by analyzed (or raw) term."""

    _cache: dict[Path, Synonyms] = {}
    _cache_lock = threading.Lock()

    def __init__(
        self, groups: Iterable[Iterable[str]], phrases: Iterable[tuple[Iterable[str], Iterable[str]]] = ()
    ) -> None:
        self._analyzer = text_analyzer()
        forms_by_group: list[frozenset[str]] = []
        index: dict[str, set[int]] = {}
        groups_list = [list(members) for members in groups]
        for members in groups_list:
            gid = len(forms_by_group)
            forms: set[str] = set()
            for member in members:
                member = str(member)
                form = self._analyze(member)
                if form:
                    forms.add(form)
                    index.setdefault(form, set()).add(gid)
                # the raw spelling also finds the group (for callers that pass unanalyzed words)
                raw = _normalize(member)
                if raw:
                    index.setdefault(raw, set()).add(gid)
            forms_by_group.append(frozenset(forms))
        #: Analyzed forms of each group's members, in file order.
        self.groups: tuple[frozenset[str], ...] = tuple(forms_by_group)
        self._index = {key: tuple(sorted(gids)) for key, gids in index.items()}
        # A group's mark is named after its members, so a group that did not change keeps its mark.
        self._marks = tuple(SYNONYM_MARK + _digest("\n".join(sorted(forms)), 12) for forms in forms_by_group)
        #: ``((mark, (member words, …)), …)`` for the index's SynonymMarkFilter.
        self.table: SynonymTable = tuple(
            (mark, tuple(sorted(tuple(form.split()) for form in forms)))
            for mark, forms in sorted(set(zip(self._marks, self.groups, strict=True)))
            if forms
        )
        #: Names these groups: an index built with other groups must be rebuilt.
        self.fingerprint = _digest(repr(self.table), 16)
        self._typed: dict[str, tuple[str, ...]] = {}
        self._phrases: set[str] = set()
        for members in groups_list:
            for member in members:
                raw = _normalize(str(member))
                if _is_cjk_word(raw):  # a Chinese member is matched on the query as typed
                    self._typed.setdefault(raw, (raw,))
                elif " " in (form := self._analyze(raw)):  # legal aid: matched on the query's analyzed words
                    self._typed.setdefault(form, (raw,))  # searched as written: analyzed once, later
        for typed, search in phrases:
            targets = tuple(_normalize(str(t)) for t in search if _normalize(str(t)))
            if not targets:
                raise ValueError(f"phrase {list(typed)!r} has nothing to search for")
            for phrase in typed:
                key = _normalize(str(phrase))
                if not _is_cjk_word(key):
                    key = self._analyze(key) or key
                self._typed[key] = targets  # a phrase wins over a group member of the same spelling
                self._phrases.add(key)
        #: The longest typed key, in characters (Chinese) and in words (English).
        self.longest_typed = max((len(k) for k in self._typed if _is_cjk_word(k)), default=0)
        self.longest_words = max((len(k.split()) for k in self._typed), default=1)

    def _analyze(self, text: str) -> str:
        return " ".join(t.text for t in self._analyzer(text, mode="query"))

    def typed(self, text: str) -> tuple[str, ...] | None:
        """What a phrase or a synonym member typed in a query searches for (None if it is neither).

        ``text`` is Chinese as typed (找工作, 看病没钱) or space-joined analyzed English words
        (``legal aid``). A one-way phrase gives its targets (看病没钱 → 医疗救助); a group member gives
        itself, which then finds its whole group.
        """
        return self._typed.get(_normalize(text))

    def is_phrase(self, text: str) -> bool:
        """Whether ``text`` is the typed side of a one-way phrase."""
        return _normalize(text) in self._phrases

    @classmethod
    def load(cls, path: str | Path | None = None) -> Synonyms:
        """Load a YAML file (``groups:`` a list of lists of terms; ``phrases:`` a list of
        ``{typed: [...], search: [...]}``); cached per resolved path."""
        resolved = Path(path or DEFAULT_SYNONYMS_PATH).resolve()
        with cls._cache_lock:
            cached = cls._cache.get(resolved)
        if cached is not None:
            return cached
        data = yaml.safe_load(resolved.read_text(encoding="utf-8")) or {}
        groups = data.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise ValueError(f"{resolved}: 'groups' must be a list of lists of terms")
        phrases = data.get("phrases") or []
        if not isinstance(phrases, list) or not all(
            isinstance(p, dict) and isinstance(p.get("typed"), list) and isinstance(p.get("search"), list)
            for p in phrases
        ):
            raise ValueError(f"{resolved}: each of 'phrases' must have a 'typed' list and a 'search' list")
        synonyms = cls(groups, [(p["typed"], p["search"]) for p in phrases])
        with cls._cache_lock:
            return cls._cache.setdefault(resolved, synonyms)

    @classmethod
    def clear_cache(cls) -> None:
        """Forget loaded files (e.g. after editing the YAML in a running process)."""
        with cls._cache_lock:
            cls._cache.clear()

    def _group_ids(self, term: str) -> set[int]:
        key = _normalize(term)
        if not key:
            return set()
        gids = set(self._index.get(key, ()))
        analyzed = self._analyze(term)
        if analyzed and analyzed != key:
            gids.update(self._index.get(analyzed, ()))
        return gids

    def expand(self, term: str) -> set[str]:
        """All analyzed forms of the members of every group ``term`` belongs to.

        ``term`` is normally an analyzed query term (``"job"``, ``"美沙酮"``) or a space-joined analyzed
        phrase (``"legal aid"``); a raw word or phrase (``"Jobs"``, ``"Legal Aid"``) is analyzed first, so
        matching is case-insensitive and stem-aware. See the module docstring for the string format.
        The result includes the term's own form when it is in a group; a term in no group gives
        ``{term}`` (lowercased, whitespace-normalized), so the result is never empty for a non-empty term.
        """
        gids = self._group_ids(term)
        if not gids:
            key = _normalize(term)
            return {key} if key else set()
        result: set[str] = set()
        for gid in sorted(gids):
            result |= self.groups[gid]
        return result

    def marks(self, term: str) -> tuple[str, ...]:
        """The index marks of the groups ``term`` belongs to (none for a term in no group)."""
        return tuple(sorted({self._marks[gid] for gid in self._group_ids(term) if self.groups[gid]}))

    def __len__(self) -> int:
        return len(self.groups)


def seed_synonyms(seed_dir: str | Path) -> Synonyms | None:
    """The groups in ``seed_dir``/synonyms.yaml, or None when there is no such file."""
    path = Path(seed_dir) / "synonyms.yaml"
    return Synonyms.load(path) if path.exists() else None
