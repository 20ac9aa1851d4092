"""Logging pieces the settings name: a private file for the audit stream, and the filter and error-report
classes that keep request parameters and personal values out of the application's log and error reports."""

import logging.handlers
import os
import re

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter


class PrivateFileHandler(logging.handlers.WatchedFileHandler):
    """A log file readable by its owner only (0600), opened on the first line and reopened when a log rotator
    moves it away (``WatchedFileHandler``)."""

    def _open(self):
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(descriptor, self.mode, encoding=self.encoding, errors=self.errors)


def private_file_handler(filename: str) -> PrivateFileHandler:
    return PrivateFileHandler(filename, delay=True, encoding="utf-8")


# --- nothing personal in the application's log lines and error reports ------------------------------------

_REDACTIONS = [
    # Query strings: whatever a URL carried after its "?" (the pages carry only ?k=<key>, the API may not).
    (re.compile(r"\?[^\s\"'<>]*"), "?…"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # ID numbers (15 or 18 characters), mobile and landline numbers: seven digits or more.
    (re.compile(r"(?<![0-9A-Za-z])[0-9][0-9 -]{5,}[0-9Xx](?![0-9A-Za-z])"), "[number]"),
    # Names and addresses: the registry's personal text is Chinese; its log messages are English.
    (re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+"), "[text]"),
]


# A date or a time in a message ("2026-03-14", "2026-03-14 09:30") is no one's number: kept.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2})?")


# A UUID (a Celery task's id) is no one's number either, though its groups may happen to be digits only
# ("1234-4567" inside one: in about one task id in ten): kept whole, so a task can be followed in the logs.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _number(match: re.Match) -> str:
    if _DATE.fullmatch(match.group(0)):
        return match.group(0)
    around = _UUID.finditer(match.string, max(match.start() - 36, 0), match.end() + 36)
    if any(uuid.start() <= match.start() and match.end() <= uuid.end() for uuid in around):
        return match.group(0)
    return "[number]"


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(_number if replacement == "[number]" else replacement, text)
    return text


class PersonalDataFilter(logging.Filter):
    """On every handler of the application's log: the message with its arguments, and a traceback's text, are
    rendered once and redacted (query strings, e-mail addresses, numbers of seven digits or more, Chinese
    text), and a request attached to the record is dropped, so no handler can print its parameters."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a message and arguments that do not fit: keep the template only
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if getattr(record, "request", None) is not None:
            record.request = None
        return True


class NoParametersReporterFilter(SafeExceptionReporterFilter):
    """Error reports (the e-mail to ADMINS, the DEBUG page) without the request's parameters, cookies, Referer
    or the values of the failing frames' variables: any of them may be a person's."""

    def is_active(self, request):
        return True

    def get_post_parameters(self, request):
        return {} if request is None else {name: self.cleansed_substitute for name in request.POST}

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        for name in ("QUERY_STRING", "HTTP_REFERER", "HTTP_COOKIE", "RAW_URI", "REQUEST_URI"):
            if name in meta:
                meta[name] = self.cleansed_substitute
        return meta

    def get_traceback_frame_variables(self, request, tb_frame):
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]


class NoParametersExceptionReporter(ExceptionReporter):
    """The report itself: the query string and cookies are not listed either (the filter does not reach them)."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        data["request_GET_items"] = [(name, self.filter.cleansed_substitute) for name, _ in
                                     data.get("request_GET_items") or []]
        data["request_COOKIES_items"] = []
        if data.get("request_insecure_uri"):
            data["request_insecure_uri"] = data["request_insecure_uri"].split("?", 1)[0]
        if "request_FILES_items" in data:
            data["request_FILES_items"] = []
        return data
