import csv
import datetime
import io
import random

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from housing import imports
from housing.factories import LandlordFactory, ResidenceFactory, UnitFactory
from housing.models import ImportJob, Residence
from housing.tasks import import_commit_task, import_validate_task
from persons.identity import make_resident_id
from persons.models import Person
from registry.factories import make_user
from registry.models import AuditEvent, ChangeLog
from registry.roles import RoleChoices

UPLOAD = reverse("imports:upload")
TODAY = datetime.date.today()
START = TODAY - datetime.timedelta(days=10)
_rng = random.Random(2260)


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path, client):
    settings.VAR_DIR = tmp_path  # uploads and progress files go here, not into the project's var/
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def unit_a(community_a):
    return UnitFactory(property__community=community_a, label="101室", capacity=6)


@pytest.fixture
def unit_b(community_b):
    return UnitFactory(property__community=community_b, label="201室")


@pytest.fixture
def staff_client(client, staff_a):
    client.force_login(staff_a)
    return client


def _number(sex="M", year=1990):
    return make_resident_id(birth_date=datetime.date(year, 3, 7), sex=sex, rng=_rng)


def _row(unit, **overrides):
    row = {"document_type": "resident_id", "document_number": _number(), "document_country": "", "name": "张伟",
           "sex": "M", "birth_date": "", "phone": "13800138000", "hukou_address": "河南省郑州市",
           "occupation": "快递员", "property_registration_number": unit.property.registration_number,
           "property_address": "", "unit_label": unit.label, "start_date": START.isoformat(), "reason": "work"}
    row.update(overrides)
    return row


def _csv(rows, *, columns=imports.COLUMN_KEYS, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(key, "") for key in columns])
    return out.getvalue().encode(encoding)


def _upload(client, content: bytes, capture, name="residents.csv") -> ImportJob:
    with capture(execute=True):
        response = client.post(UPLOAD, {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])


def _confirm(client, job, capture) -> ImportJob:
    with capture(execute=True) as callbacks:
        response = client.post(reverse("imports:job_confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    job.confirm_callbacks = len(callbacks)
    return job


def _problems(job):
    return {(entry["row"], entry["field"]) for entry in job.errors}


# ---- the dry run ----------------------------------------------------------------------------------


@pytest.fixture
def mixed_file(unit_a, unit_b):
    """Rows 2, 4 and 10 are good; every other row has something wrong."""
    good_1, good_2, good_3 = _row(unit_a, name="李娜", sex="F", document_number=_number("F")), _row(unit_a), _row(
        unit_a, name="王芳", sex="女", document_number=_number("F", 1985), reason="务工")
    bad_checksum = _number()
    bad_checksum = bad_checksum[:-1] + ("0" if bad_checksum[-1] != "0" else "1")
    twin = _number()
    rows = [
        good_1,                                                                   # 2
        _row(unit_a, document_number=bad_checksum),                               # 3 check digit
        good_2,                                                                   # 4
        _row(unit_a, unit_label="999室"),                                          # 5 no such unit
        _row(unit_a, phone="12345", reason="holiday"),                            # 6 two problems
        _row(unit_a, start_date=(TODAY + datetime.timedelta(days=3)).isoformat()),  # 7 in the future
        _row(unit_a, document_number=twin),                                       # 8 same person as row 9
        _row(unit_a, document_number=twin, name="张伟"),                           # 9
        _row(unit_b),                                                             # 10 another station's unit
        good_3,                                                                   # 11
        _row(unit_a, start_date="07/03/2026", birth_date="1990-13-01"),           # 12 dates
    ]
    return rows, [good_1, good_2, good_3]


def test_dry_run_reports_every_bad_row_with_its_row_and_column_and_saves_nothing(
        staff_client, mixed_file, django_capture_on_commit_callbacks):
    rows, _good = mixed_file
    before = (Person.objects.count(), Residence.objects.count(), ChangeLog.objects.count(),
              AuditEvent.objects.filter(action="create").count())
    job = _upload(staff_client, _csv(rows), django_capture_on_commit_callbacks)
    assert job.status == "validated"
    assert (job.total_rows, job.valid_rows, job.error_rows) == (11, 3, 8)
    assert _problems(job) >= {
        (3, "document_number"), (5, "unit_label"), (6, "phone"), (6, "reason"), (7, "start_date"),
        (8, "document_number"), (9, "document_number"), (10, "property_registration_number"),
        (12, "start_date"), (12, "birth_date"),
    }
    assert {entry["row"] for entry in job.errors} == {3, 5, 6, 7, 8, 9, 10, 12}
    assert job.bad_rows == [3, 5, 6, 7, 8, 9, 10, 12]
    messages = {(entry["row"], entry["field"]): entry["message"] for entry in job.errors}
    assert "check digit" in messages[(3, "document_number")]
    assert [entry["field"] for entry in job.errors if entry["row"] == 3] == ["document_number"], \
        "an unreadable number is one problem, not also a missing date of birth"
    assert "row 9" in messages[(8, "document_number")] and "row 8" in messages[(9, "document_number")]
    assert messages[(7, "start_date")] == "Moved in: cannot be in the future."
    assert job.expected == {"created_persons": 3, "moved_persons": 0, "new_residences": 3, "unchanged": 0}
    after = (Person.objects.count(), Residence.objects.count(), ChangeLog.objects.count(),
             AuditEvent.objects.filter(action="create").count())
    assert after == before

    page = staff_client.get(reverse("imports:job_detail", args=[job.pk]))
    assert page.status_code == 200
    assert "3 valid rows, 8 with errors" in page.content.decode()
    assert "Import the 3 valid rows" in page.content.decode()


def test_confirming_imports_exactly_the_good_rows(staff_client, staff_a, unit_a, mixed_file,
                                                   django_capture_on_commit_callbacks):
    rows, good = mixed_file
    job = _confirm(staff_client, _upload(staff_client, _csv(rows), django_capture_on_commit_callbacks),
                   django_capture_on_commit_callbacks)
    assert job.status == "done", job.failure_reason
    assert job.result == {"created_persons": 3, "moved_persons": 0, "new_residences": 3, "unchanged": 0}
    imported = {(p.document_number, p.name) for p in Person.objects.all()}
    assert imported == {(row["document_number"], row["name"]) for row in good}
    residences = Residence.objects.select_related("person")
    assert {(r.unit_id, r.start_date, r.source, r.status, r.created_by_id) for r in residences} == {
        (unit_a.pk, START, "import", "active", staff_a.pk)}
    wang = Person.objects.get(name="王芳")
    assert (wang.sex, wang.birth_date, residences.get(person=wang).reason) == ("F", datetime.date(1985, 3, 7), "work")
    # Created through the service, so the audit trail names the importing user.
    assert AuditEvent.objects.filter(action="create", object_type="persons.person", actor_id=staff_a.pk,
                                     via="import").count() == 3
    assert not any(imports.imports_dir().iterdir()), "the stored upload is deleted once imported"
    # The feed entries are numbered in the background once committed, not by the next reader.
    assert ChangeLog.objects.filter(object_type="persons.person").count() >= 3
    assert not ChangeLog.objects.filter(seq__isnull=True).exists()

    report = staff_client.get(reverse("imports:job_detail", args=[job.pk])).content.decode()
    assert "Import finished" in report


def test_importing_the_same_file_again_changes_nothing(staff_client, unit_a, django_capture_on_commit_callbacks):
    content = _csv([_row(unit_a), _row(unit_a, name="李娜", sex="F", document_number=_number("F"))])
    first = _confirm(staff_client, _upload(staff_client, content, django_capture_on_commit_callbacks),
                     django_capture_on_commit_callbacks)
    assert first.result["created_persons"] == 2
    state = (list(Person.objects.values_list("pk", "version")), list(Residence.objects.values_list("pk", "version")),
             ChangeLog.objects.count(), AuditEvent.objects.exclude(action="view").count())

    second = _upload(staff_client, content, django_capture_on_commit_callbacks)
    assert second.sha256 == first.sha256
    assert (second.valid_rows, second.expected["unchanged"], second.expected["new_residences"]) == (2, 2, 0)
    page = staff_client.get(reverse("imports:job_detail", args=[second.pk])).content.decode()
    assert "This same file was already imported" in page
    second = _confirm(staff_client, second, django_capture_on_commit_callbacks)
    assert second.status == "done"
    assert second.result == {"created_persons": 0, "moved_persons": 0, "new_residences": 0, "unchanged": 2}
    assert state == (list(Person.objects.values_list("pk", "version")),
                     list(Residence.objects.values_list("pk", "version")),
                     ChangeLog.objects.count(), AuditEvent.objects.exclude(action="view").count())


def test_a_known_person_moves_here_and_their_old_registration_ends(staff_client, unit_a, community_a,
                                                                    django_capture_on_commit_callbacks):
    old = ResidenceFactory(unit=UnitFactory(property__community=community_a), start_date=START - datetime.timedelta(
        days=100))
    person = old.person
    row = _row(unit_a, document_number=person.document_number, name=person.name, sex=person.sex, phone="")
    job = _confirm(staff_client, _upload(staff_client, _csv([row]), django_capture_on_commit_callbacks),
                   django_capture_on_commit_callbacks)
    assert job.result == {"created_persons": 0, "moved_persons": 1, "new_residences": 1, "unchanged": 0}
    old.refresh_from_db()
    assert (old.status, old.end_date) == ("ended", START)
    assert person.residences.get(status="active").unit == unit_a


def test_a_unit_of_another_station_is_reported_exactly_like_one_that_does_not_exist(
        staff_client, unit_a, unit_b, django_capture_on_commit_callbacks):
    rows = [_row(unit_b), _row(unit_a, property_registration_number="999-9999999"),
            _row(unit_a, property_registration_number="", property_address=unit_b.property.address)]
    job = _upload(staff_client, _csv(rows), django_capture_on_commit_callbacks)
    messages = {entry["row"]: entry["message"] for entry in job.errors}
    template = "Property registration number: no property “%s” in your area."
    assert messages[2] == template % unit_b.property.registration_number
    assert messages[3] == template % "999-9999999"
    assert messages[4].startswith("Property address: no property at")
    assert unit_b.property.address in messages[4]


def test_an_address_finds_the_property_and_a_wrong_address_beside_the_number_is_caught(
        staff_client, unit_a, django_capture_on_commit_callbacks):
    rows = [_row(unit_a, property_registration_number="", property_address=unit_a.property.address),
            _row(unit_a, property_address="别的路1号")]
    job = _upload(staff_client, _csv(rows), django_capture_on_commit_callbacks)
    assert job.valid_rows == 1 and _problems(job) == {(3, "property_address")}


def test_xlsx_with_chinese_headers_values_a_title_row_and_excel_dates(staff_client, unit_a,
                                                                      django_capture_on_commit_callbacks):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["甲派出所 流动人口登记表"])
    sheet.append(["证件类型", "证件号码", "姓名", "性别", "出生日期", "联系电话", "户籍地", "房屋编号", "房间号",
                  "入住日期", "居住事由", "备注"])
    number = _number("F", 1992)
    sheet.append(["居民身份证", number, "阿依古丽·买买提", "女", datetime.datetime(1992, 3, 7), 13912345678, "新疆喀什",
                  unit_a.property.registration_number, unit_a.label, datetime.datetime.combine(START, datetime.time()),
                  "投亲靠友", "随丈夫来"])
    sheet.append(["身份证", 1.10101199003071e17, "赵六", "男", None, None, None, unit_a.property.registration_number,
                  unit_a.label, START, "经商", ""])
    out = io.BytesIO()
    workbook.save(out)
    job = _upload(staff_client, out.getvalue(), django_capture_on_commit_callbacks, name="登记表.xlsx")
    assert job.status == "validated", job.failure_reason
    assert (job.total_rows, job.valid_rows) == (2, 1)
    assert _problems(job) == {(4, "document_number")}
    assert "Excel stored it as a number" in job.errors[0]["message"]
    assert job.errors[0]["column"] == "证件号码"
    assert job.ignored_columns == ["备注"]
    job = _confirm(staff_client, job, django_capture_on_commit_callbacks)
    person = Person.objects.get()
    assert (person.name, person.sex, person.phone) == ("阿依古丽·买买提", "F", "13912345678")
    assert person.document_number == number
    assert person.residences.get().reason == "family"


def test_csv_saved_by_excel_in_china_gb18030_without_bom(staff_client, unit_a, django_capture_on_commit_callbacks):
    columns = ["证件号码", "姓名", "性别", "房屋编号", "房间号", "入住日期", "居住事由"]
    number = _number()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerow([number, "𠮷田·王", "男", unit_a.property.registration_number, unit_a.label,
                     START.strftime("%Y/%m/%d"), "务工"])
    content = out.getvalue().encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    job = _confirm(staff_client, _upload(staff_client, content, django_capture_on_commit_callbacks),
                   django_capture_on_commit_callbacks)
    assert job.status == "done", (job.failure_reason, job.errors)
    assert Person.objects.get().name == "𠮷田·王"


def test_messages_are_in_the_uploaders_language(client, staff_a, unit_a, django_capture_on_commit_callbacks):
    client.force_login(staff_a)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    job = _upload(client, _csv([_row(unit_a, phone="12345")]), django_capture_on_commit_callbacks)
    assert job.language == "zh-hans"
    from persons.validators import normalize_phone

    def message(language):
        with translation.override(language):
            with pytest.raises(ValidationError) as caught:
                normalize_phone("12345")
            return str(caught.value.messages[0])

    assert job.errors[0]["message"] == message("zh-hans") != message("en")


# ---- the import: atomic, once -------------------------------------------------------------------------


def test_the_import_is_all_or_nothing_when_a_confirmed_row_fails(staff_client, unit_a, community_a,
                                                                  django_capture_on_commit_callbacks):
    other = UnitFactory(property__community=community_a, label="102室")
    rows = [_row(unit_a), _row(unit_a, name="李娜", sex="F", document_number=_number("F")), _row(other)]
    job = _upload(staff_client, _csv(rows), django_capture_on_commit_callbacks)
    assert job.valid_rows == 3
    other.delete()  # between the check and the import
    job = _confirm(staff_client, job, django_capture_on_commit_callbacks)
    assert job.status == "failed"
    assert job.failure_reason.startswith("Row 4 was refused, so nothing was imported")
    assert (Person.objects.count(), Residence.objects.count()) == (0, 0)
    page = staff_client.get(reverse("imports:job_detail", args=[job.pk])).content.decode()
    assert "Nothing was imported." in page


def test_confirming_twice_and_running_the_task_twice_import_once(staff_client, unit_a,
                                                                  django_capture_on_commit_callbacks):
    job = _upload(staff_client, _csv([_row(unit_a)]), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as first:
        staff_client.post(reverse("imports:job_confirm", args=[job.pk]))
    with django_capture_on_commit_callbacks(execute=False) as second:
        staff_client.post(reverse("imports:job_confirm", args=[job.pk]))
    assert (len(first), len(second)) == (1, 0), "a second click queues nothing"
    # The broker may still deliver the task twice (acks_late): the conditional claim runs it once.
    assert import_commit_task.delay(job.pk, "en").get() == "done"
    created = AuditEvent.objects.filter(action="create").count()
    assert import_commit_task.delay(job.pk, "en").get() is None
    assert (Person.objects.count(), Residence.objects.count()) == (1, 1)
    assert AuditEvent.objects.filter(action="create").count() == created
    assert import_validate_task.delay(job.pk, "en").get() is None, "a checked job is not checked again"


def test_tasks_for_a_job_that_is_gone_do_nothing(db):
    assert import_validate_task.delay(987654, "en").get() is None
    assert import_commit_task.delay(987654, "en").get() is None


def test_unreadable_files_and_missing_columns_fail_with_the_reason(staff_client, unit_a,
                                                                   django_capture_on_commit_callbacks):
    missing = _upload(staff_client, _csv([_row(unit_a)], columns=["document_number", "name", "unit_label"]),
                      django_capture_on_commit_callbacks)
    assert missing.status == "failed"
    assert missing.failure_reason.startswith("Columns missing: start_date, reason, property_registration_number")
    xls = _upload(staff_client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, django_capture_on_commit_callbacks,
                  name="old.xls.csv")
    assert xls.status == "failed" and ".xls" in xls.failure_reason
    response = staff_client.post(UPLOAD, {"file": SimpleUploadedFile("notes.pdf", b"%PDF-1.4")})
    assert response.status_code == 400 and ImportJob.objects.count() == 2


def test_the_template_has_every_column_and_an_example_row_that_passes_the_checks(
        staff_client, django_capture_on_commit_callbacks):
    for fmt in ("csv", "xlsx"):
        response = staff_client.get(reverse("imports:template", args=[fmt]))
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
        job = _upload(staff_client, response.content, django_capture_on_commit_callbacks, name=f"template.{fmt}")
        assert job.total_rows == 1
        # The example's property belongs to nobody's area here: that is its only problem.
        assert _problems(job) == {(2, "property_registration_number")}
    header = next(csv.reader(io.StringIO(staff_client.get(reverse("imports:template", args=["csv"]))
                                         .content.decode("utf-8-sig"))))
    assert header == list(imports.COLUMN_KEYS)


# ---- pages and access ----------------------------------------------------------------------------------


@pytest.fixture
def job_a(staff_a, unit_a, django_capture_on_commit_callbacks):
    uploader = Client(HTTP_ACCEPT_LANGUAGE="en")
    uploader.force_login(staff_a)
    return _upload(uploader, _csv([_row(unit_a)]), django_capture_on_commit_callbacks)


def _job_pages(job):
    return [reverse("imports:job_detail", args=[job.pk]), reverse("imports:job_progress", args=[job.pk]),
            reverse("imports:job_errors", args=[job.pk])]


def test_anonymous_is_sent_to_login(client, job_a):
    for url in [UPLOAD, reverse("imports:template", args=["csv"]), *_job_pages(job_a)]:
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


@pytest.mark.parametrize("role", [RoleChoices.LANDLORD, RoleChoices.SUPERVISOR])
def test_users_who_may_not_register_residents_may_not_import(client, role, district, job_a):
    user = make_user(role, username="someone", district=district if role == RoleChoices.SUPERVISOR else None)
    if role == RoleChoices.LANDLORD:
        LandlordFactory(user=user)
    client.force_login(user)
    assert client.get(UPLOAD).status_code == 403
    assert client.post(UPLOAD, {"file": SimpleUploadedFile("a.csv", b"x")}).status_code == 403
    assert client.post(reverse("imports:job_confirm", args=[job_a.pk])).status_code == 403


def test_another_users_job_does_not_exist_for_them(client, staff_b, station_a, job_a):
    colleague = make_user(RoleChoices.OFFICER, username="colleague", station=station_a)
    for user in (staff_b, colleague):
        client.force_login(user)
        for url in _job_pages(job_a):
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(reverse("imports:job_confirm", args=[job_a.pk])).status_code == 404
    job_a.refresh_from_db()
    assert job_a.confirmed_at is None


def test_the_progress_partial_polls_while_busy_and_reloads_the_page_when_done(staff_client, job_a):
    url = reverse("imports:job_progress", args=[job_a.pk])
    job_a.confirmed_at = job_a.validated_at
    job_a.save()
    busy = staff_client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in busy.content.decode() and "HX-Refresh" not in busy
    page = staff_client.get(reverse("imports:job_detail", args=[job_a.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page
    job_a.status = "done"
    job_a.save()
    done = staff_client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true" and "every 1s" not in done.content.decode()


def test_the_problem_list_downloads_as_csv(staff_client, unit_a, django_capture_on_commit_callbacks):
    job = _upload(staff_client, _csv([_row(unit_a, phone="1")]), django_capture_on_commit_callbacks)
    response = staff_client.get(reverse("imports:job_errors", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Column", "Problem"] and rows[1][:2] == ["2", "phone"]


def test_the_problem_list_quotes_a_column_or_message_a_spreadsheet_would_run(staff_client, job_a):
    job_a.errors = [{"row": 2, "field": "occupation", "column": "=HYPERLINK(\"x\")", "message": "\uff1d1+2"},
                    {"row": 3, "field": "phone", "column": "phone", "message": "Phone: 11 digits."}]
    job_a.save()
    response = staff_client.get(reverse("imports:job_errors", args=[job_a.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1:] == [["2", "'=HYPERLINK(\"x\")", "'\uff1d1+2"], ["3", "phone", "Phone: 11 digits."]]


def test_tidy_closes_unconfirmed_and_interrupted_jobs_and_deletes_their_files(job_a):
    from django.utils import timezone

    assert imports.job_path(job_a).exists()
    assert imports.imports_tidy(now=timezone.now()) == 0
    assert imports.imports_tidy(now=timezone.now() + datetime.timedelta(days=8)) == 1
    job_a.refresh_from_db()
    assert job_a.status == "failed" and not imports.job_path(job_a).exists()


def test_import_tasks_have_time_limits_and_worker_children_a_memory_cap(settings):
    from registry.celery import app

    for task in (import_validate_task, import_commit_task):
        assert task.soft_time_limit == settings.IMPORT_TASK_SOFT_TIME_LIMIT
        assert task.soft_time_limit < task.time_limit == settings.IMPORT_TASK_TIME_LIMIT
    # In KiB: a worker child left above it after a task is replaced by a fresh one.
    assert app.conf.worker_max_memory_per_child == settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD <= 300 * 1024


def test_a_check_past_its_soft_time_limit_fails_with_a_message(staff_client, unit_a, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    from celery.exceptions import SoftTimeLimitExceeded

    def too_slow(job, sheet):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(imports, "_dry_run", too_slow)
    job = _upload(staff_client, _csv([_row(unit_a)]), django_capture_on_commit_callbacks)
    assert (job.status, job.failure_reason) == (
        "failed", "The check took longer than allowed; split the file into smaller ones.")
    assert not any(imports.imports_dir().iterdir()), "the stored upload is deleted"


def test_an_import_past_its_soft_time_limit_is_rolled_back_with_a_message(staff_client, unit_a, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    from celery.exceptions import SoftTimeLimitExceeded

    rows = [_row(unit_a), _row(unit_a, name="李娜", sex="F", document_number=_number("F"))]
    job = _upload(staff_client, _csv(rows), django_capture_on_commit_callbacks)
    real_import_rows = imports._import_rows

    def too_slow(job, rows):
        real_import_rows(job, rows)  # every row written, then the limit strikes before the commit
        assert Person.objects.count() == 2
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(imports, "_import_rows", too_slow)
    job = _confirm(staff_client, job, django_capture_on_commit_callbacks)
    assert job.status == "failed"
    assert job.failure_reason.startswith("The import took longer than allowed, so nothing was imported")
    assert (Person.objects.count(), Residence.objects.count()) == (0, 0)
