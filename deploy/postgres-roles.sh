#!/bin/bash
# Run once by the postgres image when its data volume is new (docker-entrypoint-initdb.d): the two roles of
# docs/deployment.md, "Two database roles". registry_owner owns the database and runs the migrations;
# registry_app is what web, worker and beat connect as: after `migrate` (DATABASE_APP_ROLE=registry_app) it may
# read and write the registry's tables but only INSERT and SELECT the audit trail (registry/db_roles.py).
set -euo pipefail
psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$REGISTRY_OWNER_PASSWORD" -v app_password="$REGISTRY_APP_PASSWORD" <<'SQL'
CREATE ROLE registry_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE registry_app LOGIN PASSWORD :'app_password';
CREATE DATABASE registry OWNER registry_owner;
REVOKE ALL ON DATABASE registry FROM PUBLIC;
\connect registry
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO registry_owner;
SQL
