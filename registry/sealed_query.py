"""Searches and filters that never put a person's values in a URL.

A document number, phone number or name in a URL ends up in access logs, proxy logs, the browser's history and
the Referer of the next page. So the search and filter forms post, and what they posted is kept server-side for
the user's session (in the cache, under a secret held in the session) behind an opaque key: the results'
address is ``?k=<key>`` (with the page and the sort order, which say nothing about anyone), so pagination, the
back button, reloading and the export button keep working.

``SealedQueryMiddleware`` does it for every page alike, and the views go on reading ``request.GET``:

- a POST with the field ``_seal`` keeps its fields under a key and is answered at once, as the GET to
  ``?k=<key>`` would be, with that address put in the address bar (``HX-Push-Url`` for htmx; for a page, the
  body's ``data-sealed-address``, which ``static/js/sealed-address.js`` puts in place of the POST's history
  entry, so a reload or the back button never posts again);
- a request with ``k`` gets the kept fields in ``request.GET`` (the visible ones, such as ``page``, on top);
- a page GET that still carries a personal value in its query string (an old bookmark, a hand-typed URL) is
  sealed and redirected the same way, so that the address bar, the history and the next Referer lose it.

``request.visible_query`` is the query string as it is in the address bar: links are built from it (the
pagination, the sort headers, the export button), never from ``request.GET``. Not covered
(``REGISTRY["SEALED_QUERY_EXEMPT"]``): the API, which has body-based lookups for document and phone numbers
(docs/api.md), and the Django admin, whose changelist builds its own links from its query string (it is for
setting up stations and accounts; docs/security.md).
"""

import base64
import hashlib
import hmac
import json
import secrets

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponseRedirect, QueryDict

SESSION_KEY = "sealed_queries"  # in the session: this session's secret, which names its kept searches
KEY = "k"
SEAL = "_seal"
NOT_KEPT = {"csrfmiddlewaretoken", SEAL, KEY}
# Query parameters whose value may be about a person: never left in a page's address.
PERSONAL = {"q", "document_number", "phone", "name"}
CACHE_PREFIX = "sealed-query"


def _secret(request, *, create: bool) -> str | None:
    """The session's own secret (written once per session; it survives the new session key at sign-in and
    goes with the session at sign-out). Searches are kept in the cache under it, so a search writes nothing to
    the session: the cost of a search's POST stays that of the page (docs/performance.md)."""
    secret = request.session.get(SESSION_KEY)
    if isinstance(secret, str):
        return secret
    if not create:
        return None
    secret = secrets.token_urlsafe(16)
    request.session[SESSION_KEY] = secret
    return secret


def _cache_key(secret: str, key: str) -> str:
    return f"{CACHE_PREFIX}:{secret}:{key}"


def seal(request, params: QueryDict) -> str:
    """Keep ``params`` (without the empty ones) for this session; returns their key. The same fields get the
    same key (a keyed hash of them), so typing and retyping keeps one entry; entries end with the session's
    lifetime, and a key from another session finds nothing."""
    fields = [[name, values] for name, values in params.lists()
              if name not in NOT_KEPT and any(value != "" for value in values)]
    secret = _secret(request, create=True)
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    key = base64.urlsafe_b64encode(hmac.new(secret.encode(), canonical, hashlib.sha256).digest()[:12]).decode()
    cache.set(_cache_key(secret, key), fields, timeout=settings.SESSION_COOKIE_AGE)
    return key


def unsealed(request, key: str) -> QueryDict | None:
    """The fields kept under ``key`` for this session, or None."""
    secret = _secret(request, create=False)
    stored = cache.get(_cache_key(secret, key)) if secret else None
    if stored is None:
        return None
    params = QueryDict(mutable=True)
    for name, values in stored:
        params.setlist(name, values)
    return params


def address(path: str, key: str, visible: QueryDict | None = None) -> str:
    query = QueryDict(mutable=True)
    query[KEY] = key
    for name, values in (visible or {}).lists() if visible else []:
        if name not in PERSONAL and name not in NOT_KEPT:
            query.setlist(name, values)
    return f"{path}?{query.urlencode()}"


class SealedQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.visible_query = request.GET
        request.sealed_query_expired = False
        response = self.get_response(request)
        pushed = getattr(request, "sealed_push_url", None)
        if pushed and getattr(request, "htmx", False) and 200 <= response.status_code < 300:
            response["HX-Push-Url"] = pushed
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        """After the CSRF check (this runs after ``CsrfViewMiddleware``) and the sign-in policy."""
        if request.path.startswith(tuple(settings.REGISTRY["SEALED_QUERY_EXEMPT"])) or not hasattr(request, "session"):
            return None
        if request.method == "POST" and SEAL in request.POST:
            key = seal(request, request.POST)
            target = address(request.path, key)
            # Answer now, as the GET to ``target`` would (one request, not a redirect and another), and put
            # that address in the bar: htmx from HX-Push-Url, a page from its body's data-sealed-address
            # (static/js/sealed-address.js replaces the POST's history entry with it).
            request.method = "GET"
            request.GET = self.merged(unsealed(request, key), QueryDict())
            request.visible_query = QueryDict(target.split("?", 1)[1])
            request.sealed_push_url = target
            return None
        key = request.GET.get(KEY)
        if key:  # any method: a form posted on a sealed page (an unmasked export) acts on its filters too
            stored = unsealed(request, key)
            if stored is None:
                request.sealed_query_expired = True
                stored = QueryDict()
            request.GET = self.merged(stored, request.GET)
            return None
        if request.method not in ("GET", "HEAD"):
            return None
        if not getattr(request, "htmx", False) and any(request.GET.get(name) for name in PERSONAL):
            key = seal(request, request.GET)
            return HttpResponseRedirect(address(request.path, key, request.GET), status=303)
        return None

    @staticmethod
    def merged(stored: QueryDict, visible: QueryDict) -> QueryDict:
        params = stored.copy()
        for name, values in visible.lists():
            if name != KEY:
                params.setlist(name, values)
        params._mutable = False
        return params
