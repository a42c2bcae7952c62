"""The outbox cursor survives ids that commit out of order (PostgreSQL sequences) and rolled-back ids."""

from __future__ import annotations

import time

from sqlalchemy import func, select, text

from directory.catalog.models import Service
from directory.catalog.outbox import SearchChange
from directory.extensions import db
from directory.search.index import GAP_TTL_SECONDS, get_index


def _rename_behind_the_orm(service_id: str, name: str, change_id: int) -> None:
    """A catalog change and its outbox row, with the outbox id chosen (as a sequence hands them out)."""
    db.session.execute(text("UPDATE service SET name = :name WHERE id = :id"), {"name": name, "id": service_id})
    db.session.execute(
        text("INSERT INTO search_change (id, service_id, created_at) VALUES (:id, :sid, CURRENT_TIMESTAMP)"),
        {"id": change_id, "sid": service_id},
    )
    db.session.commit()


def test_a_lower_id_committed_later_is_still_applied(seeded_app):
    index = get_index(seeded_app)
    index.catch_up()
    latest = db.session.scalar(select(func.max(SearchChange.id)))
    first, second = db.session.scalars(select(Service.id).where(Service.status == "active").limit(2)).all()

    # Transaction B (id latest+2) commits first; transaction A (id latest+1) is still running.
    _rename_behind_the_orm(second, "后提交的名字", latest + 2)
    index.catch_up()
    assert index.cursor() == latest + 2
    assert set(index.gaps()) == {latest + 1}
    assert all(d["name"] == "后提交的名字" for d in index.documents_of(second))

    # A commits: its lower id is found through the remembered gap, not skipped.
    _rename_behind_the_orm(first, "先取号后提交", latest + 1)
    assert index.catch_up() == 1
    assert all(d["name"] == "先取号后提交" for d in index.documents_of(first))
    assert index.gaps() == {}


def test_a_rolled_back_id_is_forgotten_after_the_time_to_live(seeded_app):
    index = get_index(seeded_app)
    index.catch_up()
    cursor = index.cursor()
    # Two ids no committed row will ever hold (their transactions rolled back): one missed long ago.
    index._write_cursor(cursor, {-1: time.time() - GAP_TTL_SECONDS - 1, -2: time.time()})
    assert index.catch_up() == 0
    assert set(index.gaps()) == {-2}
    assert index.cursor() == cursor
