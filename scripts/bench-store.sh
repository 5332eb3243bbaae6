#!/usr/bin/env bash
# Durable `record_inbound` throughput of zapwoot-store on SQLite and on PostgreSQL (a
# throwaway server started here with fsync ON), with 1, 16 and 64 concurrent writers.
#
#   scripts/bench-store.sh [SECONDS_PER_CASE]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
start_postgres durable
ZAPWOOT_BENCH_SECONDS=${1:-3} cargo bench -p zapwoot-store --bench ingest --locked
