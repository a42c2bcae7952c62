"""Several processes keeping one index in step must neither corrupt it nor lose an update."""

import contextlib
import multiprocessing
import time
from pathlib import Path

from sqlalchemy import select
from whoosh.index import LockError

from directory import create_app
from directory.catalog.models import Service
from directory.extensions import db
from directory.search.index import expected_doc_ids, get_index
from tests.conftest import make_config


def _updater(tmp: str, database_uri: str, seconds: float) -> None:
    app = create_app(make_config(Path(tmp), database_uri, SEARCH_LOCK_TIMEOUT=0.5))
    with app.app_context():
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(LockError):  # another updater holds the index: try again
                get_index(app).catch_up()
            db.session.rollback()
            time.sleep(0.005)


def test_concurrent_updaters_lose_nothing(seeded_app, tmp_path):
    database_uri = seeded_app.config["SQLALCHEMY_DATABASE_URI"]
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_updater, args=(str(tmp_path), database_uri, 4.0)) for _ in range(2)]
    for worker in workers:
        worker.start()
    services = db.session.scalars(select(Service).where(Service.status == "active").limit(40)).all()
    expected = {}
    for round_no, service in enumerate(services):
        service.name = f"并发测试{round_no}号"
        expected[service.id] = service.name
        if round_no % 7 == 3:
            service.status = "inactive"
            expected[service.id] = None
        db.session.commit()
        time.sleep(0.05)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    index = get_index(seeded_app)
    index.catch_up()
    for service_id, name in expected.items():
        documents = index.documents_of(service_id)
        if name is None:
            assert documents == []
        else:
            assert documents and all(doc["name"] == name for doc in documents)
    assert index.indexed_doc_ids() == expected_doc_ids()


def _rebuilder(tmp: str, database_uri: str, index_dir: str, results) -> None:
    from directory.search.index import SearchIndex
    from directory.search.synonyms import Synonyms

    app = create_app(make_config(Path(tmp), database_uri))
    with app.app_context():
        other = Synonyms([["托育", "daycare", "nursery"]])  # not the groups the index was built with
        index = SearchIndex(index_dir, synonyms=other)
        results.put(index.rebuild(only_if_stale=True))


def test_servers_that_find_a_stale_index_rebuild_it_once(seeded_app, tmp_path):
    """Each server process rebuilds an index built with other synonyms when it starts; two starting
    together must not build into the same directory at once, nor both rebuild."""
    index_dir = seeded_app.config["SEARCH_INDEX_DIR"]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    args = (str(tmp_path), seeded_app.config["SQLALCHEMY_DATABASE_URI"], index_dir, results)
    workers = [context.Process(target=_rebuilder, args=args) for _ in range(2)]
    for worker in workers:
        worker.start()
    counts = sorted(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert counts[0] == 0 and counts[1] == len(expected_doc_ids())
