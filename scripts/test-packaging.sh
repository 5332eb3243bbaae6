#!/usr/bin/env bash
# What ships, checked as users get it (scripts/test.sh runs this after the cargo suite):
#   scripts/test-crates.sh      every publishable crate packaged and built alone
#   scripts/test-deb.sh         the Debian package installed, served, upgraded, purged
#   scripts/test-container.sh   the container image built and run, where a container engine runs
# ZAPWOOT_TEST_PACKAGING=0 skips all three (they build in release mode and install packages).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${ZAPWOOT_TEST_PACKAGING:-1}" = 0 ]; then
  echo "[packaging] skipped (ZAPWOOT_TEST_PACKAGING=0)" >&2
  exit 0
fi
scripts/test-crates.sh
scripts/test-deb.sh
scripts/test-container.sh
