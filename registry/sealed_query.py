"""Searches and filters that never put a person's values in a URL.

A document number, phone number or name in a URL ends up in access logs, proxy logs, the browser's history and
the Referer of the next page. So the search and filter forms post, and what they posted is kept in the user's
session under an opaque key: the results' address is ``?k=<key>`` (with the page and the sort order, which
say nothing about anyone), so pagination, the back button, reloading and the export button keep working.

``SealedQueryMiddleware`` does it for every page alike, and the views go on reading ``request.GET``:

- a POST with the field ``_seal`` keeps its fields under a new key, then answers 303 to ``?k=<key>`` (an htmx
  request is answered at once, as the GET it stands for, with ``HX-Push-Url`` set to that address);
- a request with ``k`` gets the kept fields in ``request.GET`` (the visible ones, such as ``page``, on top);
- a page GET that still carries a personal value in its query string (an old bookmark, a hand-typed URL) is
  sealed and redirected the same way, so that the address bar, the history and the next Referer lose it.

``request.visible_query`` is the query string as it is in the address bar: links are built from it (the
pagination, the sort headers, the export button), never from ``request.GET``. The API is not covered: it has
body-based lookups for document and phone numbers (docs/api.md).
"""

import secrets

from django.http import HttpResponseRedirect, QueryDict

SESSION_KEY = "sealed_queries"
KEY = "k"
SEAL = "_seal"
KEPT = 20  # per session, the newest; an older key finds nothing and the page says so
NOT_KEPT = {"csrfmiddlewaretoken", SEAL, KEY}
# Query parameters whose value may be about a person: never left in a page's address.
PERSONAL = {"q", "document_number", "phone", "name"}
API_PREFIX = "/api/"


def seal(request, params: QueryDict) -> str:
    """Keep ``params`` (without the empty ones) in the session; returns their key. The same fields again get
    the same key back, so typing and retyping does not fill the session."""
    fields = [[name, values] for name, values in params.lists()
              if name not in NOT_KEPT and any(value != "" for value in values)]
    kept = request.session.get(SESSION_KEY, {})
    for key, stored in kept.items():
        if stored == fields:
            kept[key] = kept.pop(key)  # the newest again
            break
    else:
        key = secrets.token_urlsafe(9)
        kept[key] = fields
        while len(kept) > KEPT:
            kept.pop(next(iter(kept)))
    request.session[SESSION_KEY] = kept
    return key


def unsealed(request, key: str) -> QueryDict | None:
    """The fields kept under ``key`` in this session, or None."""
    stored = request.session.get(SESSION_KEY, {}).get(key)
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
        if pushed and 200 <= response.status_code < 300:
            response["HX-Push-Url"] = pushed
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        """After the CSRF check (this runs after ``CsrfViewMiddleware``) and the sign-in policy."""
        if request.path.startswith(API_PREFIX) or not hasattr(request, "session"):
            return None
        if request.method == "POST" and SEAL in request.POST:
            key = seal(request, request.POST)
            target = address(request.path, key)
            if not getattr(request, "htmx", False):
                return HttpResponseRedirect(target, status=303)
            # htmx: answer now, as the GET to ``target`` would, and put that address in the bar.
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
