#!/usr/bin/env bash
# The crates as the registry would get them: every publishable crate packaged and verified in
# dependency order (`cargo package --workspace`), each crate's docs built alone with broken
# intra-doc links denied, and two crates built and tested from their `.crate` files alone,
# unpacked outside the workspace: zapwoot-signing with nothing else, zapwoot-chatwoot with
# only the packaged crates its tests use (zapwoot-fakes, zapwoot-signing) beside it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[crates] %s\n' "$*" >&2; }

target=${CARGO_TARGET_DIR:-$PWD/target}
publishable=""
for manifest in crates/*/Cargo.toml bins/*/Cargo.toml; do
  grep -q '^publish = false' "$manifest" && continue
  publishable+=" $(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -1)"
done
[ -n "$publishable" ] || { log "no publishable crates found"; exit 1; }
log "publishable: $(echo $publishable)"

# Registry metadata, a README and a changelog (Keep a Changelog) for each.
for name in $publishable; do
  dir=$(dirname "$(grep -l "^name = \"$name\"" crates/*/Cargo.toml bins/*/Cargo.toml)")
  for key in description license repository readme keywords categories rust-version; do
    grep -qE "^$key(\.workspace)? = " "$dir/Cargo.toml" || { log "$name: no $key in $dir/Cargo.toml"; exit 1; }
  done
  readme=$(sed -n 's/^readme = "\(.*\)"/\1/p' "$dir/Cargo.toml")
  [ -s "$dir/$readme" ] || { log "$name: readme $readme missing"; exit 1; }
  [ -s "$dir/LICENSE-MIT" ] && [ -s "$dir/LICENSE-APACHE" ] || { log "$name: license files missing"; exit 1; }
  grep -q '^## \[Unreleased\]' "$dir/CHANGELOG.md" 2>/dev/null &&
    grep -q 'keepachangelog.com' "$dir/CHANGELOG.md" || { log "$name: no Keep a Changelog CHANGELOG.md"; exit 1; }
  # A library's README is its crate documentation (so its example is a doc test).
  if [ -f "$dir/src/lib.rs" ]; then
    grep -q 'include_str!("../README.md")' "$dir/src/lib.rs" || { log "$name: README is not the crate doc"; exit 1; }
  fi
done
log "metadata, README, licenses and CHANGELOG.md: present for each"

log "cargo package (verified) for each, in dependency order"
# The verification builds each crate against the others as unpacked from a temporary
# registry, under the same version every time, and cargo never rebuilds a registry crate it
# built before: drop earlier builds and unpacked copies of these crates, so what was just
# packaged is what gets compiled (a reused target directory otherwise verifies stale code).
rm -rf "$target/package" "$target"/debug/.fingerprint/zapwoot-* "$target"/debug/deps/*zapwoot_*
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/zapwoot-*
args=()
for name in $publishable; do args+=(-p "$name"); done
cargo package --locked "${args[@]}"

for name in $publishable; do
  log "cargo doc -p $name alone, -D warnings"
  RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps -p "$name" -q
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
outside=$(mktemp -d -t zapwoot-crates.XXXXXX)
trap 'rm -rf "$outside"' EXIT
for name in zapwoot-signing zapwoot-chatwoot zapwoot-fakes; do
  tar -xzf "$target/package/$name-$version.crate" -C "$outside"
done
# Each build gets its own target directory: nothing of the workspace's build is reused.
log "zapwoot-signing from its .crate alone: cargo test"
(cd "$outside/zapwoot-signing-$version" &&
  CARGO_TARGET_DIR="$outside/target-signing" cargo test --locked -q 2>&1 | tail -3)
log "zapwoot-chatwoot from its .crate, its dev-dependencies from theirs: cargo test"
(cd "$outside/zapwoot-chatwoot-$version" &&
  CARGO_TARGET_DIR="$outside/target-chatwoot" cargo test -q \
    --config "patch.crates-io.zapwoot-fakes.path=\"$outside/zapwoot-fakes-$version\"" \
    --config "patch.crates-io.zapwoot-signing.path=\"$outside/zapwoot-signing-$version\"" 2>&1 | tail -3)
log "ok"
