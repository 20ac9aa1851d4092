"""Record each periodic task's run (start, duration, result, rows changed) for the admin page."""

from contextlib import contextmanager

from django.utils import timezone

from .models import TaskRun


@contextmanager
def recorded(task_name: str):
    run = TaskRun.objects.create(task=task_name, started_at=timezone.now())
    try:
        yield run
    except BaseException as exc:
        run.status, run.result = "failed", repr(exc)[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "result", "finished_at"])
        raise
    run.status = "ok"
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "result", "finished_at", "rows_changed"])
