"""Where an import's upload is kept while its job lives (``VAR_DIR/imports``), and its progress file beside it.

Web and worker share the directory: the view stores the upload, the worker reads it, the page polls the
progress the worker writes.
"""

import os
import time
from pathlib import Path

from django.conf import settings

from .models import ImportJob


def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_path(job: ImportJob) -> Path:
    return imports_dir() / job.stored_name


def _progress_path(job: ImportJob) -> Path:
    return imports_dir() / f"{Path(job.stored_name).stem}.progress"


def remove_files(job: ImportJob) -> None:
    for path in (job_path(job), _progress_path(job)):
        path.unlink(missing_ok=True)


class Progress:
    """Rows done out of rows to do, in a small file beside the upload.

    The import runs in one transaction, so nothing it writes to the job row is visible before it
    commits; the page reads this file instead (web and worker share ``VAR_DIR/imports`` anyway,
    since the worker reads the uploaded file from there).
    """

    interval = 0.5  # seconds between writes

    def __init__(self, job: ImportJob, total: int):
        self.path, self.total, self.written_at = _progress_path(job), total, 0.0
        self.update(0, force=True)

    def update(self, done: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.written_at < self.interval:
            return
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(f"{done} {self.total}")
        os.replace(temporary, self.path)
        self.written_at = now

    @staticmethod
    def read(job: ImportJob) -> tuple[int, int]:
        try:
            done, total = (int(n) for n in _progress_path(job).read_text().split())
        except (OSError, ValueError):
            return job.progress_done, job.progress_total
        return done, total
