"""Text analysis for mixed Chinese/English service listings (Whoosh analyzers, pinyin keys).

Listings are written mostly in Chinese with English alternate names; caseworkers search in Chinese,
English, toneless pinyin (``meishatong``) or pinyin initials (``mst``).

* :class:`MixedTokenizer` splits text into runs of CJK characters and runs of Latin letters/digits.
  CJK runs are segmented with jieba; Latin runs are emitted as words. Offsets refer to the original text.
* :func:`text_analyzer` is the analyzer for TEXT fields: tokenizer, lowercase, stop words, English stemming
  of ASCII tokens only (Chinese tokens are never stemmed).
* :func:`pinyin_keys` turns the Chinese words of a text into pinyin search keys; index them in a field that
  uses :func:`pinyin_analyzer`.

Chinese segmentation, index vs query mode
-----------------------------------------
At index time (any ``mode`` other than ``"query"``) each jieba word is emitted together with the
dictionary sub-words that jieba's search mode (``cut_for_search``) would add, e.g. 艾滋病 -> 艾滋, 艾滋病,
so a query for a shorter word still matches. Sub-words share the position of the word they come from,
so words keep consecutive positions and phrase queries work. At query time (``mode="query"``, which
whoosh's query parser passes) only the words themselves are emitted: every query word must then be an
index term, not every sub-word of it. Pass ``subwords=True``/``False`` to override either default.

Everything here is picklable (whoosh pickles schemas): module-level classes, no lambdas or closures.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from whoosh.analysis import (
    STOP_WORDS,
    CompositeAnalyzer,
    Filter,
    LowercaseFilter,
    SpaceSeparatedTokenizer,
    StemFilter,
    StopFilter,
    Token,
    Tokenizer,
)

__all__ = [
    "CHINESE_STOP_WORDS",
    "DOMAIN_WORDS",
    "STEM_IGNORE",
    "STOP_LIST",
    "SYNONYM_MARK",
    "AsciiStemFilter",
    "MixedStopFilter",
    "MixedTokenizer",
    "SynonymMarkFilter",
    "cjk_words",
    "ensure_jieba",
    "pinyin_analyzer",
    "pinyin_keys",
    "text_analyzer",
]

# Domain words that jieba's built-in dictionary would otherwise split (or might split in some contexts).
# Changing this list changes tokenization: rebuild the search index afterwards.
DOMAIN_WORDS: tuple[str, ...] = (
    "美沙酮",
    "社区戒毒",
    "社区康复",
    "戒毒所",
    "脱毒",
    "禁毒",
    "禁毒办",
    "禁毒社工",
    "低保",
    "低保户",
    "特困",
    "居委会",
    "街道办",
    "街道办事处",
    "救助站",
    "救助管理站",
    "艾滋病",
    "抗病毒",
    "丙肝",
    "社工站",
    "家综",
    "托育",
    "公租房",
    "食物银行",
    "爱心餐",
    "法律援助",
    "医疗救助",
    "心理援助",
)

# Chinese function words dropped at index and query time (single characters; content words are kept).
CHINESE_STOP_WORDS: frozenset[str] = frozenset({"的", "了", "和", "与", "及", "或", "在", "之", "等", "并", "及其"})

# "s" catches the tail of possessives split at the apostrophe ("residents' committee", "children's").
STOP_LIST: frozenset[str] = frozenset(STOP_WORDS) | CHINESE_STOP_WORDS | {"s"}

# English words the stemmer must leave alone ("AIDS" is not the plural of "aid").
STEM_IGNORE: frozenset[str] = frozenset({"aids", "sars"})

# CJK ideographs: Extension A, URO (incl. 〇), compatibility ideographs.
_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Latin words: ASCII letters/digits, full-width letters/digits (normalised to ASCII), Latin-1/Extended-A/B letters.
_LATIN = "0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_RUN_RE = re.compile(f"(?P<cjk>[{_CJK}]+)|(?P<latin>[{_LATIN}]+)")
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
# Full-width ASCII (U+FF01..U+FF5E) -> ASCII. One character to one character, so offsets stay valid.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}

_jieba_lock = threading.Lock()
_jieba_ready = False


def ensure_jieba():
    """Initialise jieba once per process (quietly, built-in dictionary plus DOMAIN_WORDS) and return it."""
    global _jieba_ready
    # Imported at first use: importing jieba takes about 0.35 s, which processes that never segment text
    # (most CLI commands, a worker before its first search) need not pay.
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for word in DOMAIN_WORDS:
                    jieba.add_word(word)
                _jieba_ready = True
    return jieba


def _segment(run: str, subwords: bool) -> tuple[tuple[str, int, int, bool], ...]:
    """Segment a CJK run: (word, start, end, is_subword) tuples, sub-words before the word they belong to.

    Sub-words are the in-dictionary 2- and 3-character grams that ``jieba.cut_for_search`` adds.
    Listings repeat many phrases (携带身份证, 街道办事处 …), so segmentations are memoised.
    """
    ensure_jieba()
    return _segment_cached(run, subwords)


@lru_cache(maxsize=200_000)
def _segment_cached(run: str, subwords: bool) -> tuple[tuple[str, int, int, bool], ...]:
    import jieba  # at first use, as in ensure_jieba (always called first)

    freq = jieba.dt.FREQ
    pieces: list[tuple[str, int, int, bool]] = []
    for word, start, end in jieba.tokenize(run, HMM=False):  # the dictionary only: faster, repeatable
        if subwords:
            n = len(word)
            for size in (2, 3):
                if n > size:
                    for i in range(n - size + 1):
                        gram = word[i : i + size]
                        if freq.get(gram):
                            pieces.append((gram, start + i, start + i + size, True))
        pieces.append((word, start, end, False))
    return tuple(pieces)


def cjk_words(text: str, subwords: bool = True) -> list[str]:
    """The jieba words (and, if ``subwords``, search-mode sub-words) of the CJK runs in ``text``, in order."""
    words: list[str] = []
    for match in _CJK_RUN_RE.finditer(text):
        words.extend(w for w, _s, _e, _sub in _segment(match.group(), subwords))
    return words


class MixedTokenizer(Tokenizer):
    """Tokenizer for mixed Chinese/English text.

    CJK runs are segmented with jieba (see the module docstring for index vs query mode); runs of Latin
    letters/digits are emitted as words (full-width letters/digits normalised to ASCII). Everything else
    (punctuation, spaces, symbols) separates tokens. ``startchar``/``endchar`` index the original text.
    Accepts the same arguments as whoosh's ``RegexTokenizer``, plus ``subwords``.
    """

    def __eq__(self, other: object) -> bool:
        return other is not None and self.__class__ is other.__class__

    def __hash__(self) -> int:
        return hash(self.__class__)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        subwords: bool | None = None,
        **kwargs,
    ) -> Iterator[Token]:
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not a str")
        if subwords is None:
            subwords = mode != "query"
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)

        if not tokenize:
            t.original = t.text = value.translate(_FULLWIDTH)
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return

        pos = start_pos
        for match in _RUN_RE.finditer(value):
            run_start = match.start()
            if match.lastgroup == "latin":
                pieces: Iterator[tuple[str, int, int, bool]] = iter(
                    [(match.group().translate(_FULLWIDTH), 0, match.end() - run_start, False)]
                )
            else:
                pieces = _segment(match.group(), subwords)
            for text, start, end, is_subword in pieces:
                t.text = text
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = text
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar = start_char + run_start + start
                    t.endchar = start_char + run_start + end
                yield t
                if not is_subword:
                    pos += 1


class MixedStopFilter(StopFilter):
    """``StopFilter`` whose renumbering keeps tokens that share a position (sub-words) together.

    Whoosh's own renumbering gives every surviving token a new position, which would separate a word
    from its sub-words; here a position is only closed up when all tokens at it are stopped.
    """

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stoplist = self.stops
        minsize = self.min
        maxsize = self.max
        renumber = self.renumber
        shift = 0  # number of earlier positions whose tokens were all stopped
        current: int | None = None
        current_kept = True
        for t in tokens:
            if renumber and t.positions and t.pos != current:
                if current is not None and not current_kept:
                    shift += 1
                current = t.pos
                current_kept = False
            text = t.text
            if len(text) >= minsize and (maxsize is None or len(text) <= maxsize) and text not in stoplist:
                if renumber and t.positions:
                    current_kept = True
                    t.pos -= shift
                t.stopped = False
                yield t
            elif not t.removestops:
                if renumber and t.positions:
                    t.pos -= shift
                    # a kept stop word still occupies its position
                    current_kept = True
                t.stopped = True
                yield t


class AsciiStemFilter(StemFilter):
    """Porter-stems ASCII tokens (English) and passes every other token (Chinese) through unchanged."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stemfn = self._stem
        ignore = self.ignore
        for t in tokens:
            if not t.stopped:
                text = t.text
                if text.isascii() and text not in ignore:
                    t.text = stemfn(text)
            yield t


# Synonym group marks start with a private-use character, which no listing text yields as a word.
SYNONYM_MARK = "\ue000"

SynonymTable = tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]


class SynonymMarkFilter(Filter):
    """At index time, after a field's words, one mark for each synonym group the field matches.

    ``groups`` is ``((mark, (member words, …)), …)`` (see ``Synonyms.table``). A group matches when
    the field holds every word of one of its members (美沙酮; or legal and aid for "legal aid") — the
    same rule a search applied when it expanded each query word into all the members of its groups.
    A query then asks for one mark instead of a union of every member (a union of terms and of
    several-word intersections was most of a keyword search's time). In query mode tokens pass
    through unchanged.
    """

    def __init__(self, groups: SynonymTable = ()) -> None:
        self.groups = groups
        self._by_word: dict[str, list[tuple[str, tuple[str, ...]]]] = {}  # first word -> (mark, member words)
        for mark, members in groups:
            for words in members:
                self._by_word.setdefault(words[0], []).append((mark, words))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SynonymMarkFilter) and self.groups == other.groups

    def __hash__(self) -> int:
        return hash(self.groups)

    def __getstate__(self) -> dict:
        return {"groups": self.groups}  # pickled with the schema; the lookup is rebuilt when loaded

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["groups"])

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        if not self.groups:
            yield from tokens
            return
        counts: dict[str, int] = {}
        token = None
        for token in tokens:
            if token.mode == "query":
                yield token
                yield from tokens
                return
            if not token.stopped:
                counts[token.text] = counts.get(token.text, 0) + 1
            yield token
        if token is None:
            return
        # A mark occurs as often as its members do, so a text that is more about the group scores
        # higher, as it did when a search added up every member's score.
        frequency: dict[str, int] = {}
        for word in counts:
            for mark, words in self._by_word.get(word, ()):
                if all(w in counts for w in words[1:]):
                    frequency[mark] = frequency.get(mark, 0) + min(counts[w] for w in words)
        for mark in sorted(frequency):
            for _ in range(frequency[mark]):
                token.text = mark
                token.stopped = False
                token.boost = 1.0
                yield token


def text_analyzer(synonym_groups: SynonymTable = ()) -> CompositeAnalyzer:
    """Analyzer for mixed Chinese/English TEXT fields: segment, lowercase, drop stop words, stem English;
    with ``synonym_groups``, index time also adds the marks of the synonym groups the text matches."""
    analyzer = (
        MixedTokenizer()
        | LowercaseFilter()
        | MixedStopFilter(stoplist=STOP_LIST, minsize=1)
        | AsciiStemFilter(ignore=STEM_IGNORE)
    )
    return analyzer | SynonymMarkFilter(synonym_groups) if synonym_groups else analyzer


def spelling_analyzer() -> CompositeAnalyzer:
    """Words as people type them (no stemming), for "did you mean" suggestions."""
    return MixedTokenizer() | LowercaseFilter()


def pinyin_analyzer() -> CompositeAnalyzer:
    """Analyzer for a field fed with space-separated pinyin keys (see :func:`pinyin_keys`): split, lowercase."""
    return SpaceSeparatedTokenizer() | LowercaseFilter()


@lru_cache(maxsize=200_000)
def _pinyin(word: str) -> tuple[str, str]:
    full = "".join(lazy_pinyin(word, style=Style.NORMAL, errors="ignore")).lower()
    initials = "".join(lazy_pinyin(word, style=Style.FIRST_LETTER, errors="ignore")).lower()
    return full, initials


def pinyin_keys(text: str, max_run_chars: int = 20) -> list[str]:
    """Toneless pinyin and pinyin initials of the Chinese words in ``text``, lowercase, deduplicated, in order.

    Words are jieba's words plus search-mode sub-words (see :func:`cjk_words`) of two or more characters,
    plus each whole CJK run of up to ``max_run_chars`` characters (so a name like 美沙酮维持治疗门诊 is
    findable as ``meishatongweichizhiliaomenzhen`` / ``mstwczlmz``; long description sentences are not).
    Single-character words are skipped: one-letter initials would match almost anything.
    Heteronyms take pypinyin's default (phrase-aware) reading. Non-CJK text contributes nothing.
    ``ü`` is written ``v`` (绿 -> ``lv``), as pinyin input methods type it.

    >>> keys = pinyin_keys("美沙酮维持治疗门诊")
    >>> {"meishatong", "mst", "menzhen", "mz", "mstwczlmz"} <= set(keys)
    True
    """
    keys: dict[str, None] = {}
    for match in _CJK_RUN_RE.finditer(text):
        run = match.group()
        words = [w for w in cjk_words(run) if len(w) >= 2]
        if len(run) <= max_run_chars and len(run) >= 2:
            words.append(run)
        for word in words:
            for key in _pinyin(word):
                if key:
                    keys.setdefault(key, None)
    return list(keys)
