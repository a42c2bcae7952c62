"""Links in listings: http(s) web pages, mailto and tel only — never javascript:, data:, file: … .

One rule for the agency forms, the HSDS import and the pages (a row stored before the rule existed is
shown as text, not as a link).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

ALLOWED_SCHEMES = ("http", "https", "mailto", "tel")


def is_safe_url(value: str | None) -> bool:
    """True for http(s)://host…, mailto:… and tel:…, written plainly (no spaces or control characters)."""
    if not value or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return value[: len(scheme) + 3].lower() == scheme + "://" and bool(parts.hostname)
    if scheme in ("mailto", "tel"):
        return bool(value[len(scheme) + 1 :])
    return False


class SafeURL:
    """WTForms validator: an http(s), mailto or tel link, with a clear message otherwise."""

    message = _l("A link can only be an http, https, mailto or tel link, such as https://example.org.")

    def __call__(self, form, field):
        if field.data and not is_safe_url(field.data.strip()):
            raise ValidationError(self.message)
