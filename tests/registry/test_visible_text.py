"""Free text refuses the characters that hide or reorder text (registry.validators), naming the field and the reason,
wherever it comes in: the validator itself (hypothesis), every free-text model field, the pages, the API, the
import, the services that take typed text that is not a model field, and the rows stored before the rule."""

import datetime
import unicodedata

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from housing.factories import ResidenceFactory, UnitFactory
from housing.models import Property, PropertyTypeChoices, Residence
from housing.services import residence_correct
from patrol.models import Visit
from patrol.services import visit_record
from persons.factories import EmployerFactory, PersonFactory
from persons.identity import make_resident_id
from persons.models import Person
from persons.services import person_check_unmask
from persons.validators import validate_person_name
from portal.services import appeal_create, submission_reject, submission_report_arrival
from registry.migration_operations import remove_hidden_characters
from registry.validators import (
    BIDI_CONTROLS,
    VisibleTextValidator,
    hidden_character,
    validate_visible_text,
    without_hidden_characters,
)

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e",
        "\u200f", "\u061c"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2061", "\u180e", "\U000e0041",
             "\ufff9", "\u2028", "\u2029"]
CONTROL = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800"]
HIDDEN = BIDI + INVISIBLE + CONTROL

# Every CharField and TextField of the apps that people type free text into has the validator; the others are
# named here with the reason they need none.
FREE_TEXT = {
    "registry.District.name", "registry.Station.name", "registry.Community.name", "registry.ApiToken.name",
    "persons.Person.hukou_address", "persons.Person.occupation", "persons.Employer.name", "persons.Employer.address",
    "persons.Employment.job_title", "housing.Landlord.address", "housing.Property.address", "housing.Unit.label",
    "housing.Residence.note", "patrol.Visit.note", "patrol.Inspection.notes", "patrol.ResidencePermit.number",
    "portal.Submission.rejection_reason", "portal.RatingAppeal.comment", "portal.RatingAppeal.answer",
}
NOT_FREE_TEXT = {
    # Person names: validate_person_name (letters only), which refuses the same characters first.
    "persons.Person.name", "housing.Landlord.name", "portal.Submission.name", "persons.Employer.contact_name",
    # Checked formats: document numbers and countries, phones, credit codes; codes typed in the admin.
    "persons.Person.document_number", "persons.Person.document_country", "persons.Person.phone",
    "housing.Landlord.document_number", "housing.Landlord.document_country", "housing.Landlord.phone",
    "portal.Submission.document_number", "portal.Submission.document_country", "portal.Submission.phone",
    "persons.Employer.uscc", "persons.Employer.contact_phone", "registry.District.code", "registry.Station.code",
    "registry.Community.code",
    # Written by the code, never typed: codes, keys, statuses, task and audit records (the reasons people give are
    # checked by the services that take them), notifications (made of checked fields), the import's file name.
    "registry.AuditEvent.actor_username", "registry.AuditEvent.object_type", "registry.AuditEvent.object_id",
    "registry.AuditEvent.reason", "registry.AuditEvent.via", "registry.ChangeLog.object_type",
    "registry.ChangeLog.object_id", "registry.RecoveryCodes.name", "registry.RecoveryCode.hint",
    "registry.RecoveryCode.code_hash", "registry.PasswordHistory.password", "registry.IdempotencyRecord.key",
    "registry.IdempotencyRecord.request_hash", "registry.Notification.key", "registry.Notification.kind",
    "registry.Notification.title", "registry.Notification.body", "registry.Notification.url",
    "registry.TaskRun.task", "registry.TaskRun.status", "registry.TaskRun.result", "patrol.PropertyRating.run",
    "housing.ImportJob.filename", "housing.ImportJob.language", "housing.ImportJob.failure_reason",
    "portal.Submission.reason", "registry.KeyCanary.ciphertext", "registry.KeyCanary.digest",
    "registry.AuditSeal.digest", "registry.AuditChainStart.digest",
}


def english(error: ValidationError) -> list[str]:
    """The error's messages in English: they are lazy, and read in whatever language is active when read."""
    with translation.override("en"):
        return error.messages


def hidden_characters():
    return st.sampled_from(HIDDEN)


def visible_text():
    """Any text a person could type: every category but the refused ones, with tabs and line breaks."""
    return st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"), include_characters="\t\n\r"))


# --- The validator ------------------------------------------------------------------------------------------

@given(visible_text())
def test_text_without_hidden_characters_is_accepted_as_it_is(text):
    assert validate_visible_text(text, field="Address") == text
    assert without_hidden_characters(text) == text


@given(visible_text(), hidden_characters(), visible_text())
def test_a_hidden_character_anywhere_is_refused_naming_the_field_its_position_and_code_point(before, char, after):
    with pytest.raises(ValidationError) as refused:
        validate_visible_text(before + char + after, field="address")
    error = refused.value.error_list[0]
    assert error.code == "hidden_character"
    message = english(refused.value)[0]
    assert message.startswith(f"Address: character {len(before) + 1} is ")
    assert f"U+{ord(char):04X}" in message


@given(st.text())
def test_removing_hidden_characters_leaves_text_that_is_accepted(text):
    cleaned = without_hidden_characters(text)
    assert hidden_character(cleaned) is None
    assert without_hidden_characters(cleaned) == cleaned


@pytest.mark.parametrize(("char", "reason"), [
    *[(c, "changes the order in which text is shown") for c in BIDI],
    *[(c, "is an invisible character") for c in INVISIBLE],
    *[(c, "is a control character") for c in CONTROL],
])
def test_each_kind_of_hidden_character_says_why_it_is_refused(char, reason):
    with pytest.raises(ValidationError) as refused:
        validate_visible_text(f"和平路{char}12号", field="address")
    assert reason in english(refused.value)[0]


def test_every_bidi_control_is_named_and_an_override_reads_as_such():
    assert set(BIDI) == BIDI_CONTROLS
    with pytest.raises(ValidationError) as refused:
        validate_visible_text("invoice\u202etxt.exe", field="note")
    assert "(U+202E RIGHT-TO-LEFT OVERRIDE)" in english(refused.value)[0]


@pytest.mark.parametrize("text", ["河南省郑州市金水区", "𠮷野家 3-201", "Nguyễn Văn An", "ئۈرۈمچى شەھىرى", "张三😀",
                                  "第一行\n第二行\r\n\t缩进", "全角　空格", "\ue000私用区字"])
def test_real_text_in_any_script_with_emoji_line_breaks_and_private_use_characters_is_accepted(text):
    assert validate_visible_text(text, field="note") == text


def test_the_message_is_translated_with_the_fields_label():
    with pytest.raises(ValidationError) as refused, translation.override("zh-hans"):
        Person._meta.get_field("hukou_address").run_validators("河南\u200b郑州")
    with translation.override("zh-hans"):
        assert refused.value.messages[0] == ("户籍地：第 3 个字符是不可见字符（U+200B ZERO WIDTH SPACE）。"
                                             "请删除它；如果是粘贴的内容，请重新输入。")


def test_the_validator_compares_by_its_label_so_migrations_see_no_change():
    assert VisibleTextValidator("address") == VisibleTextValidator("address")
    assert VisibleTextValidator("address") != VisibleTextValidator("note")
    assert VisibleTextValidator("note").deconstruct() == ("registry.validators.VisibleTextValidator", ("note",), {})


def test_names_refuse_hidden_characters_with_the_same_reason():
    with pytest.raises(ValidationError) as refused:
        validate_person_name("张\u202e三")
    assert refused.value.code == "hidden_character"
    assert english(refused.value)[0].startswith("Name: character 2 is a hidden control")


# --- Every free-text field --------------------------------------------------------------------------------

def _text_fields():
    for label in ("registry", "persons", "housing", "patrol", "portal", "workspace"):
        for model in apps.get_app_config(label).get_models():
            for field in model._meta.concrete_fields:
                typed = field.editable and not field.choices  # hashes, pinyin, tokens are written by the code
                if isinstance(field, models.CharField | models.TextField) and typed:
                    yield f"{label}.{model.__name__}.{field.name}", field


def test_every_free_text_field_has_the_validator_and_every_other_text_field_is_accounted_for():
    fields = dict(_text_fields())
    unaccounted = set(fields) - FREE_TEXT - NOT_FREE_TEXT
    assert unaccounted == set(), "a new text field: give it VisibleTextValidator, or say here why it needs none"
    assert (FREE_TEXT | NOT_FREE_TEXT) - set(fields) == set(), "names of fields that are gone"
    without = [name for name in FREE_TEXT if not any(isinstance(v, VisibleTextValidator)
                                                     for v in fields[name].validators)]
    assert without == []


@pytest.mark.parametrize("name", sorted(FREE_TEXT))
def test_each_free_text_field_refuses_a_bidi_override_naming_itself(name):
    app_label, model_name, field_name = name.split(".")
    field = apps.get_model(app_label, model_name)._meta.get_field(field_name)
    with pytest.raises(ValidationError) as refused:
        field.run_validators("abc\u202edef")
    with translation.override("en"):
        assert english(refused.value)[0].startswith(f"{str(field.verbose_name).capitalize()}: character 4 is")


# --- Pages, API, import ------------------------------------------------------------------------------------

def test_the_property_page_refuses_a_hidden_character_in_the_address_and_saves_nothing(client, staff_a, community_a):
    client.force_login(staff_a)
    response = client.post(reverse("housing:property_create"), {
        "address": "幸福路\u200b12号", "property_type": PropertyTypeChoices.RESIDENTIAL_FLAT,
        "community": community_a.pk, "landlord": "", "employer": "", "agreement_signed_on": ""},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Address: character 4 is an invisible character (U+200B ZERO WIDTH SPACE)" in response.content.decode()
    assert not Property.objects.exists()


def test_the_api_refuses_a_bidi_override_in_the_household_registration_address(staff_a, community_a):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(staff_a)
    unit = UnitFactory(property__community=community_a)
    born = datetime.date(1990, 6, 1)
    response = client.post("/api/v1/persons/register/", {
        "document_number": make_resident_id(birth_date=born, sex="M"), "name": "刘洋", "sex": "M",
        "birth_date": born.isoformat(), "unit": unit.pk, "start_date": datetime.date.today().isoformat(),
        "reason": "work", "hukou_address": "河南省\u202e市州郑"}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["hukou_address"] == [
        "Place of household registration: character 4 is a hidden control that changes the order in which text "
        "is shown (U+202E RIGHT-TO-LEFT OVERRIDE). Remove it, or retype the text if it was pasted."]
    assert not Person.objects.exists()


def test_the_import_reports_a_hidden_character_on_its_row_and_column_once(client, staff_a, community_a, settings,
                                                                          tmp_path, django_capture_on_commit_callbacks):
    from tests.housing.test_import import _csv, _row, _upload

    settings.VAR_DIR = tmp_path
    client.force_login(staff_a)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    unit = UnitFactory(property__community=community_a, label="101室", capacity=6)
    job = _upload(client, _csv([_row(unit), _row(unit, occupation="快递\u2066员")]),
                  django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.valid_rows == 1
    assert [(e["row"], e["message"]) for e in job.errors] == [
        (3, "Occupation: character 3 is a hidden control that changes the order in which text is shown "
            "(U+2066 LEFT-TO-RIGHT ISOLATE). Remove it, or retype the text if it was pasted.")]


# --- Services that take typed text that is not a model field -------------------------------------------------

def test_an_unmasking_reason_with_a_hidden_character_is_refused_before_it_reaches_the_audit_trail(officer_a):
    with translation.override("en"):
        with pytest.raises(ValidationError) as refused:
            person_check_unmask(user=officer_a, reason="court\u200b order")
        assert refused.value.message_dict["reason"][0].startswith("Reason: character 6 is an invisible character")


def test_a_correction_reason_a_visit_note_a_rejection_and_an_appeal_refuse_hidden_characters(
        officer_a, rental_a, landlord_a):
    unit = rental_a.units.first()
    residence = ResidenceFactory(unit=unit, start_date=datetime.date.today() - datetime.timedelta(days=30))
    with pytest.raises(ValidationError) as refused:
        residence_correct(residence=residence, reason_for_change="typo\u202e", reason="study")
    assert set(refused.value.message_dict) == {"reason_for_change"}
    with pytest.raises(ValidationError) as refused:
        visit_record(prop=rental_a, visited_on=datetime.date.today(), actor=officer_a, outcomes={},
                     note="all fine\ufeff")
    assert set(refused.value.message_dict) == {"note"}
    assert not Visit.objects.exists()
    with pytest.raises(ValidationError) as refused:
        appeal_create(prop=rental_a, component="inspection", comment="wrong\u2067date", actor=landlord_a.user)
    assert set(refused.value.message_dict) == {"comment"}
    submission = submission_report_arrival(
        prop=rental_a, unit=unit, actor=landlord_a.user, document_type="resident_id", name="王五",
        document_number=make_resident_id(birth_date=datetime.date(1991, 2, 3), sex="M"),
        date=datetime.date.today(), reason="work")
    with pytest.raises(ValidationError) as refused:
        submission_reject(submission=submission, actor=officer_a, reason="no\u200dsuch person")
    assert set(refused.value.message_dict) == {"rejection_reason"}


# --- Rows stored before the rule ------------------------------------------------------------------------------

def test_rows_stored_before_the_rule_lose_their_hidden_characters_and_can_be_saved_again(community_a):
    person = PersonFactory(hukou_address="河南省郑州市", occupation="厨师")
    Person.objects.filter(pk=person.pk).update(hukou_address="河南\u202e省\u200b郑州市", occupation="厨\u2028师")
    employer = EmployerFactory(name="甲公司")
    residence = ResidenceFactory(unit__property__community=community_a, note="ok")
    Residence.objects.filter(pk=residence.pk).update(note="line\u2029next\x07")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    remove_hidden_characters("persons", "Person", "hukou_address", "occupation").code(apps, editor)
    remove_hidden_characters("persons", "Employer", "name", "address").code(apps, editor)
    remove_hidden_characters("housing", "Residence", "note").code(apps, editor)

    person.refresh_from_db()
    residence.refresh_from_db()
    employer.refresh_from_db()
    assert (person.hukou_address, person.occupation) == ("河南省郑州市", "厨\n师")
    assert residence.note == "line\nnext"
    assert employer.name == "甲公司"
    person.full_clean()
    residence.full_clean()


def test_the_characters_named_in_the_issue_are_all_refused():
    named = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), *range(0x200B, 0x2010), 0x2060, 0xFEFF]]
    assert all(hidden_character(c) is not None for c in named)
    assert {unicodedata.category(c) for c in named} == {"Cf"}
