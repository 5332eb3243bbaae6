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
. scripts/lib/postgres.sh

if [ -z "${ZAPWOOT_TEST_DATABASE_URL:-}" ]; then
  start_postgres
else
  pg_log "using PostgreSQL from ZAPWOOT_TEST_DATABASE_URL"
fi

cargo test --workspace --locked "$@"
