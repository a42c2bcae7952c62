"""Words for the codes that several packages show: one definition each (English msgids, Chinese in the
translations).

The catalog's own vocabularies stay in ``directory.catalog.forms``, the eligibility rules' in
``directory.eligibility.explain`` and the referrals' in ``directory.referrals.labels``; what more than one
of them shows lives here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# A client's sex, as the facts form, the client record, the rule editor and the agency see it.
SEX_LABELS = {"female": _l("Female"), "male": _l("Male")}

# The languages a service is offered in: (code, label) for forms, filters and pages …
LANGUAGE_CHOICES = [
    ("zh", _l("Mandarin")),
    ("yue", _l("Cantonese")),
    ("en", _l("English")),
    ("hak", _l("Hakka")),
    ("nan", _l("Min Nan")),
]
# … and the name stored with a service's language (HSDS ``language.name``), in Chinese.
SERVICE_LANGUAGE_NAMES = {"zh": "普通话", "yue": "粤语", "en": "English", "hak": "客家话", "nan": "闽南语"}
