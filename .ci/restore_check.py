"""Compare a restored database with the one its dump was taken from (.ci/run, "backup and restore").

    python .ci/restore_check.py snapshot FILE   # every table's row count and the first person's document number
    python .ci/restore_check.py compare FILE    # the same, with DATABASE_URL naming the restored database

``compare`` fails unless every table holds as many rows as before, the first person's document number
decrypts with the configured keys to the same number, and the stored column holds ciphertext that another key
cannot read (a dump without the keys shows no number).
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

import django  # noqa: E402

django.setup()

from cryptography.fernet import Fernet, InvalidToken  # noqa: E402
from django.db import connection  # noqa: E402

from persons.models import Person  # noqa: E402

MIN_PERSONS = 2000  # what .ci/run loads: a check on an empty database would prove nothing


def snapshot() -> dict:
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
        person = Person.objects.order_by("pk").first()
        cursor.execute("SELECT document_number FROM persons_person WHERE id = %s", [person.pk])
        stored = cursor.fetchone()[0]
    return {"database": connection.settings_dict["NAME"], "counts": counts, "person": person.pk,
            "document_number": person.document_number, "stored": stored}


def compare(before: dict, after: dict) -> list[str]:
    problems = []
    if before["database"] == after["database"]:
        problems.append(f"compared {after['database']} with itself")
    for table in sorted(set(before["counts"]) | set(after["counts"])):
        if before["counts"].get(table) != after["counts"].get(table):
            problems.append(f"{table}: {before['counts'].get(table)} rows before, {after['counts'].get(table)} after")
    if after["counts"].get("persons_person", 0) < MIN_PERSONS:
        problems.append(f"only {after['counts'].get('persons_person', 0)} persons (at least {MIN_PERSONS} expected)")
    if after["person"] != before["person"] or not after["document_number"]:
        problems.append(f"first person {after['person']} (before: {before['person']}) without a document number")
    elif after["document_number"] != before["document_number"]:
        problems.append(f"person {after['person']}: the document number decrypts to another value")
    if before["document_number"] and before["document_number"] in after["stored"]:
        problems.append("persons_person.document_number holds the number in clear")
    try:
        Fernet(Fernet.generate_key()).decrypt(after["stored"].encode())
        problems.append("another key decrypts the stored document number")
    except InvalidToken:
        pass
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in {"snapshot", "compare"}:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[2])
    now = snapshot()
    if argv[1] == "snapshot":
        path.write_text(json.dumps(now))
        print(f"{sum(now['counts'].values())} rows in {len(now['counts'])} tables of {now['database']}")
        return 0
    problems = compare(json.loads(path.read_text()), now)
    for problem in problems:
        print(f"restore check: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"restored {now['database']}: {sum(now['counts'].values())} rows in {len(now['counts'])} tables, as "
          f"before; person {now['person']}'s document number decrypts as before")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
