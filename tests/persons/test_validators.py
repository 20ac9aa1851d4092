"""The identity, name, phone and employer-code rules of PRODUCT.md "Rules", checked at the validators.

No database: these are pure functions. Hypothesis drives the resident-ID properties (acceptance of
every number ``make_resident_id`` builds; rejection of every single substitution and every adjacent
transposition, which GB 11643's ISO 7064 MOD 11-2 check digit is guaranteed to detect).
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc
from stdnum.iso7064 import mod_11_2

from persons.choices import DocumentTypeChoices, SexChoices
from persons.identity import current_region_codes, make_resident_id
from persons.validators import (
    document_birth_date,
    document_sex,
    normalize_phone,
    region_code_ever_existed,
    validate_country_code,
    validate_document,
    validate_foreign_permanent_id,
    validate_hkmt_permit,
    validate_passport,
    validate_person_name,
    validate_resident_id,
    validate_uscc,
)

ID_CHARS = "0123456789X"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALID_USCC = "91110000600037341L"

HYPOTHESIS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_check_digit(body17: str) -> str:
    """Complete 17 characters with their ISO 7064 MOD 11-2 check digit (GB 11643)."""
    assert len(body17) == 17
    return body17 + mod_11_2.calc_check_digit(body17)


def rejection(validator, value) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validator(value)
    return info.value


def birth_dates():
    # Shanghai's "today" (TIME_ZONE) is never earlier than the machine's date.today() in practice;
    # the upper bound is the earlier of the two so no generated date is in the future.
    return st.dates(min_value=datetime.date(1900, 1, 1),
                    max_value=min(datetime.date.today(), timezone.localdate()))


sexes = st.sampled_from([SexChoices.MALE, SexChoices.FEMALE])


@st.composite
def valid_resident_ids(draw):
    born = draw(birth_dates())
    sex = draw(sexes)
    region = draw(st.sampled_from(current_region_codes()))
    number = make_resident_id(birth_date=born, sex=sex, region=region, rng=draw(st.randoms(use_true_random=False)))
    return number, born, sex


# --- Mainland resident ID: acceptance -----------------------------------------------------------

@HYPOTHESIS
@given(valid_resident_ids())
def test_every_number_built_by_make_resident_id_is_accepted_and_agrees_on_birth_date_and_sex(case):
    number, born, sex = case
    assert validate_resident_id(number) == number
    assert validate_document(DocumentTypeChoices.RESIDENT_ID, number) == number
    assert document_birth_date(DocumentTypeChoices.RESIDENT_ID, number) == born
    assert document_sex(DocumentTypeChoices.RESIDENT_ID, number) == sex


def test_every_current_region_code_used_by_the_generator_is_a_known_division_code():
    codes = current_region_codes()
    assert len(codes) > 2000
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert [code for code in codes if not region_code_ever_existed(code)] == []
    assert not any(code[:2] in {"71", "81", "82", "83"} for code in codes)


def test_spaces_and_dashes_are_stripped_from_an_accepted_number():
    number = with_check_digit("11010119900307123")
    spaced = f"{number[:6]} {number[6:14]}-{number[14:]}"
    assert validate_resident_id(spaced) == number


def test_lower_case_x_check_digit_is_normalised_to_upper_case():
    number = next(
        candidate
        for candidate in (with_check_digit(f"11010519850612{seq:03d}") for seq in range(1000))
        if candidate.endswith("X")
    )
    assert validate_resident_id(number.lower()) == number
    assert validate_resident_id(number) == number


# --- Mainland resident ID: typing mistakes -------------------------------------------------------

@HYPOTHESIS
@given(valid_resident_ids(), st.data())
def test_any_single_character_substitution_is_rejected(case, data):
    number = case[0]
    position = data.draw(st.integers(min_value=0, max_value=17), label="position")
    replacement = data.draw(st.sampled_from([c for c in ID_CHARS if c != number[position]]), label="char")
    mistyped = number[:position] + replacement + number[position + 1:]
    error = rejection(validate_resident_id, mistyped)
    # MOD 11-2 catches it at the check digit; an 'X' before the last position is a format error.
    expected = "format" if replacement == "X" and position < 17 else "checksum"
    assert error.code == expected


def test_all_180_single_substitutions_of_one_number_are_rejected():
    number = with_check_digit("44030519791224201")
    assert validate_resident_id(number) == number
    accepted = []
    for position in range(18):
        for replacement in ID_CHARS:
            if replacement == number[position]:
                continue
            mistyped = number[:position] + replacement + number[position + 1:]
            try:
                validate_resident_id(mistyped)
            except ValidationError:
                continue
            accepted.append(mistyped)
    assert accepted == []


@HYPOTHESIS
@given(valid_resident_ids(), st.data())
def test_transposing_two_adjacent_different_digits_is_rejected(case, data):
    number = case[0]
    positions = [i for i in range(17) if number[i] != number[i + 1] and number[i + 1] != "X"]
    if not positions:  # pragma: no cover - a number with all digits equal cannot carry a real date
        return
    i = data.draw(st.sampled_from(positions), label="position")
    swapped = number[:i] + number[i + 1] + number[i] + number[i + 2:]
    error = rejection(validate_resident_id, swapped)
    assert error.code == "checksum"


# --- Mainland resident ID: structural rules ------------------------------------------------------

def test_a_15_digit_number_is_refused_asking_for_the_18_digit_number():
    error = rejection(validate_resident_id, "110101850612123")
    assert error.code == "legacy_15"
    with translation.override("en"):
        message = error.messages[0]
    assert message.startswith("ID number:")
    assert "15-digit" in message and "18-digit" in message


@pytest.mark.parametrize("length", [17, 19])
def test_a_number_of_the_wrong_length_is_refused(length):
    error = rejection(validate_resident_id, "1" * length)
    assert error.code == "length"


def test_a_birth_date_in_the_future_is_rejected_even_with_a_correct_check_digit():
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    number = with_check_digit(f"110101{tomorrow:%Y%m%d}123")
    assert mod_11_2.is_valid(number)
    error = rejection(validate_resident_id, number)
    assert error.code == "birth_date"


def test_a_birth_date_of_today_is_accepted():
    today = timezone.localdate()
    number = with_check_digit(f"110101{today:%Y%m%d}124")
    assert validate_resident_id(number) == number


@pytest.mark.parametrize("date_digits", ["19900230", "19901301", "19900100", "19000229"])
def test_a_date_that_does_not_exist_is_rejected(date_digits):
    number = with_check_digit(f"110101{date_digits}123")
    error = rejection(validate_resident_id, number)
    assert error.code == "birth_date"


def test_february_29_of_a_leap_year_is_accepted():
    number = with_check_digit("11010120000229123")
    assert validate_resident_id(number) == number


@pytest.mark.parametrize("region", ["999999", "000000", "110199"])
def test_a_region_code_that_never_existed_is_rejected(region):
    number = with_check_digit(f"{region}19900307123")
    error = rejection(validate_resident_id, number)
    assert error.code == "region"


def test_a_retired_region_code_is_accepted_even_for_someone_born_after_it_was_retired():
    # 110103 崇文区 was merged into 东城区 in 2010; numbers issued there before stay valid, and a
    # number records where it was first issued, which need not be the birth year.
    number = with_check_digit("11010320150601123")
    assert validate_resident_id(number) == number


def test_a_region_code_created_after_the_birth_date_is_accepted_unlike_stdnum():
    # 110112 通州区 exists since 1997; someone born in 1980 may well have been issued a number there.
    number = with_check_digit("11011219800515123")
    assert validate_resident_id(number) == number
    # python-stdnum ties the region to the birth year and rejects the real number (PRODUCT.md).
    assert not stdnum_ric.is_valid(number)


# --- Hong Kong/Macao/Taiwan residence permits ------------------------------------------------------

@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_hkmt_residence_permits_are_accepted(prefix):
    number = with_check_digit(f"{prefix}19880808124")
    assert validate_hkmt_permit(number) == number
    assert validate_document(DocumentTypeChoices.HKMT_PERMIT, number) == number
    assert document_birth_date(DocumentTypeChoices.HKMT_PERMIT, number) == datetime.date(1988, 8, 8)
    assert document_sex(DocumentTypeChoices.HKMT_PERMIT, number) == SexChoices.FEMALE  # 17th digit 4: even


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000", "811000"])
def test_a_resident_id_starting_with_81_82_or_83_is_rejected(prefix):
    number = with_check_digit(f"{prefix}19880808123")
    error = rejection(validate_resident_id, number)
    assert error.code == "region"


@pytest.mark.parametrize("prefix", ["110101", "840000", "810100"])
def test_a_permit_without_an_hkmt_prefix_is_rejected(prefix):
    number = with_check_digit(f"{prefix}19880808123")
    error = rejection(validate_hkmt_permit, number)
    assert error.code == "region"


def test_a_permit_with_a_wrong_check_digit_is_rejected():
    number = with_check_digit("81000019880808123")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert rejection(validate_hkmt_permit, wrong).code == "checksum"


# --- Foreign permanent residence ID --------------------------------------------------------------

def test_a_foreign_permanent_residence_id_with_leading_9_is_accepted():
    # 2023 format: 9, province 11, country 840, birth date, sequence, check digit.
    number = with_check_digit("91184019850612135")
    assert validate_foreign_permanent_id(number) == number
    assert validate_document(DocumentTypeChoices.FOREIGN_PERMANENT_ID, number) == number
    assert document_birth_date(DocumentTypeChoices.FOREIGN_PERMANENT_ID, number) == datetime.date(1985, 6, 12)
    assert document_sex(DocumentTypeChoices.FOREIGN_PERMANENT_ID, number) == SexChoices.MALE


def test_a_foreign_permanent_residence_id_not_starting_with_9_is_rejected():
    number = with_check_digit("81184019850612135")
    assert rejection(validate_foreign_permanent_id, number).code == "format"


def test_a_foreign_permanent_residence_id_with_a_wrong_check_digit_is_rejected():
    number = with_check_digit("91184019850612135")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert rejection(validate_foreign_permanent_id, wrong).code == "checksum"


# --- Passports --------------------------------------------------------------------------------

@pytest.mark.parametrize(("entered", "stored"), [
    ("E12345678", "E12345678"),
    ("g1234 5678", "G12345678"),
    ("X1234567", "X1234567"),
    ("AB12345", "AB12345"),
    ("12345", "12345"),
])
def test_passport_numbers_of_5_to_20_letters_and_digits_are_accepted_and_upper_cased(entered, stored):
    assert validate_passport(entered) == stored
    assert validate_document(DocumentTypeChoices.PASSPORT, entered) == stored


@pytest.mark.parametrize("entered", ["1234", "A" * 21, "AB#12345", "E1234567/8", "护照12345", ""])
def test_malformed_passport_numbers_are_rejected(entered):
    assert rejection(validate_passport, entered).code == "format"


def test_passports_have_no_birth_date_or_sex_in_the_number():
    assert document_birth_date(DocumentTypeChoices.PASSPORT, "E12345678") is None
    assert document_sex(DocumentTypeChoices.PASSPORT, "E12345678") is None


@pytest.mark.parametrize(("entered", "stored"), [("USA", "USA"), ("kor", "KOR"), (" deu ", "DEU")])
def test_passport_country_codes_are_three_letters_upper_cased(entered, stored):
    assert validate_country_code(entered) == stored


@pytest.mark.parametrize("entered", ["", "US", "USAA", "840", "U5A"])
def test_passport_country_codes_that_are_not_three_letters_are_rejected(entered):
    assert rejection(validate_country_code, entered).code == "country"


def test_an_unknown_document_type_is_rejected():
    assert rejection(lambda v: validate_document("driving_licence", v), "E12345678").code == "invalid_choice"


# --- Names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "张三",
    "阿卜杜拉·艾买提",
    "𠮷野",  # U+20BB7, CJK Extension B, outside the BMP
    "Mary-Jane O'Neil",
    "José García",
    "Nguyễn Văn An",
    "김민준",
    "Ольга",
])
def test_names_in_any_script_with_middle_dot_spaces_hyphens_are_accepted(name):
    assert validate_person_name(name) == name


def test_a_name_outside_the_bmp_is_counted_in_characters_not_utf16_units():
    assert validate_person_name("𠮷" * 100) == "𠮷" * 100
    assert rejection(validate_person_name, "𠮷" * 101).code == "max_length"


def test_a_decomposed_accent_is_normalised_to_nfc():
    assert validate_person_name("Jose\u0301") == "Jos\u00e9"


@pytest.mark.parametrize("dot", ["\u30fb", "\u2022", "\u2027", "\uff65", "\u00b7"])
def test_look_alike_dots_in_a_name_are_normalised_to_the_middle_dot(dot):
    assert validate_person_name(f"阿卜杜拉{dot}艾买提") == "阿卜杜拉·艾买提"


def test_surrounding_and_repeated_spaces_in_a_name_are_collapsed():
    assert validate_person_name("  Mary   Jane ") == "Mary Jane"


def test_a_name_of_exactly_100_characters_is_accepted():
    assert validate_person_name("张" * 100) == "张" * 100


@pytest.mark.parametrize(("name", "code"), [
    ("张3", "invalid_character"),
    ("Agent 007", "invalid_character"),
    ("张三😀", "invalid_character"),
    ("<script>", "invalid_character"),
    ("Robert'); DROP TABLE", "invalid_character"),
    ("张" * 101, "max_length"),
    ("-Anna", "invalid_character"),
    ("·艾买提", "invalid_character"),
    ("", "required"),
    ("   ", "required"),
])
def test_names_with_digits_symbols_emoji_or_too_long_are_rejected(name, code):
    assert rejection(validate_person_name, name).code == code


# --- Phones -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("entered", "stored"), [
    ("13812345678", "13812345678"),
    ("+86 138-1234-5678", "13812345678"),
    ("0086 13812345678", "13812345678"),
    ("010-12345678", "010-12345678"),
    ("(010) 12345678", "010-12345678"),
    ("021 87654321", "021-87654321"),
    ("0755 1234567", "0755-1234567"),
    ("07551234567", "0755-1234567"),
])
def test_mobile_and_landline_numbers_are_accepted_and_stored_normalised(entered, stored):
    assert normalize_phone(entered) == stored


@pytest.mark.parametrize("entered", [
    "12345", "23812345678", "1381234567", "138123456789", "12812345678", "010-123456", "phone", "",
])
def test_numbers_that_are_neither_a_mobile_nor_a_landline_are_rejected(entered):
    assert rejection(normalize_phone, entered).code == "phone"


# --- Employers: unified social credit code ---------------------------------------------------------

def test_a_valid_unified_social_credit_code_is_accepted():
    assert validate_uscc(VALID_USCC) == VALID_USCC
    assert validate_uscc(VALID_USCC.lower()) == VALID_USCC


@pytest.mark.parametrize("department_and_type", ["N2", "N3", "Y1", "A1"])
def test_a_uscc_whose_registering_department_is_a_letter_is_accepted(department_and_type):
    # GB 32100: positions 1-2 (registering department, organisation type) are digits OR capital
    # letters; N = agriculture (rural collective economic organisations, issued since 2018),
    # Y = other, A = the Central Military Commission's establishment office.
    body = f"{department_and_type}330110MA27XY3C1"
    code = body + stdnum_uscc.calc_check_digit(body)
    assert validate_uscc(code) == code


def test_every_single_character_change_to_a_uscc_is_rejected():
    accepted = []
    for position in range(18):
        for replacement in USCC_ALPHABET:
            if replacement == VALID_USCC[position]:
                continue
            changed = VALID_USCC[:position] + replacement + VALID_USCC[position + 1:]
            try:
                validate_uscc(changed)
            except ValidationError:
                continue
            accepted.append(changed)
    assert accepted == []


def test_a_uscc_with_a_wrong_check_character_says_so():
    body = VALID_USCC[:17]
    wrong = body + next(c for c in USCC_ALPHABET if c != stdnum_uscc.calc_check_digit(body))
    error = rejection(validate_uscc, wrong)
    with translation.override("en"):
        assert error.messages == ["Unified social credit code: the last character (check character) does not match."]


@pytest.mark.parametrize("entered", [VALID_USCC[:17], VALID_USCC + "0", ""])
def test_a_uscc_of_the_wrong_length_is_rejected(entered):
    error = rejection(validate_uscc, entered)
    with translation.override("en"):
        assert error.messages == ["Unified social credit code: must be 18 characters."]


# --- Every rejection names its field, in English and in Chinese -------------------------------

ID = with_check_digit("11010119900307123")
WRONG_CHECK = ID[:17] + ("0" if ID[17] != "0" else "1")

FIELD_MESSAGES = [
    # (validator, rejected input, English field, Chinese field)
    (validate_resident_id, "110101850612123", "ID number", "证件号码"),
    (validate_resident_id, "12345", "ID number", "证件号码"),
    (validate_resident_id, WRONG_CHECK, "ID number", "证件号码"),
    (validate_resident_id, "1101011990030712A", "ID number", "证件号码"),
    (validate_resident_id, with_check_digit("99999919900307123"), "ID number", "证件号码"),
    (validate_resident_id, with_check_digit("11010119900230123"), "ID number", "证件号码"),
    (validate_resident_id, with_check_digit("11010129990101123"), "ID number", "证件号码"),
    (validate_hkmt_permit, ID, "Residence permit number", "居住证号码"),
    (validate_hkmt_permit, "810000880808123", "Residence permit number", "居住证号码"),
    (validate_foreign_permanent_id, ID, "Permanent residence ID number", "永久居留身份证号码"),
    (validate_passport, "AB#1", "Passport number", "护照号码"),
    (validate_country_code, "US", "Issuing country", "签发国家"),
    (validate_person_name, "张3", "Name", "姓名"),
    (validate_person_name, "张" * 101, "Name", "姓名"),
    (validate_person_name, "", "Name", "姓名"),
    (validate_person_name, "-Anna", "Name", "姓名"),
    (normalize_phone, "12345", "Phone", "联系电话"),
    (validate_uscc, VALID_USCC[:17], "Unified social credit code", "统一社会信用代码"),
    (validate_uscc, VALID_USCC[:17] + "0", "Unified social credit code", "统一社会信用代码"),
    (validate_uscc, "9111000060003734IL", "Unified social credit code", "统一社会信用代码"),
]


@pytest.mark.parametrize(("validator", "value", "en_field", "zh_field"), FIELD_MESSAGES,
                         ids=[f"{case[0].__name__}-{i}" for i, case in enumerate(FIELD_MESSAGES)])
def test_every_rejection_message_starts_with_the_field_name_in_english_and_chinese(
        validator, value, en_field, zh_field):
    error = rejection(validator, value)
    with translation.override("en"):
        english = error.messages
    assert len(english) == 1
    assert english[0].startswith(f"{en_field}: "), english[0]
    assert "%(" not in english[0]
    with translation.override("zh-hans"):
        chinese = error.messages
    if chinese == english:
        return  # not (yet) in the compiled zh-Hans catalogue: only the English naming is checked
    assert chinese[0].startswith(f"{zh_field}："), chinese[0]
    assert "%(" not in chinese[0]
    # A translated message must not leave the field name or the reason half in English.
    assert en_field not in chinese[0]
