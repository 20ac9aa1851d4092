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


# The child reads each file the way the dry run does (housing.import_sheet.read_sheet, which every import
# starts with) and reports its messages, its time and its own peak RSS. Django and the app alone take about
# 145 MB (pypinyin's dictionaries are most of it).
_CHILD = """
import json, os, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "registry.settings"
import django
django.setup()
from django.utils import translation
from housing.import_sheet import read_sheet
from registry.tabular import ImportFileError
results = {}
with translation.override("en"):
    for path in sys.argv[1:]:
        started = time.perf_counter()
        try:
            read_sheet(path)
            message = "read"
        except ImportFileError as exc:
            message = str(exc)
        results[os.path.basename(path)] = [message, round(time.perf_counter() - started, 3)]
# VmHWM: this program's own peak. ru_maxrss would also count the copy of the test process it was forked
# from before exec (Linux carries the high-water mark across exec).
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) // 1024
print(json.dumps({"results": results, "peak_mb": peak}))
"""


def test_reading_every_hostile_file_keeps_the_worker_under_300_mb(hostile_dir):
    paths = [str(hostile_dir / name) for name in sorted(HOSTILE)]
    done = subprocess.run([sys.executable, "-c", _CHILD, *paths], cwd=ROOT, capture_output=True, text=True,
                          check=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                                           "REGISTRY_VAR_DIR": str(hostile_dir / "var")})
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(report, indent=1))  # the measured peak and times, for docs/security.md (pytest -s)
    for name, (_build, message) in HOSTILE.items():
        assert message in report["results"][name][0], name
    assert report["peak_mb"] < 300
