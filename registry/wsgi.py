import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
application = get_wsgi_application()

from registry.keys import key_canary_check  # noqa: E402 (after Django is set up)
from registry.runtime import tune_garbage_collector  # noqa: E402

# Refuse to serve with keys that cannot read the database (the message says what to do).
key_canary_check()
tune_garbage_collector()
