#!/usr/bin/env bash
# A streaming standby of .ci/run's PostgreSQL, and a command run with both (issue 19):
#
#   bash .ci/standby.sh PGBIN PGWORK PRIMARY_PORT command [args...]
#
# PGWORK is the primary's folder (data/ and its socket; .ci/run's $WORK/pg). The standby is a copy made with
# `pg_basebackup -R -S` through a physical replication slot, in PGWORK/standby, on the next free port after the
# primary's, with the same socket folder. Once it accepts connections and has replayed the primary's current WAL
# position, the command runs with
#
#   DATABASE_REPLICA_URL  DATABASE_URL with the standby's port (so the replica alias reads from it)
#   STANDBY_PGCTL         pg_ctl for the standby, as its owner, without the action: tests/integration/test_replica.py
#                         appends `stop -m fast -w` and `start -w` to take it away and bring it back
#   STANDBY_PSQL          psql on the standby as the superuser (the test pauses and resumes its replay)
#
# and its exit status is this script's. However the script ends, the standby is stopped, its files removed and
# the slot dropped (a slot nobody reads keeps the primary's WAL forever). Run as root, the servers run as postgres.
set -euo pipefail

[ "$#" -ge 4 ] || { echo "usage: $0 PGBIN PGWORK PRIMARY_PORT command [args...]" >&2; exit 2; }
PGBIN="$1" PGWORK="$2" PRIMARY_PORT="$3"
shift 3
: "${DATABASE_URL:?DATABASE_URL (the primary, postgres://...:$PRIMARY_PORT/...) must be set}"

SLOT=registry_ci_standby
SDATA="$PGWORK/standby"
SLOG="$PGWORK/standby.log"
STARTED=0

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
primary_sql() { as_postgres "$PGBIN/psql" -X -Atq -v ON_ERROR_STOP=1 -h "$PGWORK" -p "$PRIMARY_PORT" -U postgres -d postgres -c "$1"; }
standby_sql() { as_postgres "$PGBIN/psql" -X -Atq -v ON_ERROR_STOP=1 -h "$PGWORK" -p "$STANDBY_PORT" -U postgres -d postgres -c "$1"; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_standby() {
    local rc=$?
    set +e
    if [ "$STARTED" = 1 ]; then
        echo "stopping the standby"
        as_postgres "$PGBIN/pg_ctl" -D "$SDATA" -m fast -w stop >/dev/null 2>&1
    fi
    primary_sql "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" \
        >/dev/null 2>&1
    rm -rf "$SDATA"
    exit "$rc"
}
trap stop_standby EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STANDBY_PORT=$((PRIMARY_PORT + 1))
while port_in_use "$STANDBY_PORT"; do
    STANDBY_PORT=$((STANDBY_PORT + 1))
    [ "$STANDBY_PORT" -lt $((PRIMARY_PORT + 100)) ] || { echo "no free port for the standby" >&2; exit 1; }
done

started_at=$SECONDS
# The slot first: the primary keeps every WAL segment the standby has not received, from the copy on.
primary_sql "SELECT pg_create_physical_replication_slot('$SLOT', true)" >/dev/null
as_postgres "$PGBIN/pg_basebackup" -h "$PGWORK" -p "$PRIMARY_PORT" -U postgres -D "$SDATA" -R -S "$SLOT" \
    -X stream --checkpoint=fast --no-sync
# pg_basebackup -R wrote standby.signal and primary_conninfo/primary_slot_name; these lines come after them.
cat >>"$SDATA/postgresql.auto.conf" <<CONF
port = $STANDBY_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGWORK'
shared_buffers = '128MB'
hot_standby = on
# Long reads (an export) are not cancelled by the primary's vacuum; the primary keeps what they need instead.
hot_standby_feedback = on
wal_receiver_status_interval = '1s'
CONF
STANDBY_PGCTL="$PGBIN/pg_ctl -D $SDATA -l $SLOG"
STANDBY_PSQL="$PGBIN/psql -X -Atq -v ON_ERROR_STOP=1 -h $PGWORK -p $STANDBY_PORT -U postgres -d postgres"
[ "$(id -u)" != 0 ] || { STANDBY_PGCTL="runuser -u postgres -- $STANDBY_PGCTL"
                         STANDBY_PSQL="runuser -u postgres -- $STANDBY_PSQL"; }
as_postgres "$PGBIN/pg_ctl" -D "$SDATA" -l "$SLOG" -w -t 60 start >/dev/null || { cat "$SLOG"; exit 1; }
STARTED=1

# Accepting connections is not enough: wait until it has replayed what the primary had committed when it started.
# (A commit with an xid and synchronous_commit on writes out the WAL before it, even with .ci/run's
# synchronous_commit=off; the write position is then a record's end, which the standby's replay reaches.)
as_postgres "$PGBIN/psql" -X -Atq -v ON_ERROR_STOP=1 -h "$PGWORK" -p "$PRIMARY_PORT" -U postgres -d postgres \
    -c "BEGIN" -c "SET LOCAL synchronous_commit = on" -c "SELECT txid_current()" -c "COMMIT" >/dev/null
target="$(primary_sql "SELECT pg_current_wal_lsn()")"
for _ in $(seq 1 300); do
    [ "$(standby_sql "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '$target'::pg_lsn" 2>/dev/null)" = t ] &&
        break
    sleep 0.1
done
[ "$(standby_sql "SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn")" = t ] ||
    { echo "the standby did not replay up to $target"; cat "$SLOG"; exit 1; }
state="$(primary_sql "SELECT state FROM pg_stat_replication WHERE application_name = 'walreceiver' LIMIT 1")"
echo "streaming standby on port $STANDBY_PORT (slot $SLOT, $state, replayed $target) after $((SECONDS - started_at)) s"

DATABASE_REPLICA_URL="${DATABASE_URL/:$PRIMARY_PORT\//:$STANDBY_PORT/}"
[ "$DATABASE_REPLICA_URL" != "$DATABASE_URL" ] || { echo "DATABASE_URL does not name port $PRIMARY_PORT" >&2; exit 1; }
export DATABASE_REPLICA_URL STANDBY_PGCTL STANDBY_PSQL
"$@"
