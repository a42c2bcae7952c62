"""The Chinese catalogue covers every user-facing string in the code and templates."""

from babel.messages.pofile import read_po

from tests.conftest import ROOT, extract_messages

PO = ROOT / "directory" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def test_every_message_has_a_chinese_translation(tmp_path):
    pot = extract_messages(tmp_path / "messages.pot")
    with pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(wanted - translated)
    assert not missing, f"untranslated (run `make extract` and translate): {missing}"


def test_templates_translate_in_the_request_language_and_in_a_forced_one(app):
    """Templates keep the request's catalogue once looked up; a ``force_locale`` block (a summary
    written in a manager's language) still gets its own, and the request's comes back after it."""
    from flask import render_template_string
    from flask_babel import force_locale

    text = "{{ _('Home') }} {{ ngettext('%(num)s refusal so far', '%(num)s refusals so far', 2) }}"
    with app.test_request_context("/"):
        chinese = render_template_string(text)
        assert chinese.startswith("首页 ") and "2" in chinese
        with force_locale("en"):
            assert render_template_string(text) == "Home 2 refusals so far"
            with force_locale("zh"):
                assert render_template_string(text) == chinese
            assert render_template_string(text) == "Home 2 refusals so far"
        assert render_template_string(text) == chinese
