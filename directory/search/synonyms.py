"""Bilingual query-time synonyms, kept as data in ``seed_data/synonyms.yaml``.

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

import threading
from collections.abc import Iterable
from pathlib import Path

import yaml

from directory.search.analysis import text_analyzer

__all__ = ["DEFAULT_SYNONYMS_PATH", "Synonyms"]

DEFAULT_SYNONYMS_PATH = Path(__file__).resolve().parents[2] / "seed_data" / "synonyms.yaml"


def _normalize(term: str) -> str:
    return " ".join(term.lower().split())


class Synonyms:
    """Groups of interchangeable search terms, looked up by analyzed (or raw) term."""

    _cache: dict[Path, Synonyms] = {}
    _cache_lock = threading.Lock()

    def __init__(self, groups: Iterable[Iterable[str]]) -> None:
        self._analyzer = text_analyzer()
        forms_by_group: list[frozenset[str]] = []
        index: dict[str, set[int]] = {}
        for members in groups:
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

    def _analyze(self, text: str) -> str:
        return " ".join(t.text for t in self._analyzer(text, mode="query"))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Synonyms:
        """Load the groups from a YAML file (``groups:`` list of lists); cached per resolved path."""
        resolved = Path(path or DEFAULT_SYNONYMS_PATH).resolve()
        with cls._cache_lock:
            cached = cls._cache.get(resolved)
        if cached is not None:
            return cached
        data = yaml.safe_load(resolved.read_text(encoding="utf-8")) or {}
        groups = data.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise ValueError(f"{resolved}: 'groups' must be a list of lists of terms")
        synonyms = cls(groups)
        with cls._cache_lock:
            return cls._cache.setdefault(resolved, synonyms)

    @classmethod
    def clear_cache(cls) -> None:
        """Forget loaded files (e.g. after editing the YAML in a running process)."""
        with cls._cache_lock:
            cls._cache.clear()

    def expand(self, term: str) -> set[str]:
        """All analyzed forms of the members of every group ``term`` belongs to.

        ``term`` is normally an analyzed query term (``"job"``, ``"美沙酮"``) or a space-joined analyzed
        phrase (``"legal aid"``); a raw word or phrase (``"Jobs"``, ``"Legal Aid"``) is analyzed first, so
        matching is case-insensitive and stem-aware. See the module docstring for the string format.
        The result includes the term's own form when it is in a group; a term in no group gives
        ``{term}`` (lowercased, whitespace-normalized), so the result is never empty for a non-empty term.
        """
        key = _normalize(term)
        if not key:
            return set()
        gids = set(self._index.get(key, ()))
        analyzed = self._analyze(term)
        if analyzed and analyzed != key:
            gids.update(self._index.get(analyzed, ()))
        if not gids:
            return {key}
        result: set[str] = set()
        for gid in sorted(gids):
            result |= self.groups[gid]
        return result

    def __len__(self) -> int:
        return len(self.groups)
