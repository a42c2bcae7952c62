"""Phone numbers as people write them in China: read, check and write them one way. Pure functions.

Accepted: mobiles (``138 0013 8000``, ``+86 13800138000``), landlines with their area code
(``020-12345678``, ``(020) 1234 5678``, ``0757-8123456``), national 400/800 numbers (``400-123-4567``),
short service numbers (``12345``, ``120``, ``95555``) — each optionally with an extension
(``020-12345678 转 801``, ``020-12345678-801``, ``ext. 801``, ``分机801``). A landline without its area
code is refused: on a list that travels by WeChat, nobody can tell which city it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("mobile", "landline", "national", "service")
_EXTENSION = re.compile(r"^(?P<number>.*?)\s*(?:转|分机|ext\.?|x)\s*(?P<ext>\d{1,6})$", re.IGNORECASE)
_ALLOWED = re.compile(r"^[+\d\s\-()（）]+$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_NATIONAL = re.compile(r"^[48]00\d{7}$")
_SERVICE = re.compile(r"^(?:1\d{2,4}|9[56]\d{3,6})$")
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")


class PhoneError(ValueError):
    """Not a phone number we can read; the message says why (in English, for the form to translate)."""


@dataclass(frozen=True)
class PhoneNumber:
    kind: str  # one of KINDS
    number: str  # written the usual way: "138 0013 8000", "020-12345678", "400-123-4567", "12345"
    extension: str | None = None

    @property
    def digits(self) -> str:
        return re.sub(r"\D", "", self.number)

    @property
    def tel_uri(self) -> str:
        """``tel:`` link; an extension is dialled after a pause (``,``)."""
        return f"tel:{self.digits}" + (f",{self.extension}" if self.extension else "")

    def __str__(self) -> str:
        return self.number + (f" 转 {self.extension}" if self.extension else "")


def _area_code_length(digits: str) -> int:
    """010 and 020–029 are three digits long; every other area code (0xxx) four."""
    return 3 if digits[1] in "12" else 4


def parse_phone(text: str) -> PhoneNumber:
    """One number as typed; raises ``PhoneError`` when it is not a number of the kinds above."""
    raw = (text or "").strip()
    if not raw:
        raise PhoneError("empty")
    extension = None
    match = _EXTENSION.match(raw)
    if match:
        raw, extension = match["number"], match["ext"]
    if not _ALLOWED.match(raw):
        raise PhoneError("characters")
    groups = [g for g in re.split(r"[\s\-()（）]+", raw) if g]
    digits = "".join(groups).lstrip("+")
    if raw.startswith("+") and not digits.startswith("86"):
        raise PhoneError("foreign")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif raw.startswith("+86") or (digits.startswith("86") and len(digits) == 13):
        digits = digits[2:]
        if digits and not digits.startswith("1"):
            digits = "0" + digits  # +86 20 12345678: the area code loses its leading 0
    if _MOBILE.match(digits):
        return PhoneNumber("mobile", f"{digits[:3]} {digits[3:7]} {digits[7:]}", extension)
    if _NATIONAL.match(digits):
        return PhoneNumber("national", f"{digits[:3]}-{digits[3:6]}-{digits[6:]}", extension)
    if _SERVICE.match(digits):
        return PhoneNumber("service", digits, extension)
    if digits.startswith("0") and len(digits) >= 10:
        area_len = _area_code_length(digits)
        area, local = digits[:area_len], digits[area_len:]
        if not _LOCAL.match(local) and extension is None and len(groups) >= 3 and len(groups[-1]) <= 6:
            # 020-12345678-801: the last group is the extension
            extension = groups[-1]
            local = local[: len(local) - len(extension)]
        if _LOCAL.match(local):
            return PhoneNumber("landline", f"{area}-{local}", extension)
        raise PhoneError("landline")
    if _LOCAL.match(digits):
        raise PhoneError("area_code")
    raise PhoneError("unknown")


@dataclass(frozen=True)
class PhoneLine:
    phone: PhoneNumber
    description: str | None


_NUMBER_PART = re.compile(
    r"^(?P<number>[+(（]?\d[\d\s\-()（）]*\d(?:\s*(?:转|分机|ext\.?|x)\s*\d{1,6})?)\s*(?P<rest>.*)$", re.IGNORECASE
)


def parse_phone_line(line: str) -> PhoneLine:
    """``"020-12345678 转 801 预约专线"``: a number, then optionally a note about it."""
    line = line.strip()
    match = _NUMBER_PART.match(line)
    if not match:
        raise PhoneError("unknown")
    rest = match["rest"].strip(" ,，:：;；()（）")
    return PhoneLine(parse_phone(match["number"]), rest or None)


def tel_uri(number: str, extension: str | None = None) -> str:
    """A ``tel:`` link for a stored number (digits only; an extension after a pause)."""
    digits = re.sub(r"[^\d+]", "", number or "")
    return f"tel:{digits}" + (f",{extension}" if extension else "")
