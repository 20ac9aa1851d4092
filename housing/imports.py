"""Import residents with their unit from a CSV or XLSX file: upload, dry run, confirm, import.

Every row goes through the rules the desk form and the API use (``housing.import_rows``), ending with the
registration service (``registrations_check``; ``registrations_prepare`` and ``registrations_write``, the two
halves of ``registrations_apply``, which ``person_register`` calls for one entry). The dry run runs the
service's check, which writes nothing, so it reports exactly what the import would refuse; the import checks
again and writes the confirmed rows in chunks of a thousand, in one transaction: all of them or none. The
columns and reading a file are ``housing.import_sheet``'s. Tasks (``housing.tasks``, which also queues the dry
run and the import after commit) and views (``housing.views_import``) only call the functions here. The column
reference is docs/import.md.
"""

import codecs
import csv
import datetime
import gc
import hashlib
import io
import logging
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from stdnum.iso7064 import mod_11_2

from persons.choices import DocumentTypeChoices, SexChoices
from registry.bulk import copies_in_background
from registry.scoping import scope_for
from registry.tabular import ImportFileError
from registry.tasks import changes_settle_task
from registry.uploads import check_upload_size

from .import_files import Progress, imports_dir, job_path, remove_files
from .import_rows import (
    CREATED,
    MOVED,
    RETURNING,
    UNCHANGED,
    UnitFinder,
    check_rows,
    entry_errors,
    mark_duplicates,
    outcome,
    parse_row,
    row_entries,
)
from .import_sheet import COLUMN_KEYS, COLUMNS, ImportRow, Sheet, read_sheet
from .models import ImportJob, ImportStatusChoices, ResidenceReasonChoices, ResidenceSourceChoices
from .services import registrations_prepare, registrations_write

logger = logging.getLogger(__name__)

# The page and the job row keep this many problems; every bad row is still left out of the import.
MAX_REPORTED_ERRORS = 5_000
# Rows checked and written together: a fixed number of queries each (see registrations_check).
CHUNK = 1000
GROUP = 10  # batches checked before any of them is written (see _import_rows)
EXTENSIONS = (".csv", ".txt", ".xlsx")
PERMISSION = "housing.add_residence"


class RowFailed(Exception):
    """A confirmed row was refused at import time: the whole import is rolled back."""


@contextmanager
def _without_cycle_collector():
    """Pause Python's cycle collector while a file is checked or imported: with 100,000 rows' objects alive,
    its full passes cost ~15% of the run (measured), and an import leaves next to no cycles behind."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _report(outcomes: Counter) -> dict:
    return {"created_persons": outcomes[CREATED], "moved_persons": outcomes[MOVED],
            "new_residences": outcomes[CREATED] + outcomes[MOVED] + outcomes[RETURNING],
            "unchanged": outcomes[UNCHANGED]}


# ---- the flow: upload, dry run, confirm, import -----------------------------------------------------


def check_file_upload(upload) -> str:
    """Preconditions for storing an upload; returns its lower-case extension."""
    extension = Path(upload.name or "").suffix.lower()
    if extension not in EXTENSIONS:
        raise ValidationError({"file": _("File: upload a CSV file or an Excel workbook (.xlsx).")})
    if not upload.size:
        raise ValidationError({"file": _("File: the file is empty.")})
    check_upload_size(upload, field="file")
    return extension


@transaction.atomic
def import_job_create(*, user, upload, language: str) -> ImportJob:
    """Store an upload under ``VAR_DIR/imports``; ``housing.tasks.import_validate_start`` queues its dry run."""
    extension = check_file_upload(upload).replace(".txt", ".csv")
    stored_name = f"{uuid.uuid4().hex}{extension}"
    digest = hashlib.sha256()
    path = imports_dir() / stored_name
    with open(path, "wb") as handle:
        for chunk in upload.chunks():
            digest.update(chunk)
            handle.write(chunk)
    path.chmod(0o600)
    job = ImportJob.objects.create(
        user=user, station_id=scope_for(user).single_station_id,
        filename=Path(upload.name).name[:255], stored_name=stored_name, sha256=digest.hexdigest(),
        size=upload.size, language=language,
    )
    return job


def import_job_confirm(*, job: ImportJob, language: str) -> bool:
    """The user confirms importing the valid rows, once (a second click changes nothing); True if this call
    confirmed them, and ``housing.tasks.import_commit_start`` then queues the import."""
    confirmed = ImportJob.objects.filter(pk=job.pk, status=ImportStatusChoices.VALIDATED, confirmed_at__isnull=True,
                                         valid_rows__gt=0).update(confirmed_at=timezone.now(), language=language)
    return bool(confirmed)


def _fail(job: ImportJob, reason: str) -> None:
    job.status, job.failure_reason, job.finished_at = ImportStatusChoices.FAILED, reason, timezone.now()
    job.save(update_fields=["status", "failure_reason", "finished_at"])
    remove_files(job)


def _claim(job_id: int, *, before: str, during: str) -> ImportJob | None:
    """Take the job for this worker with a conditional UPDATE; None if another worker has it, or it is gone."""
    claimed = ImportJob.objects.filter(pk=job_id, status=before).update(status=during, started_at=timezone.now())
    if claimed != 1:
        return None
    return ImportJob.objects.select_related("user").get(pk=job_id)


def _user_may_import(job: ImportJob) -> bool:
    user = job.user
    return user is not None and user.is_active and user.has_perm(PERMISSION)


def import_validate(job_id: int) -> ImportJob | None:
    """The dry run: check every row, the way the import will, and write nothing. Returns the job, or None
    if it was not waiting for a check (already checked, or taken by another worker)."""
    job = _claim(job_id, before=ImportStatusChoices.UPLOADED, during=ImportStatusChoices.VALIDATING)
    if job is None:
        return None
    if not _user_may_import(job):
        _fail(job, _("The uploader may no longer import residents."))
        return job
    try:
        with _without_cycle_collector():
            sheet = read_sheet(job_path(job))
            errors, bad_rows, outcomes = _dry_run(job, sheet)
    except ImportFileError as exc:
        _fail(job, str(exc))
        return job
    except SoftTimeLimitExceeded:
        _fail(job, _("The check took longer than allowed; split the file into smaller ones."))
        return job
    except DatabaseError:
        logger.exception("import %s: the database refused the check", job.pk)
        _fail(job, _("The database was busy (perhaps with another import) and the check stopped; nothing was "
                     "saved. Upload the file again in a few minutes."))
        return job
    except Exception:
        logger.exception("import %s: the check stopped", job.pk)
        _fail(job, _("The check stopped because of an unexpected error; the administrator can find it in the "
                     "log. Try again later."))
        return job
    job.status, job.validated_at = ImportStatusChoices.VALIDATED, timezone.now()
    job.total_rows, job.error_rows = len(sheet.rows), len(bad_rows)
    job.valid_rows = job.total_rows - job.error_rows
    job.errors, job.bad_rows = errors[:MAX_REPORTED_ERRORS], sorted(bad_rows)
    job.ignored_columns, job.expected = sheet.ignored, _report(outcomes)
    job.progress_done = job.progress_total = job.total_rows
    job.save(update_fields=["status", "validated_at", "total_rows", "error_rows", "valid_rows", "errors",
                            "bad_rows", "ignored_columns", "expected", "progress_done", "progress_total"])
    return job


def _dry_run(job: ImportJob, sheet: Sheet) -> tuple[list, set, Counter]:
    rows = sheet.rows
    finder, outcomes, progress = UnitFinder(job.user), Counter(), Progress(job, len(rows))
    for row in rows:
        parse_row(row)
    mark_duplicates(rows)
    # The registration service decides, without writing; a fixed number of queries per chunk of rows.
    for first in range(0, len(rows), CHUNK):
        for _row, entry in check_rows(rows[first:first + CHUNK], finder):
            outcomes[outcome(entry)] += 1
        progress.update(min(first + CHUNK, len(rows)))
    progress.update(len(rows), force=True)
    errors = [{"row": row.number, "field": key, "column": sheet.headers.get(key, key), "message": message}
              for row in rows for key, message in row.errors]
    return errors, {row.number for row in rows if row.errors}, outcomes


def _settle_change_feed() -> None:
    # Two feed entries per row: numbered in the background, not by the next reader of the feed.
    changes_settle_task.delay()


def import_commit(job_id: int) -> ImportJob | None:
    """Import the rows the dry run found valid, in one transaction: all of them or none."""
    job = _claim(job_id, before=ImportStatusChoices.VALIDATED, during=ImportStatusChoices.IMPORTING)
    if job is None:
        return None
    if not _user_may_import(job):
        _fail(job, _("The uploader may no longer import residents."))
        return job
    try:
        _check_unchanged_file(job)
        with _without_cycle_collector():
            sheet = read_sheet(job_path(job))
        bad_rows = set(job.bad_rows)
        rows = [row for row in sheet.rows if row.number not in bad_rows]
        with transaction.atomic(), _without_cycle_collector():
            outcomes = _import_rows(job, rows)
            job.status, job.finished_at = ImportStatusChoices.DONE, timezone.now()
            job.result = _report(outcomes)
            job.progress_done = job.progress_total = len(rows)
            job.save(update_fields=["status", "finished_at", "result", "progress_done", "progress_total"])
            transaction.on_commit(lambda: remove_files(job))
            transaction.on_commit(_settle_change_feed)
    except (ImportFileError, RowFailed) as exc:
        _fail(job, str(exc))
    except SoftTimeLimitExceeded:
        _fail(job, _("The import took longer than allowed, so nothing was imported; split the file into "
                     "smaller ones."))
    except DatabaseError:
        logger.exception("import %s: the database refused the import", job.pk)
        _fail(job, _("The database refused the import (another change touched the same records at the same "
                     "time). Nothing was imported; upload the file again."))
    except Exception:
        logger.exception("import %s: the import stopped", job.pk)
        _fail(job, _("The import stopped because of an unexpected error; nothing was imported. The administrator "
                     "can find the error in the log."))
    return job


def _check_unchanged_file(job: ImportJob) -> None:
    digest = hashlib.sha256()
    try:
        with open(job_path(job), "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        raise ImportFileError(_("The uploaded file is no longer stored; upload it again."))
    if digest.hexdigest() != job.sha256:
        raise ImportFileError(_("The stored file changed after it was checked; upload it again."))


def _import_rows(job: ImportJob, rows: list[ImportRow]) -> Counter:
    finder, progress, decided = UnitFinder(job.user), Progress(job, len(rows)), []
    for row in rows:
        parse_row(row, checked=True)
    mark_duplicates(rows)
    for first in range(0, len(rows), CHUNK):  # units first: a query would wait for the COPYs below
        finder.prefetch(rows[first:first + CHUNK])
    # PostgreSQL writes the batches in the background (their COPYs) while Python builds the next ones; any read
    # waits for the COPYs handed over before it. So the batches are checked and read (locks, ratings, keys)
    # GROUP at a time before any of them is written: the reads wait once a group, not once a batch. No person
    # is in two batches (one row per document, ``mark_duplicates``), so checking a batch before the ones ahead
    # of it are written decides the same.
    with copies_in_background():
        for start in range(0, len(rows), CHUNK * GROUP):
            ready = []
            for first in range(start, min(start + CHUNK * GROUP, len(rows)), CHUNK):
                chunk = rows[first:first + CHUNK]
                pending = row_entries(chunk, finder, checked=True)
                if len(pending) == len(chunk):
                    try:  # the service checks each entry again, under locks, before it writes
                        ready.append((first + len(chunk), pending, registrations_prepare(
                            [entry for _row, entry in pending])))
                    except ValidationError:
                        entry_errors(pending)
                _refuse(chunk)
            for done, pending, batch in ready:
                try:
                    registrations_write(batch, source=ResidenceSourceChoices.IMPORT, actor=job.user)
                except ValidationError as exc:  # a document registered by someone else since the check
                    entry_errors(pending)
                    _refuse(row for row, _entry in pending)
                    raise RowFailed(_("Nothing was imported: %(message)s") % {"message": " ".join(exc.messages)}) \
                        from None
                decided += [outcome(entry) for _row, entry in pending]
                progress.update(done)
    progress.update(len(rows), force=True)
    return Counter(decided)


def _refuse(rows) -> None:
    """Stop the import at the first row with a problem (RowFailed, with its message)."""
    refused = next((row for row in rows if row.errors), None)
    if refused is not None:
        raise RowFailed(_("Row %(row)d was refused, so nothing was imported: %(message)s Check the file "
                          "again (upload it once more).")
                        % {"row": refused.number, "message": refused.errors[0][1]})


def imports_tidy(*, now=None, keep_days: int = 7, stuck_after: datetime.timedelta | None = None) -> int:
    """Close uploads nobody confirmed within ``keep_days`` and jobs a dead worker left running, and delete
    stored files no job needs any more. Returns how many jobs were closed."""
    now = now or timezone.now()
    stuck_after = stuck_after or datetime.timedelta(hours=2)
    waiting = [ImportStatusChoices.UPLOADED, ImportStatusChoices.VALIDATED]
    running = [ImportStatusChoices.VALIDATING, ImportStatusChoices.IMPORTING]
    closed = 0
    for job in ImportJob.objects.filter(
            Q(status__in=waiting, created_at__lt=now - datetime.timedelta(days=keep_days))
            | Q(status__in=running, started_at__lt=now - stuck_after)):
        with translation.override(job.language or settings.LANGUAGE_CODE):
            reason = (_("Not confirmed within %(days)d days, so the file was deleted; upload it again.")
                      % {"days": keep_days} if job.status in waiting else
                      _("Interrupted (the worker stopped); nothing was imported. Upload the file again."))
        # Conditional, like a claim: a job that moved on in the meantime is left alone.
        if ImportJob.objects.filter(pk=job.pk, status=job.status).update(
                status=ImportStatusChoices.FAILED, finished_at=now, failure_reason=reason):
            closed += 1
            remove_files(job)
    needed = {Path(name).stem for name in ImportJob.objects.exclude(
        status__in=[ImportStatusChoices.DONE, ImportStatusChoices.FAILED]).values_list("stored_name", flat=True)}
    for path in imports_dir().iterdir():
        if path.stem not in needed and path.stat().st_mtime < now.timestamp() - 24 * 3600:
            path.unlink(missing_ok=True)
    return closed


# ---- the template a user can download ---------------------------------------------------------------


def example_row() -> dict:
    """One filled-in row: a synthetic but valid ID number, so the template passes the checks as it is."""
    body = "11010119900307123"
    return {
        "document_type": DocumentTypeChoices.RESIDENT_ID, "document_number": body + mod_11_2.calc_check_digit(body),
        "document_country": "", "name": "张伟", "sex": SexChoices.MALE, "birth_date": "1990-03-07",
        "phone": "13800138000", "hukou_address": "河南省郑州市金水区", "occupation": "快递员",
        "property_registration_number": "001-0000001", "property_address": "", "unit_label": "101室",
        "start_date": timezone.localdate().replace(day=1).isoformat(), "reason": ResidenceReasonChoices.WORK,
    }


def template_csv() -> bytes:
    """The template as CSV: UTF-8 with a BOM, so that Excel shows the Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMN_KEYS)
    example = example_row()
    writer.writerow([example[key] for key in COLUMN_KEYS])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """The template as XLSX: every column formatted as text, so Excel keeps ID numbers whole."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "residents"
    example = example_row()
    for index, column in enumerate(COLUMNS, start=1):
        head = sheet.cell(row=1, column=index, value=column.key)
        head.font = Font(bold=True)
        if column.help:
            head.comment = Comment(f"{column.label}: {column.help}", "registry")
        cell = sheet.cell(row=2, column=index, value=example[column.key])
        letter = head.column_letter
        sheet.column_dimensions[letter].width = max(14, len(column.key) + 2)
        sheet.column_dimensions[letter].number_format = "@"
        cell.number_format = "@"
        for row in range(3, 1002):
            sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
