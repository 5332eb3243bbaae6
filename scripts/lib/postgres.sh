# Throwaway PostgreSQL for tests and benchmarks. Source this file, then:
#   start_postgres [durable]   # exports ZAPWOOT_TEST_DATABASE_URL; stops itself on exit
# Installs PostgreSQL from the Debian packages when missing, and runs it as an unprivileged
# user (PostgreSQL refuses to run as root). Without "durable", fsync is off for speed.

pg_log() { printf '[postgres] %s\n' "$*" >&2; }

pg_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

PG_DIR=""
PG_BIN=""
PG_USER=""

pg_run() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

stop_postgres() {
  if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
    pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

start_postgres() {
  local durable=${1:-}
  if ! pg_bindir >/dev/null; then
    pg_log "installing PostgreSQL from the Debian packages"
    pg_as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive pg_as_root apt-get install -y -qq postgresql >/dev/null
  fi
  PG_BIN=$(pg_bindir)
  if [ "$(id -u)" -eq 0 ]; then
    PG_USER=postgres
    id -u "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$PG_USER"
  else
    PG_USER=$(id -un)
  fi
  PG_DIR=$(mktemp -d -t zapwoot-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown "$PG_USER" "$PG_DIR"; fi
  trap stop_postgres EXIT
  trap 'exit 130' INT TERM

  local port=55432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

  local speed="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "$durable" = durable ] && speed=""
  pg_run "$PG_BIN/initdb" -D "$PG_DIR/data" -U zapwoot --auth=trust -E UTF8 --no-locale >/dev/null
  pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR \
        -c max_connections=300 $speed" >/dev/null
  pg_run "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U zapwoot zapwoot_test
  export ZAPWOOT_TEST_DATABASE_URL="postgres://zapwoot@127.0.0.1:$port/zapwoot_test"
  pg_log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port${durable:+ (durable)}"
}
