"""Search text analysis: mixed Chinese/English tokenizer, stemming, stop words, pinyin keys, synonyms."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import QueryParser

from directory.search.analysis import MixedTokenizer, pinyin_analyzer, pinyin_keys, text_analyzer
from directory.search.synonyms import DEFAULT_SYNONYMS_PATH, Synonyms

METHADONE = "美沙酮维持治疗门诊（越秀）"
METHADONE_EN = "Methadone maintenance treatment clinic, Yuexiu"


def texts(text: str, **kwargs) -> list[str]:
    return [t.text for t in text_analyzer()(text, **kwargs)]


def test_mixed_text_tokenization():
    tokens = texts("美沙酮维持治疗门诊 MMT clinic 每日10元 HIV/AIDS 2027年")
    for word in ["美沙酮", "维持", "治疗", "门诊", "mmt", "clinic", "每日", "10", "元", "hiv", "aids", "2027", "年"]:
        assert word in tokens
    # punctuation never becomes a token
    assert not any(t in tokens for t in ["（", "）", "/", "，", " "])


def test_search_mode_subwords_at_index_time_only():
    index_tokens = texts("艾滋病抗病毒治疗")
    assert {"艾滋", "艾滋病", "病毒", "抗病毒", "治疗"} <= set(index_tokens)
    query_tokens = texts("艾滋病抗病毒治疗", mode="query")
    assert query_tokens == ["艾滋病", "抗病毒", "治疗"]


def test_domain_words_stay_whole():
    assert "社区戒毒" in texts("社区戒毒社区康复工作站", mode="query")
    assert "社区康复" in texts("社区戒毒社区康复工作站", mode="query")
    assert "低保" in texts("申请低保", mode="query")


def test_char_offsets_match_original_text():
    text = "口服美沙酮 Methadone Clinics（越秀），ＭＭＴ 20周岁"
    tokens = [(t.text, t.startchar, t.endchar) for t in MixedTokenizer()(text, chars=True)]
    assert tokens
    for token_text, start, end in tokens:
        original = text[start:end]
        # full-width letters are normalised to ASCII; everything else is the text itself
        assert original.translate({cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}) == token_text
    assert ("美沙酮", 2, 5) in tokens
    assert ("Methadone", 6, 15) in tokens
    mmt = text.index("ＭＭＴ")
    assert ("MMT", mmt, mmt + 3) in tokens


def test_char_offsets_after_analysis_and_with_start_char():
    text = "的 Clinics 与 美沙酮门诊"
    for t in text_analyzer()(text, chars=True, start_char=100):
        assert text[t.startchar - 100 : t.endchar - 100].lower().startswith(t.text[:3])


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("美沙酮门诊艾滋病戒毒社区 ,.（）abcXYZ019ＭＴ的与")), max_size=40))
def test_offsets_property(text: str):
    for t in MixedTokenizer()(text, chars=True):
        assert 0 <= t.startchar < t.endchar <= len(text)
        assert text[t.startchar : t.endchar].translate({cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}) == t.text


def test_positions_subwords_share_their_words_position():
    tokens = [(t.text, t.pos) for t in text_analyzer()("艾滋病的检测 and clinics", positions=True)]
    assert ("艾滋", 0) in tokens and ("艾滋病", 0) in tokens
    # 的 and "and" are stop words: the remaining words get consecutive positions
    assert ("检测", 1) in tokens
    assert ("clinic", 2) in tokens


def test_english_stemming_and_chinese_untouched():
    assert texts("Clinics hospitals services") == ["clinic", "hospit", "servic"]
    assert texts("Jobs") == texts("job")
    assert "aids" in texts("AIDS")  # not stemmed to "aid"
    assert texts("门诊", mode="query") == ["门诊"]


def test_stop_words():
    assert texts("the clinic of the city and 社区的 和 服务", mode="query") == ["clinic", "citi", "社区", "服务"]
    kept = [(t.text, t.stopped) for t in text_analyzer()("the clinic", removestops=False)]
    assert kept == [("the", True), ("clinic", False)]


def test_analyzer_pickles():
    analyzer = text_analyzer()
    restored = pickle.loads(pickle.dumps(analyzer))  # noqa: S301 - our own object
    assert restored == analyzer
    assert [t.text for t in restored("Methadone 美沙酮")] == ["methadon", "美沙酮"]
    assert pickle.loads(pickle.dumps(pinyin_analyzer())) == pinyin_analyzer()  # noqa: S301


def test_pinyin_keys():
    keys = pinyin_keys("美沙酮维持治疗门诊")
    for key in ["meishatong", "mst", "menzhen", "mz", "meishatongweichizhiliaomenzhen", "mstwczlmz"]:
        assert key in keys
    assert len(keys) == len(set(keys))
    low = pinyin_keys("低保")
    assert "dibao" in low and "db" in low
    assert pinyin_keys("Methadone MMT 123") == []
    assert all(k == k.lower() and k.isascii() for k in pinyin_keys("广州市越秀区禁毒办 HIV"))
    assert "yinhang" in pinyin_keys("食物银行")  # phrase-aware reading of the heteronym 行


def test_pinyin_analyzer():
    tokens = [t.text for t in pinyin_analyzer()("meishatong MST  menzhen")]
    assert tokens == ["meishatong", "mst", "menzhen"]


@pytest.fixture(scope="module")
def synonyms() -> Synonyms:
    return Synonyms.load()


def test_synonym_file_has_many_groups(synonyms: Synonyms):
    assert DEFAULT_SYNONYMS_PATH.is_file()
    assert len(synonyms) >= 30
    assert Synonyms.load(DEFAULT_SYNONYMS_PATH) is synonyms  # cached per path


def test_synonyms_methadone(synonyms: Synonyms):
    for query in ["美沙酮", "methadon", "Methadone", "mmt", "MMT"]:
        expansions = synonyms.expand(query)
        assert {"美沙酮", "methadon", "mmt"} <= expansions
    # multi-token members come back as space-joined analyzed tokens
    assert "美沙酮 维持 治疗" in synonyms.expand("mmt")


def test_synonyms_case_and_stem_aware(synonyms: Synonyms):
    for query in ["Jobs", "job", "employments", "Employment"]:
        assert "就业" in synonyms.expand(query)
    assert "job" in synonyms.expand("就业")
    assert "legal aid" in synonyms.expand("法律援助")
    assert "法律援助" in synonyms.expand("Legal Aid")
    assert "hiv" in synonyms.expand("AIDS")
    assert "hiv" not in synonyms.expand("aid")


def test_synonyms_unknown_term(synonyms: Synonyms):
    assert synonyms.expand("Zebra") == {"zebra"}
    assert synonyms.expand("  ") == set()


def test_synonyms_from_custom_file(tmp_path: Path):
    path = tmp_path / "syn.yaml"
    path.write_text("groups:\n  - [Foo Bars, 福, baz]\n", encoding="utf-8")
    syn = Synonyms.load(path)
    assert syn.expand("baz") == {"foo bar", "福", "baz"}
    assert syn.expand("foo bars") == syn.expand("baz")


def test_whoosh_index_end_to_end(tmp_path: Path):
    analyzer = text_analyzer()
    schema = Schema(
        id=ID(stored=True, unique=True),
        text=TEXT(analyzer=analyzer, stored=True),
        pinyin=TEXT(analyzer=pinyin_analyzer()),
    )
    ix = index.create_in(str(tmp_path), schema)
    docs = {
        "mmt": f"{METHADONE} {METHADONE_EN}",
        "dibao": "最低生活保障申请 Minimum living allowance",
        "legal": "法律援助中心 Legal aid centre",
    }
    with ix.writer() as writer:
        for doc_id, text in docs.items():
            writer.add_document(id=doc_id, text=text, pinyin=" ".join(pinyin_keys(text)))

    ix = index.open_dir(str(tmp_path))  # schema (with our analyzers) survives pickling
    with ix.searcher() as searcher:

        def ids(field: str, query: str) -> list[str]:
            parsed = QueryParser(field, ix.schema).parse(query)
            return [hit["id"] for hit in searcher.search(parsed)]

        assert ids("text", "美沙酮") == ["mmt"]
        assert ids("text", "methadone clinics") == ["mmt"]
        assert ids("text", "门诊") == ["mmt"]
        assert ids("text", '"维持治疗"') == ["mmt"]  # phrase over consecutive words
        assert ids("pinyin", "meishatong") == ["mmt"]
        assert ids("pinyin", "mst") == ["mmt"]
        assert ids("pinyin", "dibao") == []  # 低保 is not in the text
        assert ids("pinyin", "zuidi") == ["dibao"]
        assert ids("text", "aid") == ["legal"]

        hits = searcher.search(QueryParser("text", ix.schema).parse("美沙酮"))
        assert "美沙酮" in hits[0].highlights("text")


def test_a_synonym_group_is_one_mark_in_the_index(tmp_path: Path):
    """A field is marked with a group when it holds one member whole (every word of a several-word
    member, anywhere): a query word then finds the group through its mark."""
    from directory.search.engine import text_query
    from directory.search.index import make_schema

    syn = Synonyms([["托育", "child care", "daycare"], ["法律援助", "legal aid"]])
    ix = index.create_in(str(tmp_path), make_schema(syn))
    docs = {
        "zh": "社区托育中心",
        "en": "Daycare for toddlers",
        "words": "We care for your child after school",  # both words of "child care", apart
        "half": "Elder care at home",  # only one word of "child care"
        "legal": "Legal aid clinic",
    }
    with ix.writer() as writer:
        for doc_id, text in docs.items():
            writer.add_document(doc_id=doc_id, all=text, title=text)
    ix = index.open_dir(str(tmp_path))  # the marks' table survives pickling with the schema
    with ix.searcher() as searcher:

        def ids(q: str, synonyms: Synonyms | None = syn) -> set[str]:
            return {hit["doc_id"] for hit in searcher.search(text_query(q, synonyms, "all"), limit=None)}

        assert ids("托育") == ids("daycare") == {"zh", "en", "words"}
        # a several-word member typed in a query is the member: it finds the whole group
        assert ids("child care") == {"zh", "en", "words"}
        assert ids("托育", None) == {"zh"}  # without synonyms, the word alone
        assert ids("法律援助") == {"legal"}
        assert ids("care") == {"words", "half"}  # a member's single word is not the group
        assert not [t for t in text_analyzer()("Daycare for toddlers") if t.text.startswith("\ue000")]
        tokens = text_analyzer(syn.table)("托育 daycare 托育 child care")
        marks = [t.text for t in tokens if t.text.startswith("\ue000")]
        assert marks == list(syn.marks("托育")) * 4  # as often as its members occur, to rank by
        title = searcher.search(text_query("daycare", syn, "title"), limit=None)
        assert title[0]["doc_id"] == "en"  # the word itself ranks above a synonym


def test_an_index_built_with_other_synonyms_must_be_rebuilt(tmp_path: Path):
    from directory.search.index import SearchIndex

    old = Synonyms([["托育", "daycare"]])
    SearchIndex(tmp_path, synonyms=old)
    assert not SearchIndex(tmp_path, synonyms=Synonyms([["托育", "daycare"]])).needs_rebuild  # same groups
    assert SearchIndex(tmp_path, synonyms=Synonyms([["托育", "daycare", "nursery"]])).needs_rebuild
    assert SearchIndex(tmp_path, synonyms=None).needs_rebuild


def test_catching_up_never_makes_a_stale_index_current(seeded_app):
    """Only a rebuild records new synonyms: an index that applied changes with other groups than it
    was built with is still stale."""
    from sqlalchemy import select

    from directory.catalog.models import Service
    from directory.extensions import db
    from directory.search.index import SearchIndex

    other = Synonyms([["托育", "daycare", "nursery"]])
    with seeded_app.app_context():
        stale = SearchIndex(seeded_app.config["SEARCH_INDEX_DIR"], synonyms=other)
        assert stale.needs_rebuild
        service = db.session.scalars(select(Service).where(Service.status == "active").limit(1)).one()
        service.name += "（改）"
        db.session.commit()
        assert stale.catch_up() == 1
        assert SearchIndex(seeded_app.config["SEARCH_INDEX_DIR"], synonyms=other).needs_rebuild
        stale.rebuild()
        assert not SearchIndex(seeded_app.config["SEARCH_INDEX_DIR"], synonyms=other).needs_rebuild
