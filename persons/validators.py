"""Validators for the identity rules in PRODUCT.md "Rules".

Each raises ``ValidationError`` whose message names the field and the reason; messages are
translated (zh-Hans and English). The check-digit arithmetic comes from python-stdnum; the region
check reads python-stdnum's division-code data but accepts a code that exists *or ever existed*,
because the prefix records where the number was issued, not where or when the holder was born
(stdnum's ``cn.ric`` ties the two together and so rejects real numbers).
"""

import datetime
import re
import unicodedata
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import numdb
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_2

from registry.validators import validate_visible_text

from .choices import DocumentTypeChoices, SexChoices

HKMT_PREFIXES = {"81": "HK", "82": "MO", "83": "TW"}
NAME_MAX_LENGTH = 100
# The middle dot of transliterated names (阿卜杜拉·艾买提) and the look-alikes people type for it.
NAME_DOTS = {"\u00b7", "\u30fb", "\u2022", "\u2027", "\uff65"}
NAME_SEPARATORS = {" ", "-", "'", "\u2019"}


def normalize_document_number(value: str) -> str:
    """Strip spaces and dashes and upper-case a trailing 'x' (GB 11643 allows 'X' last)."""
    return re.sub(r"[\s\-]", "", value or "").upper()


@lru_cache(maxsize=4096)
def region_code_ever_existed(code: str) -> bool:
    """True if a six-digit division code is, or once was, in GB/T 2260."""
    parts = numdb.get("cn/loc").info(code)
    # A full match is a province part plus a four-digit county part with a name.
    return len(parts) == 2 and bool(parts[1][1].get("county"))


def _birth_date(number: str, field: str) -> datetime.date:
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("%(field)s: characters 7–14 (%(digits)s) are not a real date of birth."),
            code="birth_date",
            params={"field": field, "digits": number[6:14]},
        ) from None
    if born > timezone.localdate() or born.year < 1880:
        raise ValidationError(
            _("%(field)s: the date of birth %(date)s in the number is not possible."),
            code="birth_date",
            params={"field": field, "date": born.isoformat()},
        )
    return born


def _check_digit(number: str, field: str) -> None:
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise ValidationError(
            _("%(field)s: use 17 digits followed by a digit or X."),
            code="format",
            params={"field": field},
        )
    if mod_11_2.calc_check_digit(number[:17]) != number[17]:
        raise ValidationError(
            _("%(field)s: the last character (check digit) does not match the first 17; "
              "please check the number for a typing mistake."),
            code="checksum",
            params={"field": field},
        )


def _length_18(number: str, field: str) -> None:
    if len(number) == 15 and number.isdigit():
        raise ValidationError(
            _("%(field)s: old 15-digit numbers are no longer accepted; "
              "please enter the 18-digit number from the current card."),
            code="legacy_15",
            params={"field": field},
        )
    if len(number) != 18:
        raise ValidationError(
            _("%(field)s: must be 18 characters; %(count)d were entered."),
            code="length",
            params={"field": field, "count": len(number)},
        )


def validate_resident_id(value: str) -> str:
    """Mainland resident identity card number (GB 11643); returns it normalised."""
    field = _("ID number")
    number = normalize_document_number(value)
    _length_18(number, field)
    _check_digit(number, field)
    if number[:2] in HKMT_PREFIXES or not region_code_ever_existed(number[:6]):
        raise ValidationError(
            _("%(field)s: the first six digits %(code)s are not a division code that exists "
              "or ever existed."),
            code="region",
            params={"field": field, "code": number[:6]},
        )
    _birth_date(number, field)
    return number


def validate_hkmt_permit(value: str) -> str:
    """Residence permit for Hong Kong, Macao and Taiwan residents (prefix 81/82/83)."""
    field = _("Residence permit number")
    number = normalize_document_number(value)
    _length_18(number, field)
    _check_digit(number, field)
    if number[:2] not in HKMT_PREFIXES or number[2:6] != "0000":
        raise ValidationError(
            _("%(field)s: must start with 810000, 820000 or 830000."),
            code="region",
            params={"field": field},
        )
    _birth_date(number, field)
    return number


def validate_foreign_permanent_id(value: str) -> str:
    """Foreign permanent residence ID card (2023 format: 18 characters, leading 9)."""
    field = _("Permanent residence ID number")
    number = normalize_document_number(value)
    _length_18(number, field)
    _check_digit(number, field)
    if number[0] != "9":
        raise ValidationError(
            _("%(field)s: must start with 9."), code="format", params={"field": field}
        )
    _birth_date(number, field)
    return number


def validate_passport(value: str) -> str:
    field = _("Passport number")
    number = normalize_document_number(value)
    if not re.fullmatch(r"[A-Z0-9]{5,20}", number):
        raise ValidationError(
            _("%(field)s: use 5 to 20 letters and digits."), code="format", params={"field": field}
        )
    return number


def validate_country_code(value: str) -> str:
    code = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValidationError(
            _("Issuing country: use the three-letter code printed in the passport, e.g. USA or KOR."),
            code="country",
        )
    return code


DOCUMENT_VALIDATORS = {
    DocumentTypeChoices.RESIDENT_ID: validate_resident_id,
    DocumentTypeChoices.HKMT_PERMIT: validate_hkmt_permit,
    DocumentTypeChoices.FOREIGN_PERMANENT_ID: validate_foreign_permanent_id,
    DocumentTypeChoices.PASSPORT: validate_passport,
}


def validate_document(document_type: str, number: str) -> str:
    """Validate ``number`` for its type and return it normalised."""
    try:
        validator = DOCUMENT_VALIDATORS[document_type] if isinstance(document_type, str) else None
        if validator is None:
            raise KeyError(document_type)
    except KeyError:
        raise ValidationError(_("Document type: choose one from the list."), code="invalid_choice") from None
    return validator(number)


def document_birth_date(document_type: str, number: str) -> datetime.date | None:
    if document_type == DocumentTypeChoices.PASSPORT:
        return None
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def document_sex(document_type: str, number: str) -> str | None:
    """GB 11643: the 17th digit is odd for men and even for women."""
    if document_type == DocumentTypeChoices.PASSPORT:
        return None
    return SexChoices.MALE if int(number[16]) % 2 else SexChoices.FEMALE


def normalize_name(value: str) -> str:
    value = unicodedata.normalize("NFC", (value or "").strip())
    value = re.sub(r"\s+", " ", value)
    # Unify the look-alike dots to the standard middle dot U+00B7.
    return "".join("\u00b7" if ch in NAME_DOTS else ch for ch in value)


def validate_person_name(value: str) -> str:
    """Any Unicode letters (CJK extension planes too), '·', and spaces/hyphens in Latin names."""
    name = normalize_name(value)
    if not name:
        raise ValidationError(_("Name: this field is required."), code="required")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("Name: at most %(max)d characters; %(count)d were entered."),
            code="max_length",
            params={"max": NAME_MAX_LENGTH, "count": len(name)},
        )
    validate_visible_text(name, field=_("Name"))  # bidi controls and invisible characters, with their reason
    for ch in name:
        category = unicodedata.category(ch)
        if category[0] in "LM" or ch == "\u00b7" or ch in NAME_SEPARATORS:
            continue
        raise ValidationError(
            _("Name: the character “%(char)s” is not allowed; use letters, '·', spaces or hyphens."),
            code="invalid_character",
            params={"char": ch},
        )
    if name[0] in NAME_SEPARATORS | {"\u00b7"} or name[-1] in NAME_SEPARATORS | {"\u00b7"}:
        raise ValidationError(
            _("Name: must start and end with a letter."), code="invalid_character"
        )
    return name


_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0(?:[12]\d|[3-9]\d{2})\d{7,8}")


def normalize_phone(value: str) -> str:
    """Digits only, without +86/0086; landlines as area code, a dash, then the number."""
    digits = re.sub(r"[\s\-()（）]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if _MOBILE.fullmatch(digits):
        return digits
    if _LANDLINE.fullmatch(digits):
        area = 3 if digits[1] in "12" else 4
        return f"{digits[:area]}-{digits[area:]}"
    raise ValidationError(
        _("Phone: enter an 11-digit mobile number starting with 1, "
          "or a landline with its area code, e.g. 010-12345678."),
        code="phone",
    )


def validate_phone(value: str) -> str:
    return normalize_phone(value)


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def validate_uscc(value: str) -> str:
    """Unified social credit code (GB 32100): 18 characters with a check character.

    stdnum's ``uscc.validate`` wants the first 8 characters to be digits, but GB 32100 allows a
    letter as the registering department and entity type (N agriculture, Y other, A military
    establishment office...), so only the check arithmetic is taken from it.
    """
    number = uscc.compact(value or "")
    reason = None
    if len(number) != 18:
        reason = _("must be 18 characters")
    elif any(ch not in USCC_ALPHABET for ch in number):
        reason = _("use digits and capital letters except I, O, S, V and Z")
    elif not number[2:8].isdigit():
        reason = _("characters 3–8 are the region code and must be digits")
    elif uscc.calc_check_digit(number[:17]) != number[17]:
        reason = _("the last character (check character) does not match")
    if reason:
        raise ValidationError(_("Unified social credit code: %(reason)s."), code="uscc", params={"reason": reason})
    return number
