"""The message catalogues are compiled when the app starts if the .mo files are missing or older than the
.po files (any way of running, not only `make`), and a missing Chinese catalogue stops the app loudly.

Each test works on a copy of directory/translations in a tmp dir (TRANSLATIONS_SOURCE), never on the
package's own catalogues, which other tests are using."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from directory import create_app
from directory.i18n import CatalogueError, ensure_catalogues
from tests.conftest import ROOT, make_config

SOURCE = ROOT / "directory" / "translations"


@pytest.fixture
def translations(tmp_path) -> Path:
    copy = tmp_path / "translations"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("*.mo"))
    return copy


def _po(root: Path) -> Path:
    return root / "zh" / "LC_MESSAGES" / "messages.po"


def _mo(root: Path) -> Path:
    return root / "zh" / "LC_MESSAGES" / "messages.mo"


def _home(tmp_path: Path, translations: Path) -> str:
    app = create_app(make_config(tmp_path, tmp_path / "db.sqlite3", TRANSLATIONS_SOURCE=str(translations)))
    response = app.test_client().get("/login")  # a page that needs no database
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _mark(translations: Path, english: str, chinese: str) -> None:
    """Give one message a recognisable translation, to see which catalogue the app uses."""
    po = _po(translations)
    text = po.read_text(encoding="utf-8")
    old = f'msgid "{english}"\nmsgstr "'
    assert old in text
    start = text.index(old) + len(old)
    end = text.index('"\n', start)
    po.write_text(text[:start] + chinese + text[end:], encoding="utf-8")


def test_missing_catalogues_are_compiled_at_start(tmp_path, translations):
    _mark(translations, "Log in", "登录（新编译）")
    assert not _mo(translations).exists()
    page = _home(tmp_path, translations)
    assert _mo(translations).exists()
    assert "登录（新编译）" in page and "Log in" not in page


def test_a_catalogue_older_than_its_po_is_compiled_again(tmp_path, translations):
    assert ensure_catalogues(translations, tmp_path / "fallback", ["zh"]) == translations
    _mark(translations, "Log in", "登录（已更新）")
    old = _mo(translations).stat().st_mtime - 100
    os.utime(_mo(translations), (old, old))
    assert "登录（已更新）" in _home(tmp_path, translations)


def test_a_read_only_package_gets_its_catalogues_compiled_into_the_instance(tmp_path, translations):
    _mark(translations, "Log in", "登录（实例目录）")
    folder = _mo(translations).parent
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who may write anywhere (root)")
        page = _home(tmp_path, translations)
    finally:
        folder.chmod(0o755)
    assert not _mo(translations).exists()
    assert (tmp_path / "instance" / "translations" / "zh" / "LC_MESSAGES" / "messages.mo").exists()
    assert "登录（实例目录）" in page


def test_a_read_only_package_dir_is_handled_even_as_root(tmp_path, translations):
    """Root may write anywhere, so the fallback is asked for by pointing at an unwritable place."""
    _mark(translations, "Log in", "登录（备用目录）")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    fallback = tmp_path / "fallback"
    result = ensure_catalogues(translations, fallback, ["zh"], writable=lambda path: False)
    assert result == fallback and (fallback / "zh" / "LC_MESSAGES" / "messages.mo").exists()
    assert not _mo(translations).exists()


def test_without_the_chinese_catalogue_the_app_does_not_start(tmp_path, translations):
    _po(translations).unlink()
    with pytest.raises(CatalogueError, match="zh"):
        create_app(make_config(tmp_path, tmp_path / "db.sqlite3", TRANSLATIONS_SOURCE=str(translations)))


def test_a_broken_chinese_catalogue_stops_the_app_with_a_clear_error(tmp_path, translations):
    _po(translations).write_text('msgid "Log in"\nmsgstr "登录\n\nmsgid', encoding="utf-8")
    with pytest.raises(CatalogueError, match="messages.po"):
        create_app(make_config(tmp_path, tmp_path / "db.sqlite3", TRANSLATIONS_SOURCE=str(translations)))


def test_configured_translation_directories_are_checked(tmp_path, translations):
    ensure_catalogues(translations, tmp_path / "fallback", ["zh"])
    config = make_config(tmp_path, tmp_path / "db.sqlite3", BABEL_TRANSLATION_DIRECTORIES=str(translations))
    assert "登录" in create_app(config).test_client().get("/login").get_data(as_text=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CatalogueError, match="BABEL_TRANSLATION_DIRECTORIES"):
        create_app(make_config(tmp_path, tmp_path / "db.sqlite3", BABEL_TRANSLATION_DIRECTORIES=str(empty)))
