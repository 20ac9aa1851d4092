"""Work measured in a process of its own, so that its time and peak RSS are its own.

``python -m bench.worker <task> '<json args>'`` prints one JSON line: seconds, rows, peak_rss_mb (VmHWM).
Product work goes through the Celery tasks' bodies (``task.apply()``: in this process, as a worker
would run them); baselines and floors run in transactions rolled back unless said otherwise.
"""

import csv
import datetime
import hashlib
import io
import json
import os
import random
import sys
import threading
import time
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.db import connection, connections, transaction  # noqa: E402
from django.db.models import Exists, OuterRef  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.harness import rss_peak_mb  # noqa: E402
from housing.models import CURRENT_RESIDENCE_STATUSES as CURRENT  # noqa: E402


def emit(**answer):
    answer["peak_rss_mb"] = rss_peak_mb(os.getpid())
    print(json.dumps(answer, default=str), flush=True)


class Rollback(Exception):
    pass


# --- 6. rating ---------------------------------------------------------------------------------------


def rating(args):
    from housing.models import Property
    from patrol.tasks import rating_recalculate_all

    total = Property.objects.count()
    started = time.perf_counter()
    result = rating_recalculate_all.apply(kwargs={"run": f"bench-{time.time():.0f}"})
    seconds = time.perf_counter() - started
    if result.failed():
        raise RuntimeError(result.traceback)
    emit(seconds=round(seconds, 2), rows=result.result, properties=total,
         what="rating_recalculate_all: batches of 5,000, one INSERT ... SELECT each")


def rating_naive(args):
    """A Python loop, one property at a time, counting with the ORM and saving a row each: on a sample."""
    from housing.models import Property, Residence, Unit
    from patrol.models import Inspection, PropertyRating, VerificationRequest

    today = timezone.localdate()
    year_ago = today - datetime.timedelta(days=365)
    total = Property.objects.count()
    ids = list(Property.objects.order_by("?").values_list("pk", flat=True)[:args.get("sample", 300)])
    started = time.perf_counter()
    try:
        with transaction.atomic():
            for prop in Property.objects.filter(pk__in=ids):
                residences = Residence.objects.filter(unit__property=prop)
                arrivals = list(residences.filter(start_date__gte=year_ago))
                on_time = sum(1 for r in arrivals if r.reported_on and (r.reported_on - r.start_date).days <= 3)
                current = residences.filter(status__in=CURRENT)
                residents, overdue = current.count(), current.filter(next_verification_due__lt=today).count()
                inspection = Inspection.objects.filter(property=prop).order_by("-inspected_on").first()
                crowded = sum(1 for unit in Unit.objects.filter(property=prop)
                              if unit.residences.filter(status__in=CURRENT).count() > unit.capacity)
                unanswered = VerificationRequest.objects.filter(property=prop, closed_on__isnull=True).count()
                points = (30 * on_time // max(len(arrivals), 1) + (15 if residents and not overdue else 0)
                          + (25 if inspection and inspection.passed else 0) + (15 if not crowded else 0)
                          + (15 if prop.agreement_signed_on and not unanswered else 0))
                PropertyRating.objects.create(property=prop, computed_at=timezone.now(), run="bench-naive",
                                              is_current=False, total=points, stars=min(5, max(1, points // 20)))
            raise Rollback
    except Rollback:
        pass
    seconds = time.perf_counter() - started
    emit(seconds=round(seconds * total / len(ids), 1), rows=total, extrapolated=True,
         what=f"naive Python loop per property, measured on {len(ids)} properties and scaled to {total:,}")


def rating_floor(args):
    """The product's rating SQL over every property as one INSERT ... SELECT, on a raw cursor (rolled back)."""
    from housing.models import Property
    from patrol.rating import RATED_COLUMNS, rated_properties_sql

    today = timezone.localdate()
    ids = list(Property.objects.order_by("pk").values_list("pk", flat=True))
    select, params = rated_properties_sql(ids, today)
    columns = ", ".join(["property_id", "computed_at", "run", "is_current", *RATED_COLUMNS])
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        started = time.perf_counter()
        cursor.execute(f"INSERT INTO patrol_propertyrating ({columns}) SELECT r.id, %s, %s, %s, "  # noqa: S608
                       f"{', '.join('r.' + name for name in RATED_COLUMNS)} FROM ({select}) r",
                       [timezone.now(), "bench-floor", False, *params])
        rows = cursor.rowcount
        seconds = time.perf_counter() - started
        cursor.execute("ROLLBACK")
    emit(seconds=round(seconds, 2), rows=rows, what="the same rating SQL, all properties in one statement")


# --- 6. sweep ----------------------------------------------------------------------------------------------


def _sweep_reset():
    """Back to the generated state: no verification requests, no sweep notifications (raw SQL, not audited)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_notification WHERE kind IN ('verification_due', 'verification_overdue')")
        cursor.execute("DELETE FROM patrol_verificationrequest")


def _needing(today):
    from housing.models import Property, Residence

    due = Residence.objects.filter(unit__property=OuterRef("pk"), status__in=CURRENT,
                                   next_verification_due__lte=today)
    return Property.objects.filter(Exists(due)).count()


def sweep(args):
    """The sweep task from the generated state; stopped at ``budget`` seconds with its progress if slower."""
    from patrol.models import VerificationRequest
    from patrol.tasks import verification_sweep_task

    budget = args.get("budget", 1200)
    _sweep_reset()
    today = timezone.localdate()
    needing = _needing(today)
    started = time.perf_counter()

    def watchdog():
        time.sleep(budget)
        opened = VerificationRequest.objects.count()
        notified = _count("SELECT COUNT(*) FROM registry_notification WHERE kind = 'verification_due'")
        connections.close_all()
        emit(seconds=round(time.perf_counter() - started, 1), rows=opened, killed=True,
             extrapolated_seconds=round(budget * needing / max(opened, 1)),
             note=f"stopped after {budget} s with {opened:,} of {needing:,} properties' requests opened "
                  f"({notified:,} notifications); at that pace the whole sweep takes about "
                  f"{budget * needing / max(opened, 1) / 60:.0f} min",
             what="verification_sweep_task")
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    result = verification_sweep_task.apply()
    seconds = time.perf_counter() - started
    if result.failed():
        raise RuntimeError(result.traceback)
    notified = _count("SELECT COUNT(*) FROM registry_notification WHERE kind = 'verification_due'")
    emit(seconds=round(seconds, 2), rows=result.result["opened"], properties_needing=needing,
         note=f"{result.result['opened']:,} requests opened, {notified:,} notifications",
         what="verification_sweep_task from the generated state (no open requests)")


def _count(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def sweep_naive(args):
    """A loop over current residences, one request per property with get_or_create: on a sample."""
    from housing.models import Residence
    from patrol.models import VerificationRequest

    _sweep_reset()
    today = timezone.localdate()
    total = Residence.objects.filter(status__in=CURRENT).count()
    sample = args.get("sample", 3000)
    started = time.perf_counter()
    try:
        with transaction.atomic():
            for residence in Residence.objects.filter(status__in=CURRENT).order_by("?")[:sample]:
                if residence.next_verification_due and residence.next_verification_due <= today:
                    VerificationRequest.objects.get_or_create(
                        property=residence.unit.property, closed_on=None,
                        defaults={"kind": "visit", "opened_on": today, "due_since": residence.next_verification_due})
            raise Rollback
    except Rollback:
        pass
    seconds = time.perf_counter() - started
    emit(seconds=round(seconds * total / sample, 1), rows=total, extrapolated=True,
         what=f"naive loop per current residence, measured on {sample:,} and scaled to {total:,}")


def sweep_floor(args):
    """The sweep's writes as two set-based INSERTs (requests, then a notification per station staff member)."""
    _sweep_reset()
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO patrol_verificationrequest (property_id, kind, opened_on, due_since) "
            "SELECT u.property_id, 'visit', %s, MIN(r.next_verification_due) FROM housing_residence r "
            "JOIN housing_unit u ON u.id = r.unit_id WHERE r.status IN ('active', 'unconfirmed') "
            "AND r.next_verification_due <= %s GROUP BY u.property_id", [today, today])
        opened = cursor.rowcount
        # One digest per station staff member of the stations with new requests (as the product sends).
        cursor.execute(
            "INSERT INTO registry_notification (user_id, key, kind, title, body, url, created_at) "
            "SELECT pr.user_id, 'verify:station:' || pr.station_id || ':' || %s, 'verification_due', "
            "'Verification due', '', '/housing/properties/?verification=open', now() FROM registry_profile pr "
            "JOIN auth_user au ON au.id = pr.user_id AND au.is_active WHERE pr.role IN ('staff', 'officer') "
            "AND pr.station_id IN (SELECT p.station_id FROM patrol_verificationrequest v "
            "JOIN housing_property p ON p.id = v.property_id WHERE v.opened_on = %s)", [str(today), today])
        notified = cursor.rowcount
        cursor.execute("UPDATE patrol_verificationrequest SET escalated_on = %s WHERE closed_on IS NULL "
                       "AND escalated_on IS NULL AND due_since < %s", [today, today - datetime.timedelta(days=14)])
        seconds = time.perf_counter() - started
        cursor.execute("ROLLBACK")
    emit(seconds=round(seconds, 2), rows=opened, notifications=notified,
         what="INSERT ... SELECT of the requests, of the staff digests, UPDATE of the escalations; raw cursor")


# --- 7. import -----------------------------------------------------------------------------------------------


def _import_rows(count, username, seed):
    """Rows of new residents for units of the user's station, as a CSV with the documented column keys."""
    from django.contrib.auth import get_user_model

    from bench.setup import new_identities
    from housing.models import Unit

    user = get_user_model().objects.get(username=username)
    units = list(Unit.objects.visible_to(user).values_list("property__registration_number", "label", "pk",
                                                           "property__station_id"))
    rng = random.Random(seed)
    today = timezone.localdate()
    people = new_identities(count, seed=seed)
    rows = []
    for person in people:
        number, label, unit_id, station_id = rng.choice(units)
        rows.append({"document_number": person["document_number"], "name": person["name"], "phone": person["phone"],
                     "property_registration_number": number, "unit_label": label,
                     "start_date": (today - datetime.timedelta(days=rng.randrange(0, 60))).isoformat(),
                     "reason": rng.choice(["work", "business", "family"]), "_unit": unit_id, "_station": station_id,
                     "_person": person})
    return user, rows


def _csv_bytes(rows) -> bytes:
    out = io.StringIO()
    keys = ["document_number", "name", "phone", "property_registration_number", "unit_label", "start_date", "reason"]
    writer = csv.DictWriter(out, fieldnames=keys, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def import_validate(args):
    import housing.import_sheet as import_sheet
    from housing.import_files import imports_dir
    from housing.models import ImportJob
    from housing.tasks import import_validate_task

    import_sheet.MAX_ROWS = max(import_sheet.MAX_ROWS, args["rows"])  # the bench's own process only (see cases.py)
    user, rows = _import_rows(args["rows"], args["username"], args["seed"])
    data = _csv_bytes(rows)
    # More rows than the product's cap make a file over its upload size too (same caveat as MAX_ROWS).
    from django.conf import settings

    settings.UPLOAD_MAX_BYTES = max(settings.UPLOAD_MAX_BYTES, len(data))
    stored = f"{uuid.uuid4().hex}.csv"
    path = imports_dir() / stored
    path.write_bytes(data)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM persons_person")
        person_top = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM housing_residence")
        residence_top = cursor.fetchone()[0]
    job = ImportJob.objects.create(user=user, station_id=rows[0]["_station"], filename="bench.csv",
                                   stored_name=stored, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                                   language="zh-hans")
    started = time.perf_counter()
    result = import_validate_task.apply(args=(job.pk, "zh-hans"))
    seconds = time.perf_counter() - started
    if result.failed():
        raise RuntimeError(result.traceback)
    job.refresh_from_db()
    if job.status != "validated":
        raise RuntimeError(f"dry run ended {job.status}: {job.failure_reason}")
    emit(seconds=round(seconds, 2), rows=job.total_rows, valid=job.valid_rows, errors_found=job.error_rows,
         job=job.pk, person_top=person_top, residence_top=residence_top, expected=job.expected,
         what="import_validate_task (dry run)")


def import_commit(args):
    import housing.import_sheet as import_sheet
    from housing.models import ImportJob
    from housing.tasks import import_commit_task

    import_sheet.MAX_ROWS = max(import_sheet.MAX_ROWS, 1_000_000)
    job = ImportJob.objects.get(pk=args["job"])
    from django.conf import settings

    settings.UPLOAD_MAX_BYTES = max(settings.UPLOAD_MAX_BYTES, job.size)
    ImportJob.objects.filter(pk=job.pk).update(confirmed_at=timezone.now())
    started = time.perf_counter()
    result = import_commit_task.apply(args=(job.pk, "zh-hans"))
    seconds = time.perf_counter() - started
    if result.failed():
        raise RuntimeError(result.traceback)
    job.refresh_from_db()
    if job.status != "done":
        raise RuntimeError(f"import ended {job.status}: {job.failure_reason}")
    emit(seconds=round(seconds, 2), rows=job.valid_rows, result=job.result, what="import_commit_task")


def import_cleanup(args):
    """Remove what the import added (residences, then their persons), so the city keeps its size."""
    from housing.models import ImportJob

    job = ImportJob.objects.get(pk=args["job"])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_imported ON COMMIT DROP AS SELECT id, person_id "
                       "FROM housing_residence WHERE source = 'import' AND created_at >= %s AND created_by_id = %s",
                       [job.started_at, job.user_id])
        cursor.execute("DELETE FROM housing_residence WHERE id IN (SELECT id FROM bench_imported)")
        # The persons' search entries (persons.SearchEntry: Django's cascade, not the database's) go first.
        cursor.execute("DELETE FROM persons_searchentry e USING persons_person p WHERE e.person_id = p.id "
                       "AND p.id IN (SELECT person_id FROM bench_imported) AND p.created_at >= %s "
                       "AND NOT EXISTS (SELECT 1 FROM housing_residence r WHERE r.person_id = p.id)", [job.started_at])
        cursor.execute("DELETE FROM persons_person p WHERE p.id IN (SELECT person_id FROM bench_imported) "
                       "AND p.created_at >= %s AND NOT EXISTS (SELECT 1 FROM housing_residence r "
                       "WHERE r.person_id = p.id)", [job.started_at])
        removed = cursor.rowcount
    # What the product's changes_settle_task does after an import (no Celery worker runs during the bench):
    # number the import's feed entries and vacuum, so the next benchmark does not pay for them. Timed apart.
    from registry.changes import changes_settle

    started = time.perf_counter()
    numbered = changes_settle()
    # The deleted rows too: a city does not lose 100,000 persons at once, and autovacuum waits for 20% of a
    # table, so the next benchmarks would otherwise read around their dead versions.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) housing_residence, persons_person, persons_searchentry")
    emit(seconds=0, removed=removed, settle_seconds=round(time.perf_counter() - started, 1), settled=numbered)


def import_naive(args):
    """Plain ModelForms row by row (person, then residence): on a sample, rolled back."""
    from bench.baseline import PersonForm, ResidenceForm
    from housing.models import Unit

    _user, rows = _import_rows(args["sample"], args["username"], args["seed"] + 1)
    started = time.perf_counter()
    saved = 0
    try:
        with transaction.atomic():
            for row in rows:
                unit = Unit.objects.get(property__registration_number=row["property_registration_number"],
                                        label=row["unit_label"])
                person_form = PersonForm({"document_type": "resident_id", "document_number": row["document_number"],
                                          "name": row["name"], "sex": row["_person"]["sex"],
                                          "birth_date": row["_person"]["birth_date"], "phone": row["phone"]})
                residence_form = ResidenceForm({"unit": unit.pk, "start_date": row["start_date"],
                                                "reason": row["reason"]})
                if person_form.is_valid() and residence_form.is_valid():
                    residence = residence_form.save(commit=False)
                    residence.person, residence.source = person_form.save(), "import"
                    residence.save()
                    saved += 1
            raise Rollback
    except Rollback:
        pass
    seconds = time.perf_counter() - started
    emit(seconds=round(seconds, 2), rows=saved, what=f"plain ModelForms row by row, {saved:,} rows (rolled back)")


def import_floor(args):
    """PostgreSQL COPY of the same rows into persons and residences (prepared beforehand; rolled back)."""
    from django.db.models import Max

    from persons.models import Person
    from registry.crypto import encrypt

    _user, rows = _import_rows(args["rows"], args["username"], args["seed"] + 2)  # numbers nobody has yet
    now = timezone.now()
    first = (Person.objects.aggregate(top=Max("pk"))["top"] or 0) + 1_000_000
    persons, residences = io.StringIO(), io.StringIO()
    prepared = time.perf_counter()
    for offset, row in enumerate(rows):
        person = row["_person"]
        number = person["document_number"]
        pk = first + offset
        persons.write("\t".join([str(pk), "resident_id", "", encrypt(number),
                                 Person.document_key("resident_id", number), Person.part_key("head", number[:6]),
                                 Person.part_key("tail", number[-4:]),
                                 person["name"], "", "", person["sex"], person["birth_date"].isoformat(),
                                 row["phone"], "", "", str(row["_station"]), str(now), str(now), "1"]) + "\n")
        residences.write("\t".join([str(pk), str(pk), str(row["_unit"]), str(row["_station"]), row["start_date"],
                                    row["reason"], "import", "active", row["start_date"], "", str(now), str(now),
                                    "1", "", ""]) + "\n")
    prepare_seconds = time.perf_counter() - prepared
    persons.seek(0)
    residences.seek(0)
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        started = time.perf_counter()
        cursor.cursor.copy_expert(
            "COPY persons_person (id, document_type, document_country, document_number, document_hash, "
            "document_head_hash, document_tail_hash, name, name_pinyin, name_initials, sex, birth_date, phone, "
            "hukou_address, occupation, registered_station_id, created_at, updated_at, version) FROM STDIN", persons)
        cursor.cursor.copy_expert(
            "COPY housing_residence (id, person_id, unit_id, station_id, start_date, reason, source, status, "
            "reported_on, note, created_at, updated_at, version, end_reason, ended_via) FROM STDIN", residences)
        seconds = time.perf_counter() - started
        cursor.execute("ROLLBACK")
    emit(seconds=round(seconds, 2), rows=len(rows), prepare_seconds=round(prepare_seconds, 2),
         what="COPY into persons and residences (rows prepared beforehand, not timed)")


# --- 9. oversight ----------------------------------------------------------------------------------------------


def _last_history_day():
    """The generated history's last day (generate_city writes the 30 days before it was run)."""
    from registry.models import AuditEvent

    last = (AuditEvent.objects.filter(actor_username__startswith="city_s").order_by("-at")
            .values_list("at", flat=True).first())
    if last is None:
        raise SystemExit("no generated audit history: regenerate the city (generate_city --audit-days 30)")
    return timezone.localtime(last).date()


def access_flags(args):
    """The nightly flagging (``access_flags_task``) over the history's last day, where the planted patterns are.
    That day's flags from an earlier run are removed first, so the run writes them again."""
    from oversight.models import AccessFlag
    from oversight.tasks import access_flags_task
    from registry.models import AuditEvent

    day = _last_history_day()
    AccessFlag.objects.filter(day=day).delete()
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    events = AuditEvent.objects.filter(at__gte=start, at__lt=start + datetime.timedelta(days=1)).count()
    started = time.perf_counter()
    result = access_flags_task.apply(kwargs={"day": day.isoformat()})
    seconds = time.perf_counter() - started
    if result.failed():
        raise RuntimeError(result.traceback)
    found = sorted(AccessFlag.objects.filter(day=day).values_list("rule", "actor_username"))
    emit(seconds=round(seconds, 2), rows=events, day=day, flags=found,
         what=f"five rules over the {events:,} events of {day} (and the 30 days before for the median)")


def tally_check(args):
    """The nightly check of the dashboards' kept figures against a fresh count (workspace/tallies.py), after
    folding the day's deltas as the ten-minute task does."""
    from workspace.tasks import tally_check_task, tally_compact_task

    started = time.perf_counter()
    folded = tally_compact_task.apply()
    compacted = time.perf_counter() - started
    result = tally_check_task.apply()
    if result.failed() or folded.failed():
        raise RuntimeError(result.traceback or folded.traceback)
    emit(seconds=round(time.perf_counter() - started, 2), rows=result.result["figures"],
         note=f"{folded.result:,} deltas folded in {compacted:.1f} s; {result.result['figures']:,} figures counted "
              f"afresh, {result.result['different']} different", what="tally_compact_task, tally_check_task")


TASKS = {f.__name__: f for f in [rating, rating_naive, rating_floor, sweep, sweep_naive, sweep_floor, import_validate,
                                  import_commit, import_cleanup, import_naive, import_floor, access_flags,
                                  tally_check]}

if __name__ == "__main__":
    TASKS[sys.argv[1]](json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
