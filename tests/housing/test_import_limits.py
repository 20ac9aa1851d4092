"""Hostile files through the resident import: each gets a clear error on its job, nothing is imported, and
the process that reads them stays under 300 MB."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from housing.models import ImportJob, Residence
from persons.models import Person
from tests.registry import hostile_files as hostile

UPLOAD = reverse("imports:upload")
ROOT = Path(__file__).resolve().parents[2]

# file name → (builder, what the job's failure says)
HOSTILE = {
    "bomb.xlsx": (hostile.xlsx_compression_bomb, "compressed more than 100 times"),
    "lying.xlsx": (lambda path: hostile.understate_sizes(hostile.xlsx_compression_bomb(path)),
                   "could not be read as an Excel workbook"),
    "wide.xlsx": (hostile.xlsx_million_columns, "Row 2 has more than 100 columns"),
    "grid.xlsx": (hostile.xlsx_huge_dimension, "at most 100,000 rows and 100 columns"),
    "laughs.xlsx": (hostile.xlsx_with_dtd, "a DTD or entities"),
    "bomb.csv": (hostile.csv_compression_bomb, "compressed more than 100 times"),
    "field.csv": (hostile.csv_huge_field, "Row 2 has a cell longer than 32,767 characters"),
    "line.csv": (hostile.csv_long_line, "Row 2 is longer than 262,144 characters"),
    "wide.csv": (hostile.csv_million_columns, "Row 2 has more than 100 columns"),
    "rows.csv": (hostile.csv_million_rows, "more than 100,000 rows"),
}


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    for name, (build, _message) in HOSTILE.items():
        build(folder / name)
    return folder


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path, client):
    settings.VAR_DIR = tmp_path
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def test_the_upload_page_states_the_cap_in_force(client, staff_a, settings):
    client.force_login(staff_a)
    assert "at most 20 MB and 100 columns" in client.get(UPLOAD).content.decode()
    settings.UPLOAD_MAX_BYTES = 8 * 1024 * 1024
    text = client.get(UPLOAD).content.decode()
    assert "at most 8 MB" in text and "20 MB" not in text and "50 MB" not in text
    text = client.get(UPLOAD, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "最大 8 MB，最多 100 列" in text


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_file_fails_its_check_with_the_limit_and_nothing_is_imported(
        client, staff_a, hostile_dir, name, tmp_path, django_capture_on_commit_callbacks):
    client.force_login(staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(UPLOAD, {"file": SimpleUploadedFile(name, (hostile_dir / name).read_bytes())})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert HOSTILE[name][1] in job.failure_reason
    assert Person.objects.count() == 0 and Residence.objects.count() == 0
    assert not (tmp_path / "imports" / job.stored_name).exists()  # the refused file is not kept
    page = client.get(response["Location"]).content.decode()
    assert HOSTILE[name][1] in page


@pytest.mark.parametrize(("name", "message"), [
    ("bomb.csv", "文件的压缩比超过 100 倍"),
    ("wide.xlsx", "第 2 行超过 100 列"),
])
def test_the_limit_is_named_in_the_uploaders_language(client, staff_a, hostile_dir, name, message,
                                                      django_capture_on_commit_callbacks):
    client.force_login(staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(UPLOAD, {"file": SimpleUploadedFile(name, (hostile_dir / name).read_bytes())},
                    HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert message in ImportJob.objects.get().failure_reason


# The child is a fresh process, as a worker child is: it migrates its own SQLite database, then each file goes
# through the real dry run (``import_validate_task``, which every import starts with), and it reports each
# job's outcome and its own peak RSS. Django and the app alone take about 145 MB (pypinyin's dictionaries
# are most of it). The peak is the child's VmHWM, not the parent's RUSAGE_CHILDREN ru_maxrss: Linux carries
# the parent's high-water mark into a child it spawns (measured: a 500 MB parent reads 510 MB for a child
# running `python -c pass`), so ru_maxrss would measure pytest rather than the import.
_CHILD = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "registry.settings"
import django
django.setup()
from django.core.files import File
from django.core.management import call_command
call_command("migrate", verbosity=0)
from housing.imports import import_job_create
from housing.models import ImportJob, Residence
from housing.tasks import import_validate_task
from persons.models import Person
from registry.factories import DistrictFactory, StationFactory, make_user
from registry.roles import RoleChoices
staff = make_user(RoleChoices.STAFF, username="staff", station=StationFactory(district=DistrictFactory()))
results = {}
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        job = import_job_create(user=staff, upload=File(handle, name=os.path.basename(path)), language="en")
    import_validate_task.apply(args=(job.pk, "en"), throw=True)
    job = ImportJob.objects.get(pk=job.pk)
    results[job.filename] = [job.status, job.failure_reason]
imported = Person.objects.count() + Residence.objects.count()
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) // 1024
print(json.dumps({"results": results, "imported": imported, "peak_mb": peak}))
"""


def test_the_dry_run_of_every_hostile_file_fails_with_the_limit_in_a_worker_under_300_mb(hostile_dir, tmp_path):
    paths = [str(hostile_dir / name) for name in sorted(HOSTILE)]
    done = subprocess.run([sys.executable, "-c", _CHILD, *paths], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "REGISTRY_VAR_DIR": str(tmp_path),
                               "CELERY_TASK_ALWAYS_EAGER": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(report, indent=1, ensure_ascii=False))  # the measured peak, for docs/security.md (pytest -s)
    for name, (_build, message) in HOSTILE.items():
        status, reason = report["results"][name]
        assert status == "failed" and message in reason, name
    assert report["imported"] == 0
    assert report["peak_mb"] < 300
