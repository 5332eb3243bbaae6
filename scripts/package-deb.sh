#!/usr/bin/env bash
# Builds the Debian package of the bridge: target/debian/zapwoot_<version>_<arch>.deb.
# The release binary first, then the man page and shell completions generated from its clap
# definitions, then `cargo deb` (installed from crates.io when missing) packages them with the
# systemd unit, the default configuration and the maintainer scripts (bins/zapwoot/packaging).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-$PWD/target}
if ! command -v cargo-deb >/dev/null 2>&1; then
  cargo install --locked cargo-deb
fi
cargo build --release --locked -p zapwoot
assets="$target/release/zapwoot-assets"
rm -rf "$assets"
mkdir -p "$assets"
bin="$target/release/zapwoot"
"$bin" manpage --out-dir "$assets/man"
gzip -9n "$assets"/man/*.1
"$bin" completions bash > "$assets/zapwoot.bash"
"$bin" completions zsh > "$assets/_zapwoot"
"$bin" completions fish > "$assets/zapwoot.fish"
cargo deb -p zapwoot --no-build --locked --strip "$@"
