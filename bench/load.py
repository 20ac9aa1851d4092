"""Sustained mixed load from a second process: ``python -m bench.load --base-url URL --inputs FILE``.

Closed loop: ``--concurrency`` client threads, each logged in once (its own session, and the shared API
token), send requests back to back for ``--seconds``; prints one JSON line with requests per second,
latency percentiles over all requests and per kind, and every error. No Django here: plain HTTP.

Modes: ``product`` (the mix below, against the product's pages and API), ``baseline`` (the same mix
against the stock admin, the plain ModelForm view, the naive DRF lists and the naive dashboard),
``ping`` (a view that does nothing: the HTTP stack's ceiling), and two single kinds of request that
bound what any mix can reach on the machine: ``page`` (a signed-in page that reads no person: the
notifications list) and ``id`` (the cheapest person read, an ID lookup through the API).
"""

import argparse
import datetime
import json
import random
import threading
import time
import zoneinfo
from collections import defaultdict

import requests

from .harness import ApiClient, Browser, percentile

# Kinds that are a user's action of several requests; each request is timed and counted on its own.
SEVERAL_REQUESTS = {"form_register"}

# Modes that send one kind of request only.
SINGLE = {"ping": "ping", "page": "signed_in_page", "id": "api_id"}

# (kind, weight): reads dominate, about one action in six writes a registration (the form's is two requests).
MIX = [("search", 25), ("api_id", 10), ("person_page", 10), ("api_residences", 15), ("api_persons", 5),
       ("changes", 5), ("dashboard", 5), ("api_register", 10), ("form_register", 5), ("search_api", 10)]


class Worker:
    """One simulated user: logged in once, then requests back to back until told to stop."""

    def __init__(self, number, args, inputs):
        self.number, self.args, self.inputs = number, args, inputs
        self.rng = random.Random(number * 7919 + int(time.time()))
        self.identities = inputs["identities"][number::args.concurrency]
        self.next_identity = 0
        self.zone = zoneinfo.ZoneInfo(inputs["time_zone"])
        base, mode = args.base_url, args.mode
        self.api = ApiClient(base, inputs["token"])
        if mode not in ("ping", "id"):
            username = inputs["desk_admin"] if mode == "baseline" else inputs["staff"][0]
            self.browser = Browser(base).login(username, inputs["password"])

    def today(self) -> datetime.date:
        """The server's date (its TIME_ZONE), which this process's local date is not around midnight."""
        return datetime.datetime.now(self.zone).date()

    def identity(self):
        person = self.identities[self.next_identity % len(self.identities)]
        self.next_identity += 1
        return person

    def loop(self, stop_at, results):
        mode = self.args.mode
        kinds = [k for k, _ in MIX]
        weights = [w for _, w in MIX]
        self.results = results
        while time.monotonic() < stop_at:
            kind = SINGLE.get(mode) or self.rng.choices(kinds, weights)[0]
            send = getattr(self, f"{mode}_{kind}" if mode == "baseline" else kind)
            if kind in SEVERAL_REQUESTS and mode != "baseline":
                send()  # times each of its requests itself
            else:
                self.timed(kind, send)

    def timed(self, kind, send) -> bool:
        """Send one HTTP request and record it: every sample is one request."""
        started = time.perf_counter()
        try:
            ok, detail = send()
        except requests.RequestException as exc:
            ok, detail = False, repr(exc)[:200]
        self.results.append((kind, (time.perf_counter() - started) * 1000, ok, detail))
        return ok

    # --- the product ---------------------------------------------------------------------------------

    def _person(self):
        return self.rng.choice(self.inputs["persons"])

    def _term(self):
        terms = self.inputs["terms"]
        kind = self.rng.choice(["id"] + list(terms))
        return self._person()["number"] if kind == "id" else self.rng.choice(terms[kind])

    def _place(self):
        unit, prop, community = self.rng.choice(self.inputs["units"])
        return {"unit": unit, "property": prop, "community": community, "reason": "work",
                "start_date": self.today().isoformat()}

    def ping(self):
        r = self.api.session.get(self.args.base_url + "/bench/ping/")
        return r.status_code == 200, r.status_code

    def signed_in_page(self):
        r = self.browser.get("/notifications/")
        return r.status_code == 200, r.status_code

    def search(self):
        r = self.browser.search("/search/", self._term())
        return r.status_code == 200, r.status_code

    def search_api(self):
        r = self.api.get("/api/v1/persons/", params={"q": self._term()})
        return r.status_code == 200, r.status_code

    def api_id(self):
        person = self._person()
        r = self.api.get("/api/v1/persons/", params={"q": person["number"]})
        return r.status_code == 200 and r.json()["results"][0]["id"] == person["id"], r.status_code

    def person_page(self):
        r = self.browser.get(f"/persons/{self._person()['id']}/")
        return r.status_code == 200, r.status_code

    def api_residences(self):
        due = self.today() + datetime.timedelta(days=self.rng.randrange(-30, 180))
        r = self.api.get("/api/v1/residences/", params={"status": "active", "due_before": due.isoformat(),
                                                        "page_size": 50})
        return r.status_code == 200, r.status_code

    def api_persons(self):
        r = self.api.get("/api/v1/persons/", params={"sex": self.rng.choice("MF"), "page_size": 50,
                                                     "ordering": self.rng.choice(["name", "-created"])})
        return r.status_code == 200, r.status_code

    def changes(self):
        r = self.api.get("/api/v1/changes/", params={"after": self.rng.randrange(0, self.inputs["feed_top"]),
                                                     "limit": 500})
        return r.status_code == 200, r.status_code

    def dashboard(self):
        r = self.browser.get("/dashboard/")
        return r.status_code == 200, r.status_code

    def api_register(self):
        person = self.identity()
        r = self.api.post("/api/v1/persons/register/", {
            "document_type": "resident_id", "document_number": person["document_number"], "name": person["name"],
            "sex": person["sex"], "birth_date": person["birth_date"], "phone": person["phone"],
            "unit": self._place()["unit"], "start_date": self.today().isoformat(), "reason": "work"})
        return r.status_code == 201, f"{r.status_code} {r.text[:200]}" if r.status_code != 201 else 201

    def form_register(self):
        """The registration form's two steps, as a person at the desk sends them: two requests, two samples."""
        person = self.identity()
        document = {"document_type": "resident_id", "document_country": "", "prefill_unit": "",
                    "document_number": person["document_number"]}

        def lookup():
            r = self.browser.post("/persons/register/", {**document, "step": "lookup"})
            return r.status_code == 200, r.status_code

        def register():
            r = self.browser.post("/persons/register/", {
                **document, "step": "register", "name": person["name"], "sex": person["sex"],
                "birth_date": person["birth_date"], "phone": person["phone"], "hukou_address": "",
                "occupation": "", "employer": "", "confirm_not_duplicate": "on", **self._place()})
            return r.status_code == 302, r.status_code

        if self.timed("form_lookup", lookup):
            self.timed("form_register", register)

    # --- the baseline: the same mix on stock Django and naive DRF -----------------------------------

    def baseline_search(self):
        term = self._term()
        r = self.browser.get("/bench/admin/persons/person/", params={"q": term})
        return r.status_code == 200, r.status_code

    def baseline_search_api(self):
        r = self.api.get("/bench/api/persons/", params={"search": self._term()})
        return r.status_code == 200, r.status_code

    def baseline_api_id(self):
        person = self._person()
        r = self.api.get("/bench/api/persons/", params={"search": person["digest"]})
        return r.status_code == 200, r.status_code

    def baseline_person_page(self):
        r = self.browser.get(f"/bench/admin/persons/person/{self._person()['id']}/change/")
        return r.status_code == 200, r.status_code

    def baseline_api_residences(self):
        due = self.today() + datetime.timedelta(days=self.rng.randrange(-30, 180))
        r = self.api.get("/bench/api/residences/", params={"status": "active", "next_verification_due__lte":
                                                           due.isoformat(), "station": self.inputs["station"]})
        return r.status_code == 200, r.status_code

    def baseline_api_persons(self):
        r = self.api.get("/bench/api/persons/", params={"sex": self.rng.choice("MF"),
                                                        "registered_station": self.inputs["station"]})
        return r.status_code == 200, r.status_code

    def baseline_changes(self):
        r = self.api.get("/bench/api/changes/", params={"station_id": self.inputs["station"], "page_size": 500,
                                                        "seq__gt": self.rng.randrange(0, self.inputs["feed_top"])})
        return r.status_code == 200, r.status_code

    def baseline_dashboard(self):
        r = self.browser.get("/bench/dashboard/")
        return r.status_code == 200, r.status_code

    def baseline_api_register(self):
        return self.baseline_form_register()

    def baseline_form_register(self):
        person = self.identity()
        r = self.browser.post("/bench/register/", {
            "document_type": "resident_id", "document_number": person["document_number"], "name": person["name"],
            "sex": person["sex"], "birth_date": person["birth_date"], "phone": person["phone"], **self._place()})
        return r.status_code == 302, r.status_code


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--mode", choices=["product", "baseline", *SINGLE], default="product")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with open(args.inputs) as handle:
        inputs = json.load(handle)
    workers = [Worker(n, args, inputs) for n in range(args.concurrency)]

    def run_all(seconds, results):
        stop_at = time.monotonic() + seconds
        threads = [threading.Thread(target=w.loop, args=(stop_at, results), daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    run_all(3, [])  # warm-up, not counted
    results = []
    started = time.monotonic()
    run_all(args.seconds, results)
    elapsed = time.monotonic() - started
    ok = [ms for _kind, ms, good, _d in results if good]
    errors = [(kind, detail) for kind, _ms, good, detail in results if not good]
    by_kind = defaultdict(list)
    for kind, ms, good, _detail in results:
        if good:
            by_kind[kind].append(ms)
    print(json.dumps({
        "mode": args.mode, "seconds": round(elapsed, 1), "concurrency": args.concurrency,
        "requests": len(results), "errors": len(errors), "first_errors": errors[:5],
        "rps": round(len(ok) / elapsed, 1), "p50": round(percentile(ok, 50) or 0, 1),
        "p95": round(percentile(ok, 95) or 0, 1), "p99": round(percentile(ok, 99) or 0, 1),
        "by_kind": {kind: {"n": len(v), "p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1)}
                    for kind, v in sorted(by_kind.items())},
    }))


if __name__ == "__main__":
    main()
