"""What a query asks for: the words as people type them, turned into search units.

A caseworker or a client types 看病没钱, 想戒毒, 醫院, ``shelter for women`` or ``mei sha tong``. Before
anything is looked up in the index, :func:`parse_query`:

1. **normalizes** the text (:func:`normalize`): full-width forms to ASCII (NFKC), traditional Chinese to
   simplified with OpenCC's ``t2s`` data (醫院 → 医院, 戒毒康復 → 戒毒康复), lowercase;
2. **matches phrases on the text as typed**, before segmentation: the one-way phrases of
   ``seed_data/synonyms.yaml`` (看病没钱 → 医疗救助, 社戒 → 社区戒毒) and every Chinese member of a synonym
   group (找工作, 低保户), longest first. A match must start and end where jieba's words do, so 工作 is
   never found inside 工作站;
3. **segments the rest** with jieba and drops function words (找, 想, 哪里, 有没有 … and English stop
   words such as for, the, near): they never become required terms, in any field;
4. in a run of Latin words, **joins spaced pinyin** (``mei sha tong`` → ``meishatong``) when the joined
   syllables are a pinyin key of the index, and matches several-word synonym members (``legal aid``,
   ``ex-addicts``) as one unit.

Each :class:`Unit` is one thing the query asks for; a search requires every unit (see
``engine.TextQuery``), and falls back to units covered in part when that finds few services.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from directory.search.analysis import STOP_LIST, ensure_jieba, text_analyzer
from directory.search.synonyms import Synonyms

__all__ = [
    "CHINESE_FUNCTION_WORDS",
    "ENGLISH_FUNCTION_WORDS",
    "Unit",
    "is_pinyin_syllable",
    "normalize",
    "parse_query",
    "to_simplified",
]

# Words that say how someone asks, not what they ask for. Dropped from queries only (listings keep them).
CHINESE_FUNCTION_WORDS: frozenset[str] = frozenset(
    {
        *"找想要没有的了吗呢吧啊呀哪谁我你他她它在去给个些是就也还都和与及或帮办请能会",
        "哪里",
        "哪儿",
        "哪些",
        "哪个",
        "那里",
        "这里",
        "附近",
        "周边",
        "有没有",
        "有无",
        "没有",
        "请问",
        "我们",
        "我要",
        "我想",
        "想要",
        "需要",
        "能够",
        "可以",
        "能不能",
        "可不可以",
        "怎么",
        "怎么样",
        "怎样",
        "如何",
        "什么",
        "一下",
        "一些",
        "帮忙",
        "帮我",
        "或者",
        "还有",
        "一个",
        "地址",
        "电话",
        "在哪",
        "在哪里",
        "哪家",
        "应该",
        "怎么办",
        "谢谢",
    }  # fmt: skip
)
# English words beyond the index's stop list that never say what is wanted.
ENGLISH_FUNCTION_WORDS: frozenset[str] = frozenset(
    {
        "near",
        "nearby",
        "around",
        "where",
        "find",
        "finding",
        "need",
        "needs",
        "needed",
        "want",
        "wants",
        "looking",
        "look",
        "get",
        "getting",
        "please",
        "i",
        "me",
        "my",
        "mine",
        "our",
        "some",
        "any",
        "who",
        "what",
        "which",
        "how",
        "there",
        "here",
        "about",
        "they",
        "them",
        "their",
        "he",
        "she",
        "his",
        "her",
        "do",
        "does",
        "did",
        "has",
        "had",
        "should",
        "would",
        "could",
        "place",
        "places",
        "somewhere",
    }  # fmt: skip
)

_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECE_RE = re.compile(f"(?P<cjk>[{_CJK}]+)|(?P<latin>[0-9a-z\u00c0-\u024f]+)")

_converter_lock = threading.Lock()


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # OpenCC's own data, bundled in the wheel: no download at run time

    with _converter_lock:
        return opencc.OpenCC("t2s")


@lru_cache(maxsize=50_000)
def to_simplified(text: str) -> str:
    """Traditional Chinese characters and phrases to simplified (OpenCC ``t2s``); other text unchanged."""
    if not any("\u3400" <= ch <= "\ufaff" for ch in text):
        return text
    return _t2s().convert(text)


def normalize(q: str) -> str:
    """Full-width forms to ASCII, traditional to simplified, lowercase, single spaces."""
    return " ".join(to_simplified(unicodedata.normalize("NFKC", q)).lower().split())


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    from pypinyin.pinyin_dict import pinyin_dict  # a table of 40,000 characters: read on the first pinyin query

    found: set[str] = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            decomposed = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")  # ü as typed: v
            found.add("".join(c for c in decomposed if not unicodedata.combining(c)).lower())
    return frozenset(s for s in found if s.isascii() and s.isalpha())


def is_pinyin_syllable(word: str) -> bool:
    """``mei``, ``sha``, ``tong``: a toneless Mandarin syllable as typed (``ü`` as ``v``)."""
    return word in _syllables()


@dataclass(frozen=True)
class Unit:
    """One thing a query asks for.

    ``text`` is the part of the (normalized) query it stands for; ``searches`` are the texts to look
    for, any one of which satisfies the unit (the word itself, a synonym member, or a phrase's
    targets); ``pinyin`` is a Latin word's pinyin key, which also satisfies it; ``matched`` says the
    unit came from a synonym member or phrase (it is not a candidate for spelling correction).
    """

    text: str
    searches: tuple[str, ...]
    pinyin: str | None = None
    matched: bool = False


_analyzer = text_analyzer()


def _analyzed(text: str) -> list[str]:
    return [t.text for t in _analyzer(text, mode="query")]


def _cjk_units(run: str, synonyms: Synonyms | None) -> list[Unit]:
    """Phrase and synonym-member matches on the run as typed (aligned with jieba's word boundaries),
    then jieba's words for the rest, without function words."""
    jieba = ensure_jieba()
    words = [(w, s, e) for w, s, e in jieba.tokenize(run, HMM=False)]
    bounds = {s for _, s, _ in words} | {len(run)}
    longest = synonyms.longest_typed if synonyms is not None else 0
    units: list[Unit] = []
    i = 0
    while i < len(run):
        match = None
        if synonyms is not None:
            for end in range(min(len(run), i + longest), i + 1, -1):
                if end in bounds and (found := synonyms.typed(run[i:end])) is not None:
                    match = (end, found)
                    break
        if match is not None:
            end, searches = match
            units.append(Unit(run[i:end], searches, matched=True))
            i = end
            continue
        word = next(w for w, s, _ in words if s == i)
        if word not in CHINESE_FUNCTION_WORDS and word not in STOP_LIST:
            units.extend(Unit(token, (token,)) for token in _analyzed(word))
        i += len(word)
    return units


def _latin_units(raw: list[str], synonyms: Synonyms | None, is_pinyin_key: Callable[[str], bool] | None) -> list[Unit]:
    """A run of Latin words: spaced pinyin joined, several-word synonym members matched, function words
    dropped; every other word is one unit that its pinyin key may also satisfy."""
    units: list[Unit] = []
    i = 0
    while i < len(raw):
        # spaced pinyin: the longest run of syllables from here whose joined form the index knows
        if is_pinyin_key is not None and is_pinyin_syllable(raw[i]):
            end = i
            while end < len(raw) and is_pinyin_syllable(raw[end]):
                end += 1
            joined = next(
                (j for j in range(end, i + 1, -1) if is_pinyin_key("".join(raw[i:j]))),
                None,
            )
            if joined is not None:
                key = "".join(raw[i:joined])
                units.append(Unit(key, (key,), pinyin=key))
                i = joined
                continue
        # several-word synonym members (legal aid, ex addict), longest first, on the analyzed words
        if synonyms is not None:
            found = None
            for j in range(min(len(raw), i + synonyms.longest_words), i + 1, -1):
                form = " ".join(t for w in raw[i:j] for t in _analyzed(w))
                if " " in form and (searches := synonyms.typed(form)) is not None:
                    found = (j, searches)
                    break
            if found is not None:
                j, searches = found
                units.append(Unit(" ".join(raw[i:j]), searches, matched=True))
                i = j
                continue
        word = raw[i]
        i += 1
        if word in ENGLISH_FUNCTION_WORDS or word in STOP_LIST:
            continue
        tokens = _analyzed(word)
        if not tokens and not word.isalpha():
            continue
        if synonyms is not None and tokens and synonyms.is_phrase(tokens[0]):
            units.append(Unit(word, synonyms.typed(tokens[0]) or (), matched=True))
            continue
        units.append(Unit(word, (word,), pinyin=word if word.isalpha() else None))  # analyzed once, later
    return units


def parse_query(q: str, synonyms: Synonyms | None, is_pinyin_key: Callable[[str], bool] | None = None) -> list[Unit]:
    """The units of a query, in order (see the module docstring). ``is_pinyin_key`` tells whether a
    joined run of pinyin syllables is a pinyin key of the index; without it spaced pinyin stays apart.

    >>> [u.text for u in parse_query("我想找个住的地方 for women", None)]
    ['住', '地方', 'women']
    """
    units: list[Unit] = []
    latin: list[str] = []
    for piece in _PIECE_RE.finditer(normalize(q)):
        if piece.lastgroup == "latin":
            latin.append(piece.group())
            continue
        if latin:
            units.extend(_latin_units(latin, synonyms, is_pinyin_key))
            latin = []
        units.extend(_cjk_units(piece.group(), synonyms))
    if latin:
        units.extend(_latin_units(latin, synonyms, is_pinyin_key))
    return units
