#!/usr/bin/env bash
# The single test command: the whole workspace test suite (unit, integration, doc tests),
# against real SQLite files and a throwaway PostgreSQL server started here and stopped on exit.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -p NAME    # extra arguments go to `cargo test`
#
# Environment:
#   ZAPWOOT_TEST_DATABASE_URL  use this PostgreSQL instead of starting one
#                              (a server you control; each test makes its own schema)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

ensure_postgres_installed() {
  if ! pg_bindir >/dev/null; then
    log "installing PostgreSQL from the Debian packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
  fi
  # diesel's PostgreSQL backend links libpq.
  if ! [ -e /usr/include/postgresql/libpq-fe.h ]; then
    log "installing libpq-dev"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq libpq-dev >/dev/null
  fi
}

PG_DIR=""
PG_BIN=""
PG_USER=""
stop_postgres() {
  if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
    run_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

run_pg() {
  # PostgreSQL refuses to run as root: run it as an unprivileged user.
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

start_postgres() {
  ensure_postgres_installed
  PG_BIN=$(pg_bindir)
  if [ "$(id -u)" -eq 0 ]; then
    PG_USER=postgres
    id -u "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$PG_USER"
  else
    PG_USER=$(id -un)
  fi
  PG_DIR=$(mktemp -d -t zapwoot-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$PG_DIR"
  trap stop_postgres EXIT INT TERM

  local port=55432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

  run_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U zapwoot --auth=trust -E UTF8 --no-locale >/dev/null
  # Throwaway server: durability off for speed (tests kill the bridge, never the server).
  run_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null
  run_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U zapwoot zapwoot_test
  export ZAPWOOT_TEST_DATABASE_URL="postgres://zapwoot@127.0.0.1:$port/zapwoot_test"
  log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

if [ -z "${ZAPWOOT_TEST_DATABASE_URL:-}" ]; then
  start_postgres
else
  log "using PostgreSQL from ZAPWOOT_TEST_DATABASE_URL"
fi

cargo test --workspace --locked "$@"
