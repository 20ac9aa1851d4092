#!/bin/bash
# The compose profile `replica`'s streaming standby (docs/deployment.md, "Several machines"). On a new volume it
# copies the primary with pg_basebackup through a physical replication slot (-R writes standby.signal and the
# connection to the primary); afterwards it only starts. Runs as the image's postgres user.
set -euo pipefail
: "${PRIMARY_HOST:=postgres}" "${REPLICATION_SLOT:=registry_replica}"
export PGPASSWORD="${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD, the password of the replicator role}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -q -h "$PRIMARY_HOST" -U replicator -d postgres; do sleep 1; done
    # -C creates the slot; a slot left from an earlier copy is reused (the primary kept its WAL for it).
    create=(-C)
    if psql -X -Atq -h "$PRIMARY_HOST" -U replicator -d postgres \
        -c "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$REPLICATION_SLOT'" | grep -q 1; then
        create=()
    fi
    pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -R -S "$REPLICATION_SLOT" "${create[@]}" \
        -X stream --checkpoint=fast
    chmod 0700 "$PGDATA"
fi
# Long reads (an export) are not cancelled by the primary's vacuum: the primary keeps the rows they need.
exec postgres -c hot_standby=on -c hot_standby_feedback=on -c listen_addresses='*'
