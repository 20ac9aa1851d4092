#!/bin/bash
# Run once by the postgres image when its data volume is new (docker-entrypoint-initdb.d), after
# postgres-roles.sh, for the compose profile `replica` (docs/deployment.md, "Several machines"):
#  - registry_app's own defaults, which PgBouncer in transaction mode cannot pass as startup options: jit off
#    (the application's short queries only lose time to it) and UTC (Django's zone: no SET TIME ZONE per connection);
#  - with REPLICATION_PASSWORD, a role that may stream the WAL to the standby, and the line that lets it connect.
# An existing primary: run the same statements by hand.
set -euo pipefail
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
ALTER ROLE registry_app IN DATABASE registry SET jit = off;
ALTER ROLE registry_app IN DATABASE registry SET timezone = 'UTC';
SQL
[ -n "${REPLICATION_PASSWORD:-}" ] || exit 0
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
