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
