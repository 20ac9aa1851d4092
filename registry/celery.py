"""The Celery application; configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def refuse_wrong_keys(**kwargs):
    """A worker with keys that cannot read the database would fail on every import and export: it does not
    start (registry/keys.py)."""
    from registry.keys import key_canary_check

    key_canary_check()
