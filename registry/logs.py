"""Logging pieces the settings name: a private file for the audit stream."""

import logging.handlers
import os


class PrivateFileHandler(logging.handlers.WatchedFileHandler):
    """A log file readable by its owner only (0600), opened on the first line and reopened when a log rotator
    moves it away (``WatchedFileHandler``)."""

    def _open(self):
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(descriptor, self.mode, encoding=self.encoding, errors=self.errors)


def private_file_handler(filename: str) -> PrivateFileHandler:
    return PrivateFileHandler(filename, delay=True, encoding="utf-8")
