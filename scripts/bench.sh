#!/usr/bin/env bash
# The benchmark: release builds of the bridge and of zapwoot-bench, a throwaway PostgreSQL
# with fsync on (durable, like production), then bins/zapwoot-bench on SQLite and PostgreSQL.
# Prints the table; writes bench-results/bench.json and SVG charts.
#
#   scripts/bench.sh                      # 4,000 messages per run over 1,000 chats
#   scripts/bench.sh --messages 20000     # more (any zapwoot-bench flag)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh

cargo build --release --locked -p zapwoot -p zapwoot-bench
start_postgres durable
target/release/zapwoot-bench --postgres "$ZAPWOOT_TEST_DATABASE_URL" "$@"
