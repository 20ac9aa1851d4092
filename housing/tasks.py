"""Background work for housing: the import's dry run and commit. Thin: re-read the job, call housing.imports.

Each task claims its job with a conditional UPDATE inside ``housing.imports``, so a task delivered twice
(acks_late, a second click, a redelivery) does its work once.
"""

from celery import shared_task
from django.utils import translation

from registry.audit import audit_context

# An import of tens of thousands of rows runs for minutes; the defaults (5 minutes) are for short tasks.
LONG = {"acks_late": True, "reject_on_worker_lost": True, "soft_time_limit": 3600, "time_limit": 3700}


def _job_user(job_id: int):
    from .models import ImportJob

    job = ImportJob.objects.select_related("user").filter(pk=job_id).first()
    return None if job is None else (job.user,)


@shared_task(**LONG)
def import_validate_task(job_id: int, language: str) -> str | None:
    """Dry run of an uploaded file, with messages in the uploader's language; nothing if the job is gone."""
    from .imports import import_validate

    found = _job_user(job_id)
    if found is None:
        return None
    with translation.override(language), audit_context(user=found[0], via="import"):
        job = import_validate(job_id)
    return job.status if job else None


@shared_task(**LONG)
def import_commit_task(job_id: int, language: str) -> str | None:
    """Import the confirmed rows of a checked file, all or none; nothing if gone or already taken."""
    from .imports import import_commit

    found = _job_user(job_id)
    if found is None:
        return None
    with translation.override(language), audit_context(user=found[0], via="import"):
        job = import_commit(job_id)
    return job.status if job else None


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def imports_tidy_task() -> int:
    """Daily: close unconfirmed and interrupted imports and delete the stored files nobody needs."""
    from .imports import imports_tidy

    return imports_tidy()
