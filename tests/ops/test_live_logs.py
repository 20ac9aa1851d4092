"""No personal value in any log line (issue 15, point 1), against a real server with its logs captured.

gunicorn serves the registry as ``bin/run`` does (its ``gunicorn.conf.py``, access log on) over a SQLite
database loaded with the demo, at the log level DEBUG, its standard output and error captured. A scripted
session then signs in as station staff and searches by ID number, name and phone (the search box and the
residents list), pages, exports the list masked and unmasked, unmasks a person's number, registers a new
resident, and asks the API for a document and a phone number in the body (and once, against the advice of
docs/api.md, in a query string). No value it used may appear in any line the server wrote, as typed or
URL-encoded; and the lines it must have written are there, so the capture itself is checked.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
pytestmark = pytest.mark.skipif(not Path(PYTHON).with_name("gunicorn").exists(), reason="gunicorn not installed")

FACTS = """
import json
from housing.models import Unit
from persons.factories import PersonFactory
from persons.models import Person
from registry.services import api_token_create
from django.contrib.auth import get_user_model

staff = get_user_model().objects.get(username="staff_a")
known = Person.objects.visible_to(staff).exclude(phone="").order_by("pk").first()
unit = Unit.objects.visible_to(staff).select_related("property").order_by("pk").first()
new = PersonFactory.build()
_token, key = api_token_create(user=staff, name="log test")
print(json.dumps({
    "known": {"pk": known.pk, "name": known.name, "document_number": known.document_number, "phone": known.phone},
    "unit": {"pk": unit.pk, "property": unit.property_id, "community": unit.property.community_id},
    "new": {"name": "司马相如", "document_number": new.document_number, "sex": new.sex,
            "birth_date": new.birth_date.isoformat(), "phone": "13698765432"},
    "token": key,
}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env, *args) -> str:
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DATABASE_URL", "FIELD_", "SECRET_KEY", "CELERY_", "REDIS_URL", "REGISTRY_"))}
    env.update(REGISTRY_VAR_DIR=str(root / "var"), CELERY_BROKER_URL="memory://", LOG_LEVEL="DEBUG",
               DJANGO_SETTINGS_MODULE="registry.settings", REGISTRY_SECOND_FACTOR_ROLES="", DEBUG="false",
               ALLOWED_HOSTS="127.0.0.1", AUDIT_LOG_FILE=str(root / "audit.jsonl"))
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo")
    facts = json.loads(manage(env, "shell", "-c", FACTS).strip().splitlines()[-1])
    port = free_port()
    out, err = (root / "stdout.log").open("w"), (root / "stderr.log").open("w")
    process = subprocess.Popen(
        [str(Path(PYTHON).with_name("gunicorn")), "registry.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--access-logfile", "-", "--error-logfile", "-", "--log-level", "debug",
         "--no-control-socket"], cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def stop():
        """Stop gunicorn and wait for it: what it logged is then all written out."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        out.close()
        err.close()

    try:
        for _ in range(300):  # until it answers: the process's own readiness, not a fixed wait
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {(root / 'stderr.log').read_text()[-2000:]}")
            try:
                # Connecting says it listens; the first answer may take long on a busy machine (the worker is still
                # loading the application), so wait for it rather than call a slow answer a failure.
                requests.get(f"{base}/accounts/login/", timeout=(2, 60))
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield base, facts, root, stop
    finally:
        stop()


def csrf(page: requests.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def test_a_session_of_searches_exports_unmasking_registration_and_api_lookups_leaves_no_value_in_the_logs(server):
    base, facts, root, stop = server
    known, new, unit = facts["known"], facts["new"], facts["unit"]
    web = requests.Session()
    login = web.get(f"{base}/accounts/login/")
    home = web.post(f"{base}/accounts/login/", data={"csrfmiddlewaretoken": csrf(login), "username": "staff_a",
                                                     "password": "demo-pass-2026"})
    assert home.status_code == 200 and "/accounts/login/" not in home.url, home.url
    token = csrf(home)

    # The search box, by ID number, name and phone: each a POST, then its ?k= page.
    for value in (known["document_number"], known["name"], known["phone"]):
        found = web.post(f"{base}/search/", data={"csrfmiddlewaretoken": token, "_seal": "1", "q": value})
        assert found.status_code == 200 and f'/persons/{known["pk"]}/' in found.text
        address = re.search(r'data-sealed-address="(/search/\?k=[\w-]+)"', found.text).group(1)
        assert f'/persons/{known["pk"]}/' in web.get(f"{base}{address}").text  # reloading it, or back to it
    # An old bookmark with the name in its query string: sealed and redirected, the value gone from the address.
    bookmark = web.get(f"{base}/persons/", params={"q": known["name"]})
    assert "q=" not in bookmark.url and f'/persons/{known["pk"]}/' in bookmark.text

    # The residents list filtered by phone, page 1 of it again, its export page, the masked and unmasked files.
    listed = web.post(f"{base}/persons/", data={"csrfmiddlewaretoken": token, "_seal": "1", "q": known["phone"]})
    key = re.search(r'data-sealed-address="/persons/\?k=([\w-]+)"', listed.text).group(1)
    assert f'/persons/{known["pk"]}/' in web.get(f"{base}/persons/", params={"k": key, "page": 1}).text
    export_page = web.get(f"{base}/exports/persons/", params={"k": key})
    assert export_page.status_code == 200
    masked = web.get(f"{base}/exports/persons.csv", params={"k": key})
    assert masked.status_code == 200 and known["name"] in masked.text
    assert known["document_number"] not in masked.text
    unmasked = web.post(f"{base}/exports/persons.csv?k={key}",
                        data={"csrfmiddlewaretoken": csrf(export_page), "reason": f"核对 {known['name']} 的证件"})
    assert unmasked.status_code == 200 and known["document_number"] in unmasked.text

    # Unmasking one person's number on their page.
    detail = web.get(f"{base}/persons/{known['pk']}/")
    shown = web.post(f"{base}/persons/{known['pk']}/unmask/",
                     data={"csrfmiddlewaretoken": csrf(detail), "reason": f"来电核实 {known['phone']}"})
    assert shown.status_code == 200 and known["document_number"] in shown.text

    # Registering a new resident: the document first, then the person and the place.
    start = web.get(f"{base}/persons/register/")
    step2 = web.post(f"{base}/persons/register/", data={
        "csrfmiddlewaretoken": csrf(start), "document_type": "resident_id",
        "document_number": new["document_number"]})
    assert step2.status_code == 200 and 'name="step" value="register"' in step2.text, step2.text[-2000:]
    done = web.post(f"{base}/persons/register/", data={
        "csrfmiddlewaretoken": csrf(step2), "step": "register", "document_type": "resident_id",
        "document_number": new["document_number"], "name": new["name"], "sex": new["sex"],
        "birth_date": new["birth_date"], "phone": new["phone"], "hukou_address": "四川省成都市武侯区锦里路8号",
        "community": unit["community"], "property": unit["property"], "unit": unit["pk"], "reason": "work",
        "start_date": time.strftime("%Y-%m-%d")})
    assert re.search(r"/persons/\d+/$", done.url), done.text[-3000:]
    assert new["name"] in done.text

    # The API: numbers in the body, as docs/api.md asks; and once in a query string, as it advises against.
    api = requests.Session()
    api.headers["Authorization"] = f"Token {facts['token']}"
    for body in ({"document_number": known["document_number"]}, {"phone": known["phone"]}):
        answer = api.post(f"{base}/api/v1/persons/lookup/", json=body)
        assert answer.status_code == 200 and known["pk"] in [row["id"] for row in answer.json()["results"]]
    listed = api.get(f"{base}/api/v1/persons/", params={"q": new["document_number"]})
    assert listed.status_code == 200 and [row["name"] for row in listed.json()["results"]] == [new["name"]]
    assert api.post(f"{base}/api/v1/persons/lookup/", json={"phone": known["name"]}).status_code == 400

    stop()  # the server's whole log, written out
    lines = [line for name in ("stdout.log", "stderr.log") for line in (root / name).read_text().splitlines()]
    text = "\n".join(lines)
    # The capture holds what it should: the access lines of this session, and the application's own lines.
    for expected in ('"POST /search/', '"GET /exports/persons.csv', '"POST /api/v1/persons/lookup/',
                     '"POST /persons/register/', '"GET /api/v1/persons/'):
        assert expected in text, f"no access line {expected} in the captured log"
    assert any(" DEBUG " in line or " INFO " in line for line in lines)
    values = [known["document_number"], known["name"], known["phone"], new["document_number"], new["name"],
              new["phone"], "锦里路", known["document_number"][-8:], known["phone"][-8:]]
    for value in values:
        for form in {value, quote(value), quote_plus(value), value.lower()}:
            leaked = [line for line in lines if form in line]
            assert not leaked, f"{value!r} appears in the server's log: {leaked[:3]}"
