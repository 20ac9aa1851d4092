"""Nothing personal in the application's log lines or error reports (issue 15, point 1): the filter on every
handler, and the error report without the request's parameters. The whole path, against a real server with
its logs captured, is tests/browser/test_no_personal_values_in_logs.py."""

import logging
import sys

from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from registry.logs import NoParametersExceptionReporter, PersonalDataFilter, redact

ID_NUMBER = "11010519491231002X"
PHONE = "13912345678"
NAME = "王小明"
SESSION = "secret-session"


def test_numbers_names_emails_and_query_strings_are_redacted_from_a_line():
    line = redact(f'GET /search/?q={ID_NUMBER} by {NAME} (+86 139 1234 5678, wxm@example.org) took 12 ms')
    for value in (ID_NUMBER, NAME, "139 1234 5678", "wxm@example.org", "q="):
        assert value not in line
    assert line.startswith("GET /search/?… by [text]") and line.endswith("took 12 ms")
    # What the registry's own lines say stays readable: short numbers, English words, paths without queries.
    ours = "audit chain: 4213 events sealed in /persons/17/ on 2026-03-14 09:30:12"
    assert redact(ours) == ours


def test_a_task_id_is_kept_whole_even_when_its_groups_are_digits_and_a_number_beside_it_is_not():
    # A task id whose middle groups are all digits read as a phone number and was cut to "53f52c95-[number]-93e1-..."
    # (the worker-kill test then never found its task's "succeeded" line: about one run in ten).
    for task_id in ("53f52c95-1234-4567-93e1-1a389acebdfa", "12345678-9abc-4def-8123-456789abcdef",
                    "12345678-1234-4234-8234-123456789012"):
        line = redact(f"Task patrol.tasks.rating_recalculate_all[{task_id}] succeeded for {PHONE}")
        assert line == f"Task patrol.tasks.rating_recalculate_all[{task_id}] succeeded for [number]"


def test_the_filter_renders_arguments_and_tracebacks_redacted_and_drops_the_request():
    logger = logging.getLogger("tests.personal")
    record = logger.makeRecord("tests.personal", logging.ERROR, __file__, 1, "lookup of %s failed", (PHONE,),
                               None)
    record.request = RequestFactory().get("/search/", {"q": NAME})
    try:
        raise ValueError(f"duplicate document {ID_NUMBER}")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert PersonalDataFilter().filter(record)
    text = logging.Formatter("%(message)s").format(record)
    assert PHONE not in text and ID_NUMBER not in text and "duplicate document [number]" in text
    assert record.request is None and record.args == ()


def test_an_error_report_lists_no_parameter_cookie_referer_or_variable(settings):
    request = RequestFactory().post(f"/persons/?q={PHONE}", {"name": NAME, "document_number": ID_NUMBER},
                                    HTTP_REFERER=f"https://registry.example.org/search/?q={ID_NUMBER}")
    request.COOKIES["sessionid"] = SESSION  # (not written out here: the report quotes these source lines)
    secret = ID_NUMBER  # a frame variable holding a person's value  # noqa: F841
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        exc_type, exc_value, tb = sys.exc_info()
    assert settings.DEFAULT_EXCEPTION_REPORTER == "registry.logs.NoParametersExceptionReporter"
    report = NoParametersExceptionReporter(request, exc_type, exc_value, tb)
    text = report.get_traceback_text() + report.get_traceback_html()
    for value in (PHONE, NAME, ID_NUMBER, SESSION):
        assert value not in text
    # Django's own reporter (with this filter still) lists the query string: the test can fail.
    assert PHONE in ExceptionReporter(request, exc_type, exc_value, tb).get_traceback_text()
