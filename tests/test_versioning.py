"""save_versioned: a form saves only over the version it was shown with, also when another save wins the race."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm.attributes import set_committed_value

from directory.extensions import db
from directory.referrals import services
from directory.referrals.models import Client
from directory.versioning import save_versioned


def _client(make_user) -> Client:
    client = services.create_client(make_user("caseworker", username="cw"), {"display_name": "阿芳"}, {})
    db.session.commit()
    return client


def _rename(client: Client, name: str):
    def apply() -> str:
        client.display_name = name
        return name

    return apply


def test_a_save_over_the_shown_version_goes_through(app, make_user):
    client = _client(make_user)
    assert save_versioned(client, str(client.version), _rename(client, "小芳")) == (True, "小芳")
    db.session.expire_all()
    assert client.display_name == "小芳" and client.version == 2


def test_a_form_shown_before_another_save_changes_nothing(app, make_user):
    client = _client(make_user)
    shown = str(client.version)
    assert save_versioned(client, shown, _rename(client, "第一")) == (True, "第一")
    assert save_versioned(client, shown, _rename(client, "第二")) == (False, None)
    db.session.expire_all()
    assert client.display_name == "第一"


def test_another_save_committed_after_the_check_is_a_conflict_too(app, make_user):
    client = _client(make_user)
    with db.engine.begin() as other:  # someone else saves after this request read the row
        other.execute(
            text("UPDATE client SET display_name = '别人', version = version + 1 WHERE id = :id"), {"id": client.id}
        )
    db.session.rollback()
    set_committed_value(client, "version", 1)  # what this request read before that save
    assert save_versioned(client, "1", _rename(client, "我的")) == (False, None)
    db.session.expire_all()
    assert (client.display_name, client.version) == ("别人", 2)
