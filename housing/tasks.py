"""Background work for housing: the import's dry run and commit. Thin: re-read the job, call housing.imports.

Each task claims its job with a conditional UPDATE inside ``housing.imports``, so a task delivered twice
(acks_late, a second click, a redelivery) does its work once. The two ``*_start`` functions call the
service and queue its task after commit; ``housing.imports`` never imports this module.
"""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import translation

from registry.audit import audit_context
from registry.taskruns import recorded

from .imports import import_commit, import_job_confirm, import_job_create, import_validate, imports_tidy
from .models import ImportJob
from .services import persons_anonymise_expired

# An import of tens of thousands of rows runs for minutes; the defaults (5 minutes) are for short tasks.
LONG = {"acks_late": True, "reject_on_worker_lost": True, "soft_time_limit": settings.IMPORT_TASK_SOFT_TIME_LIMIT,
        "time_limit": settings.IMPORT_TASK_TIME_LIMIT}


def _job_user(job_id: int):
    job = ImportJob.objects.select_related("user").filter(pk=job_id).first()
    return None if job is None else (job.user,)


@shared_task(**LONG)
def import_validate_task(job_id: int, language: str) -> str | None:
    """Dry run of an uploaded file, with messages in the uploader's language; nothing if the job is gone."""
    found = _job_user(job_id)
    if found is None:
        return None
    with translation.override(language), audit_context(user=found[0], via="import"):
        job = import_validate(job_id)
    return job.status if job else None


@shared_task(**LONG)
def import_commit_task(job_id: int, language: str) -> str | None:
    """Import the confirmed rows of a checked file, all or none; nothing if gone or already taken."""
    found = _job_user(job_id)
    if found is None:
        return None
    with translation.override(language), audit_context(user=found[0], via="import"):
        job = import_commit(job_id)
    return job.status if job else None


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def imports_tidy_task() -> int:
    """Daily: close unconfirmed and interrupted imports and delete the stored files nobody needs."""
    return imports_tidy()


def import_validate_start(*, user, upload, language: str) -> ImportJob:
    """Store an upload (``import_job_create``) and queue its dry run once the job row is committed."""
    job = import_job_create(user=user, upload=upload, language=language)
    transaction.on_commit(lambda: import_validate_task.delay(job.pk, language))
    return job


def import_commit_start(*, job: ImportJob, language: str) -> bool:
    """Confirm a checked job (``import_job_confirm``) and, the first time only, queue its import after commit."""
    confirmed = import_job_confirm(job=job, language=language)
    if confirmed:
        transaction.on_commit(lambda: import_commit_task.delay(job.pk, language))
    return confirmed


# The name it had in ``persons.tasks`` before retention moved here (retention is decided by where people
# live): beat's schedule and messages already queued carry it.
@shared_task(name="persons.tasks.persons_anonymise_task", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=1800, time_limit=1900, autoretry_for=(OperationalError,), retry_backoff=True,
             retry_jitter=True, max_retries=3)
def persons_anonymise_task() -> int:
    """Daily retention: anonymise persons gone for the retention period. Idempotent."""
    with audit_context(via="task"), recorded("persons_anonymise") as run:
        run.rows_changed = persons_anonymise_expired()
    return run.rows_changed
