"""Retention of imports (registry/retention.py): an import's report (its file name, and row errors that may
quote what the rows said) goes a retention period after the import ended. Its file is gone a day after the
end already (``imports_tidy``); the residents it registered are in the trail and the change feed."""

from registry.retention import before

from .import_files import remove_files
from .models import ImportJob, ImportStatusChoices


def import_reports_delete(now) -> int:
    finished = ImportJob.objects.filter(status__in=[ImportStatusChoices.DONE, ImportStatusChoices.FAILED],
                                        finished_at__lt=before(now, "imports"))
    for job in finished.only("pk", "stored_name"):
        remove_files(job)  # normally gone already; a file must never outlive its report
    return finished.delete()[0]
