#!/usr/bin/env bash
# Webhook load on the real `zapwoot` binary (release build): answer-time percentiles and
# end-to-end throughput into the fake Chatwoot, on SQLite and on PostgreSQL (a throwaway
# server started here with fsync ON).
#
#   scripts/bench-webhooks.sh [MESSAGES] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
export ZAPWOOT_BENCH_MESSAGES=${1:-4000} ZAPWOOT_BENCH_CLIENTS=${2:-32}
cargo bench -p zapwoot --bench webhook_load --locked
start_postgres durable
ZAPWOOT_BENCH_DATABASE_URL=$ZAPWOOT_TEST_DATABASE_URL cargo bench -p zapwoot --bench webhook_load --locked
