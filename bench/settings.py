"""Settings for benchmark runs only: the product's settings plus the baselines' URLs.

``DJANGO_SETTINGS_MODULE=bench.settings`` (bin/bench sets it). Nothing here changes a product rule but two
sign-in settings and the search sealing's exempt paths (at the end): it mounts the baseline views
(``bench.urls``), points the cache and the Celery broker at the bench's own Redis (the production shape; no
worker consumes the re-rating messages during a run), and logs less.
"""

import os

from registry.settings import *  # noqa: F403
from registry.settings import LOGGING, REGISTRY

ROOT_URLCONF = "bench.urls"
# First, not last: the registry syncs its role groups on the last app's post_migrate, and an app without
# models (this one) never sends it.
INSTALLED_APPS = ["bench", *INSTALLED_APPS]  # noqa: F405

BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6390/0")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": BENCH_REDIS_URL,
                      "KEY_PREFIX": "bench"}}
CELERY_BROKER_URL = BENCH_REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}
# The bench's browsers sign in with the password only, and a browser kept for a later case may sit idle
# longer than a person's session would: neither the second-factor step nor the idle limit is what is measured
# here, and what they cost per request (reading the session) is the same with these values.
REGISTRY = {**REGISTRY, "SECOND_FACTOR_ROLES": [], "IDLE_MINUTES_STATION": 8 * 60,
            # The baselines (a stock admin, a naive API) read their own ?q= as they would anywhere.
            "SEALED_QUERY_EXEMPT": [*REGISTRY["SEALED_QUERY_EXEMPT"], "/bench/"]}
