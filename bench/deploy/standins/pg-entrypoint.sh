#!/bin/sh
# First start: initialise the cluster with the official image's variables, then run postgres in front.
set -eu
D=/var/lib/postgresql/data
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD is not set" >&2
    exit 1
fi
if [ ! -s "$D/PG_VERSION" ]; then
    pw=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" > "$pw"
    initdb -D "$D" -U "$POSTGRES_USER" --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pw"
    echo "listen_addresses = '*'" >> "$D/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$D/pg_hba.conf"
    pg_ctl -D "$D" -o "-c listen_addresses=''" -w start >/dev/null
    if [ "$POSTGRES_DB" != "postgres" ]; then
        createdb -U "$POSTGRES_USER" "$POSTGRES_DB"
    fi
    pg_ctl -D "$D" -m fast -w stop >/dev/null
    echo "initialised $D for $POSTGRES_USER / $POSTGRES_DB"
fi
exec postgres -D "$D"
