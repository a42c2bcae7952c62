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
