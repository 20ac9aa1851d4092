"""check --deploy's E004 (registry/db_roles.py). The two-role set-up itself, with every refusal, is checked
against a real PostgreSQL by .ci/run step 4 (.ci/db_roles_check.py): the suite's own role owns its test database."""

from django.db import connection

from registry.db_roles import audit_trail_not_rewritable, grant_app_role


def test_the_deploy_check_refuses_a_role_that_owns_the_audit_table(db, settings):
    found = audit_trail_not_rewritable(None, databases=["default"])
    if connection.vendor == "postgresql":  # the suite connects as the test database's owner
        assert [error.id for error in found] == ["registry.E004"]
        assert "owns the audit events' table" in found[0].msg
    else:  # SQLite has no roles: nothing to refuse
        assert found == []
    assert audit_trail_not_rewritable(None, databases=None) == []  # only with --database


def test_grants_are_given_only_on_postgresql_to_another_role(db, settings, django_assert_num_queries):
    settings.DATABASE_APP_ROLE = ""
    with django_assert_num_queries(0):
        grant_app_role(using="default")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user" if connection.vendor == "postgresql" else "SELECT 'main'")
        settings.DATABASE_APP_ROLE = cursor.fetchone()[0]
    # The role migrating is the application's own: nothing to grant (on SQLite, nothing at all).
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 0):
        grant_app_role(using="default")
