"""Language selection (the user's saved choice, else the session's, else Chinese) and the catalogues.

The compiled catalogues (.mo) are not in the repository. ``make`` compiles them, and so does the app
when it starts (``ensure_catalogues``): a .mo that is missing or older than its .po is compiled with
Babel's own compiler, into the package if it is writable, else into ``instance/translations``. Without a
usable Chinese catalogue the app does not start: the UI must never silently come up in English.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, session
from flask_babel import Babel, get_translations
from flask_login import current_user

from directory.geo.districts import DISTRICT_NAMES_EN

INTERFACE_LANGUAGES = {"zh": "中文", "en": "English"}  # the languages of the pages, each in its own words
SOURCE_LANGUAGE = "en"  # the messages in the code are English: no catalogue needed
DOMAIN = "messages"


class CatalogueError(RuntimeError):
    """A required message catalogue is missing or cannot be compiled."""


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def request_translations() -> NullTranslations:
    """This request's catalogue, looked up once per request and locale.

    Flask-Babel looks it up again for every text a template translates (some ten context lookups
    each, a tenth of a page's time); this keeps it beside the locale Flask-Babel chose, so that a
    ``force_locale`` block (a new locale object) still gets its own.
    """
    state = g.get("_flask_babel")
    locale = getattr(state, "babel_locale", None)
    kept = getattr(state, "lianjie_translations", None)
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    state = g.get("_flask_babel")  # made by the lookup on a request's first text
    if state is not None and getattr(state, "babel_locale", None) is not None:
        state.lianjie_translations = (state.babel_locale, translations)
    return translations


def _install_template_gettext(app: Flask) -> None:
    """Templates translate through ``request_translations`` (as Flask-Babel's own callables do, minus
    the repeated lookups)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


def local_name(name: str | None, alternate: str | None = None, locale: str | None = None) -> str:
    """A listing's name in the UI's language (``locale``, else the request's): its English alternate
    name in the English UI when it has one, else its own name. Services, organizations and districts
    (``district_name``) are shown through this one rule."""
    if locale is None:
        locale = select_locale()
    if locale == "en" and alternate and alternate.strip():
        return alternate.strip()
    return name or ""


def district_name(district: str | None, locale: str | None = None) -> str:
    """A district (stored by its Chinese name) in the UI's language."""
    return local_name(district, DISTRICT_NAMES_EN.get(district or ""), locale)


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def _compile(po: Path, mo: Path, language: str) -> None:
    """Compile ``po`` into ``mo`` (fuzzy entries included, as `make translations` does), atomically so
    that several workers starting at once never read half a file."""
    # Only when a catalogue must be compiled (a fresh checkout or a changed .po): babel's message tools take
    # about 0.15 s to import, which every worker start would pay otherwise.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import PoFileError, read_po

    try:
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN, abort_invalid=True)
    except (OSError, PoFileError, ValueError) as exc:
        raise CatalogueError(f"the {language} catalogue {po} cannot be read: {exc}") from exc
    mo.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".messages-", suffix=".mo", dir=mo.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write_mo(handle, catalog, use_fuzzy=True)
        os.chmod(temporary, 0o644)
        os.replace(temporary, mo)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fresh(mo: Path, po: Path) -> bool:
    return mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime


def ensure_catalogues(
    source: Path,
    fallback: Path,
    languages: Iterable[str],
    writable: Callable[[Path], bool] = _writable,
) -> Path:
    """Make sure every language's .mo is compiled from its current .po; return the directory to load
    them from (``source``, or ``fallback`` when ``source`` cannot be written). CatalogueError when a
    language's .po is missing or broken."""
    wanted = [lang for lang in languages if lang != SOURCE_LANGUAGE]
    pos = {}
    for language in wanted:
        po = source / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po.is_file():
            raise CatalogueError(
                f"the {language} message catalogue is missing: {po} (the UI would come up in English); "
                "restore directory/translations from the repository"
            )
        pos[language] = po
    stale = [lang for lang, po in pos.items() if not _fresh(po.with_suffix(".mo"), po)]
    if not stale:
        return source
    if all(writable(pos[lang].parent) for lang in stale):
        for language in stale:
            _compile(pos[language], pos[language].with_suffix(".mo"), language)
        return source
    # The package cannot be written (installed read-only): compile every language beside the instance.
    for language, po in pos.items():
        mo = fallback / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if not _fresh(mo, po):
            _compile(po, mo, language)
    return fallback


def _check_loaded(directory: Path, language: str) -> None:
    translations = Translations.load(str(directory), [language], DOMAIN)
    if not isinstance(translations, Translations) or not translations._catalog:  # NullTranslations: not found
        raise CatalogueError(f"the {language} message catalogue in {directory} could not be loaded")


def init_i18n(app: Flask, babel: Babel) -> None:
    default = app.config["BABEL_DEFAULT_LOCALE"]
    configured = app.config.get("BABEL_TRANSLATION_DIRECTORIES")
    if configured:  # compiled catalogues kept elsewhere on purpose: used as they are, but checked
        directories = [Path(d) for d in str(configured).split(";") if d]
        directory = next((d for d in directories if (d / default / "LC_MESSAGES" / f"{DOMAIN}.mo").exists()), None)
        if default != SOURCE_LANGUAGE:
            if directory is None:
                raise CatalogueError(f"no compiled {default} catalogue in BABEL_TRANSLATION_DIRECTORIES={configured}")
            _check_loaded(directory, default)
    else:
        source = Path(app.config.get("TRANSLATIONS_SOURCE") or Path(app.root_path) / "translations")
        directory = ensure_catalogues(source, Path(app.instance_path) / "translations", app.config["LANGUAGES"])
        if default != SOURCE_LANGUAGE:
            _check_loaded(directory, default)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(directory))
    _install_template_gettext(app)
    # The Babel object is shared by every app of the process and caches translations by locale alone:
    # a new app (a test's, or one whose catalogues were just compiled) must not get an older app's.
    domain = vars(babel).get("domain_instance")  # a cached_property, set by the first translated text
    if domain is not None:
        domain.cache.clear()

    @app.context_processor
    def inject_language():
        return {"current_language": select_locale(), "interface_languages": INTERFACE_LANGUAGES}

    app.jinja_env.globals.update(local_name=local_name, district_name=district_name)
