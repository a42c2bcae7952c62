"""Full index builds (directory.search.build): the parallel build writes the index Whoosh would write."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select
from whoosh import index
from whoosh.filedb.filestore import RamStorage
from whoosh.writing import PostingPool

from directory.catalog.models import Service
from directory.extensions import db
from directory.search.build import IndexBuildError, TermPostingPool, build_index
from directory.search.documents import service_documents
from directory.search.index import load_services, make_schema

FIELDS = ("all", "title", "pinyin", "spell", "taxonomy", "district", "languages", "accepting", "service_id")


def demo_documents(app) -> list[dict]:
    with app.app_context():
        ids = list(db.session.scalars(select(Service.id).order_by(Service.id)))
        return [doc for service in load_services(ids) for doc in service_documents(service)]


def index_contents(ix) -> dict:
    """Everything a search reads, keyed by doc_id (document numbers differ between segment layouts)."""
    with ix.searcher() as searcher:
        reader = searcher.reader()
        doc_ids = {docnum: fields["doc_id"] for docnum, fields in reader.iter_docs()}
        stored = {doc_ids[docnum]: fields for docnum, fields in reader.iter_docs()}
        lengths = {
            (doc_ids[docnum], name): reader.doc_field_length(docnum, name)
            for docnum in doc_ids
            for name in ("all", "title", "pinyin")
        }
        postings = {}
        for name in FIELDS:
            for text in reader.lexicon(name):
                matcher = reader.postings(name, text)
                items = set()
                while matcher.is_active():
                    items.add((doc_ids[matcher.id()], matcher.weight(), matcher.value()))
                    matcher.next()
                info = reader.term_info(name, text)  # block statistics, which the scorer's shortcuts read
                postings[(name, text)] = (items, info.min_length(), info.max_length(), info.max_weight())
        columns = {
            name: {doc_ids[n]: value for n, value in enumerate(reader.column_reader(name))}
            for name in ("lat_col", "lon_col", "filter_col", "rules_col")
        }
        return {"stored": stored, "lengths": lengths, "postings": postings, "columns": columns}


def test_the_term_pool_gives_the_postings_whoosh_sorts(tmp_path):
    rng = random.Random(7)
    words = [w.encode() for w in ("美沙酮", "methadon", "shelter", "a", "zz", "医院")]
    items = []
    for docnum in range(300):
        for field in rng.sample(["all", "title", "spell"], 2):
            for word in rng.sample(words, 3):
                items.append((field, word, docnum, rng.choice([1.0, 2.0, 0.5]), rng.choice([None, b"\x01", b"\x02"])))
    ours, theirs = TermPostingPool(), PostingPool(RamStorage(), None, limitmb=1)  # 1 MB: Whoosh spills to runs
    for item in items:
        ours.add(item)
        theirs.add(item)
    assert list(ours.iter_postings()) == list(theirs.iter_postings())
    assert ours.fieldnames == theirs.fieldnames


@pytest.mark.parametrize("procs", [1, 2])
def test_a_parallel_build_holds_what_a_plain_writer_writes(seeded_app, tmp_path, procs):
    documents = demo_documents(seeded_app)
    assert len(documents) > 40
    (tmp_path / "plain").mkdir()
    plain = index.create_in(tmp_path / "plain", make_schema())
    with plain.writer() as writer:
        for doc in documents:
            writer.add_document(**doc)
    (tmp_path / "built").mkdir()
    batches = [documents[i : i + 7] for i in range(0, len(documents), 7)]
    assert build_index(tmp_path / "built", make_schema(), iter(batches), procs=procs) == len(documents)
    built = index.open_dir(tmp_path / "built")
    assert len(built._segments()) == procs
    assert index_contents(built) == index_contents(plain)
    assert not (tmp_path / "built" / "MAIN.tmp").exists()


def test_a_failing_worker_fails_the_build_with_its_error(seeded_app, tmp_path):
    documents = demo_documents(seeded_app)
    bad = [documents[:5], [{**documents[5], "no_such_field": "x"}], *([documents[6:10]] * 20)]
    (tmp_path / "built").mkdir()
    with pytest.raises(IndexBuildError, match="no_such_field"):
        build_index(tmp_path / "built", make_schema(), iter(bad), procs=2)
