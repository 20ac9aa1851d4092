"""Process tuning for the web server's workers (called by the WSGI modules once the application is loaded).

A worker's objects from start-up (modules, settings, URL patterns, compiled templates: a few hundred
thousand) live as long as the process, yet CPython's cyclic garbage collector walks all of them at every
full collection, and a Django request allocates enough container objects to trigger collections often.
``gc.freeze()`` moves the start-up objects out of the collector's sight (they are never freed anyway),
and a higher first-generation threshold collects less often; reference counting still frees almost
everything at once, only cycles wait a little longer. Measured under the mixed load (docs/performance.md).
"""

import gc

# Allocations between young-generation collections (CPython's default is 700).
GEN0_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Load what every request will need, then freeze it and space the collections out."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (import the URLconf and every view module now)
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
