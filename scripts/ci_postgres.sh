#!/usr/bin/env bash
# A throwaway PostgreSQL server for the storage tests (tests/test_store.py, tests/test_users.py).
#
#   scripts/ci_postgres.sh          install PostgreSQL from Debian packages if missing, start a private cluster on
#                                   127.0.0.1 (idempotent: reuses a running one) and print the DATABASE_URL to use
#   scripts/ci_postgres.sh stop     stop that cluster (its files stay; `rm -rf "$RISKMODEL_PG_DIR"` removes them)
#
# stdout carries only the URL, so a Makefile can do RISKMODEL_TEST_POSTGRES_URL=$$(scripts/ci_postgres.sh).
# Progress goes to stderr. Settings (environment): RISKMODEL_PG_DIR (default /tmp/riskmodel-pg), RISKMODEL_PG_PORT
# (default 54329). The cluster is for tests only: it listens on 127.0.0.1 alone, with fsync off for speed.
set -euo pipefail

DIR="${RISKMODEL_PG_DIR:-/tmp/riskmodel-pg}"
PORT="${RISKMODEL_PG_PORT:-54329}"
DB=riskmodel_test
USER_NAME=riskmodel
PASSWORD=riskmodel
URL="postgresql+psycopg://${USER_NAME}:${PASSWORD}@127.0.0.1:${PORT}/${DB}"

say() { echo "ci_postgres: $*" >&2; }

find_bin() {  # the newest PostgreSQL server binaries Debian installed
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; fi
}

BIN=$(find_bin)
if [ -z "$BIN" ]; then
    if [ "${1:-}" = "stop" ]; then exit 0; fi
    say "installing PostgreSQL (Debian packages)"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq postgresql >&2
    BIN=$(find_bin)
    if [ -z "$BIN" ]; then say "PostgreSQL server binaries not found after install"; exit 1; fi
fi

# PostgreSQL refuses to run as root: run the server as the 'postgres' account Debian's package created.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "stop" ]; then
    if [ -f "$DIR/PG_VERSION" ]; then as_owner "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >&2 || true; fi
    exit 0
fi

if [ ! -f "$DIR/PG_VERSION" ]; then
    say "creating a cluster in $DIR"
    mkdir -p "$DIR"
    chmod 700 "$DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DIR"; fi
    PWFILE=$(mktemp)
    echo "$PASSWORD" >"$PWFILE"
    chmod 644 "$PWFILE"
    as_owner "$BIN/initdb" -D "$DIR" -U "$USER_NAME" --pwfile="$PWFILE" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null 2>&1 \
        || as_owner "$BIN/initdb" -D "$DIR" -U "$USER_NAME" --pwfile="$PWFILE" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >&2
    rm -f "$PWFILE"
fi

if ! as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
    say "starting PostgreSQL on 127.0.0.1:$PORT"
    as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off \
            -c full_page_writes=off -c max_connections=100" start >&2 \
        || { tail -n 20 "$DIR/server.log" >&2 || true; exit 1; }
fi

# the test database (created once)
PSQL=("$BIN/psql" -h "$DIR" -p "$PORT" -U "$USER_NAME" -d postgres -v ON_ERROR_STOP=1 -qtA)
if [ "$(as_owner "${PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    as_owner "${PSQL[@]}" -c "CREATE DATABASE $DB OWNER $USER_NAME" >&2
fi
echo "$URL"
