#!/usr/bin/env bash
# The single test command: the whole workspace test suite (unit, integration, doc tests),
# against real SQLite files and a throwaway PostgreSQL server started here and stopped on exit,
# and the console's tests in Debian's headless Chromium (installed here when missing).
#
#   scripts/test.sh            # everything
#   scripts/test.sh -p NAME    # extra arguments go to `cargo test`
#   ZAPWOOT_TEST_PACKAGING=0   # skip the packaging checks (scripts/test-packaging.sh)
#
# Environment:
#   ZAPWOOT_TEST_DATABASE_URL  use this PostgreSQL instead of starting one
#                              (a server you control; each test makes its own schema)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
. scripts/lib/chromium.sh

if [ -z "${ZAPWOOT_TEST_DATABASE_URL:-}" ]; then
  start_postgres
else
  pg_log "using PostgreSQL from ZAPWOOT_TEST_DATABASE_URL"
fi

# The console's browser tests (bins/zapwoot/tests/console) drive Debian's Chromium.
ensure_chromium

cargo test --workspace --locked "$@"

# What ships: the crates, the Debian package, the container image (the whole suite only, not
# a part of it picked with arguments).
if [ $# -eq 0 ]; then
  scripts/test-packaging.sh
fi
