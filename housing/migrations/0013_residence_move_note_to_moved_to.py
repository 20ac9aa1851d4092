"""A move used to write "Moved to <unit>" into the ended residence's note, in the language of whoever moved the
person (a Celery import: the site's default, Chinese). It now records the unit in ``moved_to`` and the page says
it in the reader's language: each such line becomes ``moved_to`` (the unit of the person's registration that
started the day this one ended) and leaves the note; the reason is "moved within the district" or "left the
district" by the two stations' districts. Lines whose next registration cannot be found are left as they were.
"""

from django.db import migrations

# The sentence as it was written in each language the site has had ("Moved to %(unit)s", "已迁至 %(unit)s").
PREFIXES = ("Moved to ", "已迁至 ")
BATCH = 2000


def notes_to_moved_to(apps, schema_editor):
    Residence = apps.get_model("housing", "Residence")
    from django.db.models import Q

    has_line = Q()
    for prefix in PREFIXES:
        has_line |= Q(note__contains=prefix)
    candidates = (Residence.objects.filter(has_line, status="ended", moved_to__isnull=True)
                  .order_by("pk").values_list("pk", "person_id", "end_date", "note", "station__district_id"))
    last = 0
    while True:
        rows = list(candidates.filter(pk__gt=last)[:BATCH])
        if not rows:
            return
        last = rows[-1][0]
        persons = {person_id for _pk, person_id, _end, _note, _district in rows}
        following = {}
        for next_pk, person_id, start, unit_id, district_id in (
                Residence.objects.filter(person_id__in=persons).order_by("pk")
                .values_list("pk", "person_id", "start_date", "unit_id", "station__district_id")):
            following.setdefault((person_id, start), []).append((next_pk, unit_id, district_id))
        changed = []
        for pk, person_id, end_date, note, district_id in rows:
            lines = note.split("\n")
            kept = [line for line in lines if not line.startswith(PREFIXES)]
            target = next(((unit, district) for next_pk, unit, district in following.get((person_id, end_date), ())
                           if next_pk > pk), None)
            if target is None or len(kept) == len(lines):
                continue
            unit_id, new_district = target
            changed.append(Residence(pk=pk, note="\n".join(kept).strip(), moved_to_id=unit_id,
                                     end_reason="moved_within" if new_district == district_id else "left_district"))
        Residence.objects.bulk_update(changed, ["note", "moved_to", "end_reason"])


class Migration(migrations.Migration):

    dependencies = [
        ("housing", "0012_residence_end_reason_residence_moved_to_and_more"),
    ]

    operations = [
        migrations.RunPython(notes_to_moved_to, migrations.RunPython.noop, elidable=True),
    ]
