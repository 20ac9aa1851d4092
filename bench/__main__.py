"""``python -m bench`` (or ``bin/bench``): run the eleven benchmarks against one generated city.

    bin/bench --database-url postgres://registry:registry@127.0.0.1:5433/bench_100k
    bin/bench --database-url postgres://.../bench_1m --generate 1000000 --recreate

Writes this size's section of docs/performance.json and regenerates the tables in docs/performance.md.
``--only`` picks benchmarks (id,search,register,api,dashboard,nightly,import,load,oversight,lodging,filters); see
docs/performance.md.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The import last: its 100,000 rows (removed again) leave feed entries to number and tables to vacuum.
ORDER = ["nightly", "id", "search", "api", "dashboard", "register", "load", "import", "oversight", "lodging", "filters"]


def parse():
    parser = argparse.ArgumentParser(prog="bin/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="PostgreSQL database holding (or to hold) the city")
    parser.add_argument("--label", help="section name in the report (default from the number of persons: 100k, 1m)")
    parser.add_argument("--generate", type=int, metavar="N", help="migrate and run generate_city --persons N first")
    parser.add_argument("--recreate", action="store_true", help="drop and create the database first (with --generate)")
    parser.add_argument("--only", help="comma-separated subset of: " + ",".join(ORDER))
    parser.add_argument("--samples", type=int, default=100, help="requests per product measurement (default 100)")
    parser.add_argument("--baseline-samples", type=int, default=20, help="requests per baseline measurement")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8, help="clients in the sustained load")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--staff-per-station", type=int, default=20)
    parser.add_argument("--json", default=str(ROOT / "docs" / "performance.json"))
    parser.add_argument("--markdown", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--no-report", action="store_true", help="print the results, write no files")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        parser.error("--database-url (or DATABASE_URL) must name a PostgreSQL database")
    return args


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def recreate(database_url):
    import psycopg2
    from psycopg2 import sql

    name = database_url.rsplit("/", 1)[1].split("?")[0]
    admin = psycopg2.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


def ensure_redis():
    import redis
    from django.conf import settings

    url = settings.BENCH_REDIS_URL
    try:
        redis.Redis.from_url(url).ping()
        return
    except redis.ConnectionError:
        pass
    port = url.rsplit(":", 1)[1].split("/")[0]
    log(f"starting redis-server on 127.0.0.1:{port} (left running for later runs)")
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", port, "--save", "",
                    "--appendonly", "no", "--pidfile", f"/tmp/bench-redis-{port}.pid"], check=True)
    for _ in range(50):
        try:
            redis.Redis.from_url(url).ping()
            return
        except redis.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("redis did not start")


def counts():
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for table in ["persons_person", "housing_property", "housing_unit", "housing_residence", "portal_submission",
                      "patrol_inspection", "patrol_residencepermit", "registry_changelog"]:
            cursor.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])  # noqa: F541
            out[table] = int(cursor.fetchone()[0])
    return out


def main():
    args = parse()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = args.database_url
    sys.path.insert(0, str(ROOT))
    if args.recreate:
        if not args.generate:
            raise SystemExit("--recreate needs --generate N")
        recreate(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from . import cases, report
    from .harness import Gunicorn, machine
    from .setup import draw_inputs, ensure_users

    # Before the first migrate: its signal handlers (role groups, permissions) reach the cache, which is this Redis.
    ensure_redis()
    run = {}
    if args.generate:
        log("migrate")
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM persons_person)")
            if cursor.fetchone()[0]:
                raise SystemExit("the database already holds persons: use --recreate, or drop --generate")
        log(f"generate_city --persons {args.generate}")
        started = time.perf_counter()
        call_command("generate_city", persons=args.generate)
        run["generate"] = {"seconds": round(time.perf_counter() - started, 1), "persons": args.generate}
        log(f"generated in {run['generate']['seconds']} s")
    else:
        call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        run["machine"] = machine(cursor)
        cursor.execute("SELECT COUNT(*) FROM persons_person")
        run["persons"] = cursor.fetchone()[0]
    run["counts"] = counts()
    label = args.label or _label(run["persons"])
    log(f"{run['persons']:,} persons: section '{label}'")
    users = ensure_users(staff_per_station=args.staff_per_station)
    inputs = draw_inputs(users, count=max(args.samples, 200))
    log(f"users ready; {len(inputs.persons)} persons drawn from station {users.station.code}, "
        f"{len(inputs.long_names)} with long names")
    chosen = ORDER if not args.only else [c for c in ORDER if c in args.only.split(",")]
    results = []
    gunicorn = Gunicorn(database_url=args.database_url, workers=args.workers).start()
    try:
        ctx = cases.Context(base_url=gunicorn.base_url, database_url=args.database_url, users=users, inputs=inputs,
                            samples=args.samples, baseline_samples=args.baseline_samples,
                            import_rows=args.import_rows, load_seconds=args.load_seconds,
                            load_concurrency=args.concurrency, log=log)
        steps = {"nightly": cases.nightly, "id": cases.id_lookup, "search": cases.name_search,
                 "api": cases.api_lists, "dashboard": cases.dashboards, "register": cases.registration,
                 "import": cases.import_csv, "load": lambda c: cases.sustained_load(c, gunicorn),
                 "oversight": cases.oversight, "lodging": cases.lodging, "filters": cases.person_filters}
        for name in chosen:
            log(f"benchmark: {name}")
            started = time.perf_counter()
            rows = steps[name](ctx)
            results += rows
            for r in rows:
                product = r.get("product") or {}
                target = r.get("target") or {}
                log(f"  {r['key']}: {({k: product.get(k) for k in ('p50', 'p95', 'seconds', 'rows_per_second', 'rps', 'peak_rss_mb', 'errors') if product.get(k) is not None})}"  # noqa: E501
                    f"{' target ' + ('met' if target.get('pass') else 'MISSED') if target else ''}")
            log(f"  ({time.perf_counter() - started:.0f} s)")
    finally:
        gunicorn.stop()
        _drain_queue()
    run["results"] = _ordered(results)
    import os as _os

    run["load_average_at_end"] = [round(x, 2) for x in _os.getloadavg()]
    run["options"] = {k: getattr(args, k) for k in ("samples", "baseline_samples", "import_rows", "load_seconds",
                                                     "concurrency", "workers", "staff_per_station", "only")}
    if args.no_report:
        import json

        print(json.dumps(run, ensure_ascii=False, indent=1, default=str))
        return
    json_path, md_path = Path(args.json), Path(args.markdown)
    previous = _previous(json_path, label)
    if args.only and previous:  # keep the other benchmarks' last results, and the full run's header
        keep = [r for r in previous.get("results", []) if r["key"] not in {x["key"] for x in results}]
        rerun = {"only": args.only, "date": run["machine"]["date"], "commit": run["machine"]["commit"],
                 "uncommitted": run["machine"].get("uncommitted", []),
                 "load_average_at_start": run["machine"]["load_average_at_start"],
                 "load_average_at_end": run["load_average_at_end"]}
        run = {**previous, "results": _ordered(keep + results),
               "reruns": [*previous.get("reruns", []), rerun]}
    elif previous and not run.get("generate") and previous.get("generate"):
        run["generate"] = previous["generate"]
    data = report.save(json_path, label, run)
    report.render(md_path, data)
    log(f"wrote {json_path} and {md_path}")


def _label(persons: int) -> str:
    """The city's nominal size: registrations and imports add a few hundred persons to 100,000."""
    nominal = round(persons, -(len(str(persons)) - 1))
    return f"{nominal // 1_000_000}m" if nominal >= 1_000_000 else f"{nominal // 1000}k"


def _ordered(rows):
    groups = ["1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9.", "10.", "11."]
    return sorted(rows, key=lambda r: next((i for i, g in enumerate(groups) if r["group"].startswith(g)), 99))


def _previous(json_path, label):
    import json

    if not json_path.exists():
        return None
    return json.loads(json_path.read_text()).get("sizes", {}).get(label)


def _drain_queue():
    """No worker consumes the re-rating tasks the benchmarks queued: drop them so Redis does not grow."""
    import redis
    from django.conf import settings

    try:
        redis.Redis.from_url(settings.BENCH_REDIS_URL).delete("celery")
    except redis.RedisError:
        pass


if __name__ == "__main__":
    main()
