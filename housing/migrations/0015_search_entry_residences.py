"""A person is found by the search of each station where a residence of theirs was registered while they were
registered elsewhere (``persons.models.SearchEntry``): as ``Person.objects.visible_to`` sees them (housing's
scope condition), kept by triggers on the residences, and on a person's station of registration when it
changes (the old station keeps its entry only for such a residence there). Fills those entries.
"""

from django.db import migrations

from registry.migration_operations import per_engine, postgresql_only

# Statement-level, with transition tables (see persons 0010): a bulk registration writes its entries at once.
POSTGRES_TRIGGERS = """
CREATE OR REPLACE FUNCTION housing_search_entry_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO persons_searchentry (station_id, person_id, name, name_pinyin, name_initials)
    SELECT DISTINCT n.station_id, p.id, p.name, p.name_pinyin, p.name_initials
      FROM new_rows n JOIN persons_person p ON p.id = n.person_id
     WHERE n.registered_elsewhere
    ON CONFLICT (station_id, person_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION housing_search_entry_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM persons_searchentry e
     USING (SELECT DISTINCT station_id, person_id FROM old_rows WHERE registered_elsewhere) o
     WHERE e.station_id = o.station_id AND e.person_id = o.person_id
       AND NOT EXISTS (SELECT 1 FROM persons_person p
                        WHERE p.id = o.person_id AND p.registered_station_id = o.station_id)
       AND NOT EXISTS (SELECT 1 FROM housing_residence r
                        WHERE r.person_id = o.person_id AND r.station_id = o.station_id AND r.registered_elsewhere);
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION housing_search_entry_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM persons_searchentry e
     USING (SELECT DISTINCT o.station_id, o.person_id FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE o.registered_elsewhere
               AND (o.station_id, o.person_id, o.registered_elsewhere)
                   IS DISTINCT FROM (n.station_id, n.person_id, n.registered_elsewhere)) o
     WHERE e.station_id = o.station_id AND e.person_id = o.person_id
       AND NOT EXISTS (SELECT 1 FROM persons_person p
                        WHERE p.id = o.person_id AND p.registered_station_id = o.station_id)
       AND NOT EXISTS (SELECT 1 FROM housing_residence r
                        WHERE r.person_id = o.person_id AND r.station_id = o.station_id AND r.registered_elsewhere);
    INSERT INTO persons_searchentry (station_id, person_id, name, name_pinyin, name_initials)
    SELECT DISTINCT n.station_id, p.id, p.name, p.name_pinyin, p.name_initials
      FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN persons_person p ON p.id = n.person_id
     WHERE n.registered_elsewhere
       AND (o.station_id, o.person_id, o.registered_elsewhere)
           IS DISTINCT FROM (n.station_id, n.person_id, n.registered_elsewhere)
    ON CONFLICT (station_id, person_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION housing_search_entry_registration() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM persons_searchentry e
     USING old_rows o JOIN new_rows n ON n.id = o.id
     WHERE e.person_id = o.id AND e.station_id = o.registered_station_id
       AND n.registered_station_id IS DISTINCT FROM o.registered_station_id
       AND NOT EXISTS (SELECT 1 FROM housing_residence r
                        WHERE r.person_id = o.id AND r.station_id = o.registered_station_id
                          AND r.registered_elsewhere);
    RETURN NULL;
END
$$;
CREATE TRIGGER housing_search_entry_insert AFTER INSERT ON housing_residence
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION housing_search_entry_inserted();
CREATE TRIGGER housing_search_entry_delete AFTER DELETE ON housing_residence
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION housing_search_entry_deleted();
CREATE TRIGGER housing_search_entry_update AFTER UPDATE ON housing_residence
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION housing_search_entry_updated();
CREATE TRIGGER housing_search_entry_registration AFTER UPDATE ON persons_person
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION housing_search_entry_registration();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS housing_search_entry_insert ON housing_residence;
DROP TRIGGER IF EXISTS housing_search_entry_delete ON housing_residence;
DROP TRIGGER IF EXISTS housing_search_entry_update ON housing_residence;
DROP TRIGGER IF EXISTS housing_search_entry_registration ON persons_person;
DROP FUNCTION IF EXISTS housing_search_entry_inserted();
DROP FUNCTION IF EXISTS housing_search_entry_deleted();
DROP FUNCTION IF EXISTS housing_search_entry_updated();
DROP FUNCTION IF EXISTS housing_search_entry_registration();
"""

_ADD = """INSERT OR IGNORE INTO persons_searchentry (station_id, person_id, name, name_pinyin, name_initials)
          SELECT NEW.station_id, p.id, p.name, p.name_pinyin, p.name_initials FROM persons_person p
           WHERE p.id = NEW.person_id;"""
_DROP = """DELETE FROM persons_searchentry
            WHERE station_id = OLD.station_id AND person_id = OLD.person_id
              AND NOT EXISTS (SELECT 1 FROM persons_person p
                               WHERE p.id = OLD.person_id AND p.registered_station_id = OLD.station_id)
              AND NOT EXISTS (SELECT 1 FROM housing_residence r
                               WHERE r.person_id = OLD.person_id AND r.station_id = OLD.station_id
                                 AND r.registered_elsewhere);"""
_CHANGED = ("(OLD.station_id IS NOT NEW.station_id OR OLD.person_id IS NOT NEW.person_id "
            "OR OLD.registered_elsewhere IS NOT NEW.registered_elsewhere)")
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER housing_search_entry_insert AFTER INSERT ON housing_residence
        WHEN NEW.registered_elsewhere BEGIN {_ADD} END""",
    f"""CREATE TRIGGER housing_search_entry_delete AFTER DELETE ON housing_residence
        WHEN OLD.registered_elsewhere BEGIN {_DROP} END""",
    f"""CREATE TRIGGER housing_search_entry_update AFTER UPDATE OF station_id, person_id, registered_elsewhere
        ON housing_residence WHEN {_CHANGED}
        BEGIN
            {_DROP.replace("WHERE station_id", "WHERE OLD.registered_elsewhere AND station_id", 1)}
            {_ADD.replace("WHERE p.id = NEW.person_id", "WHERE p.id = NEW.person_id AND NEW.registered_elsewhere")}
        END""",
    """CREATE TRIGGER housing_search_entry_registration AFTER UPDATE OF registered_station_id ON persons_person
       WHEN OLD.registered_station_id IS NOT NULL AND OLD.registered_station_id IS NOT NEW.registered_station_id
       BEGIN
           DELETE FROM persons_searchentry
            WHERE person_id = NEW.id AND station_id = OLD.registered_station_id
              AND NOT EXISTS (SELECT 1 FROM housing_residence r
                               WHERE r.person_id = NEW.id AND r.station_id = OLD.registered_station_id
                                 AND r.registered_elsewhere);
       END""",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS housing_search_entry_{name}"
               for name in ("insert", "delete", "update", "registration")]

# Also in workspace/management/commands/generate_city.py (a bulk load fills the entries after its rows).
FILL = """
INSERT INTO persons_searchentry (station_id, person_id, name, name_pinyin, name_initials)
SELECT DISTINCT r.station_id, p.id, p.name, p.name_pinyin, p.name_initials
  FROM housing_residence r JOIN persons_person p ON p.id = r.person_id
 WHERE r.registered_elsewhere
   AND NOT EXISTS (SELECT 1 FROM persons_searchentry e WHERE e.station_id = r.station_id AND e.person_id = p.id)
"""


class Migration(migrations.Migration):
    dependencies = [("housing", "0014_residence_ended_via"), ("persons", "0010_search_entry")]
    operations = [
        per_engine(postgresql=(POSTGRES_TRIGGERS, POSTGRES_DROP), sqlite=(SQLITE_TRIGGERS, SQLITE_DROP)),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        postgresql_only("ANALYZE persons_searchentry", ""),
    ]
